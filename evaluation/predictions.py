"""Saved tracker output: one ``game{G}_clip{C}.csv`` per clip with columns ``frame,code,x,y``.

Any tracker can be scored by writing this format; x = y = -1 when code is 0 (the metric compares coordinates even
then, see :mod:`evaluation.metrics`).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_prep.atomic import atomic_path
from data_prep.clips import DataError
from data_prep.tracks import TRACK_COLUMNS, read_track_file

HEADER = TRACK_COLUMNS


@dataclass(frozen=True)
class Track:
    """Per-frame output of a tracker for one clip.

    codes: (n,) int64, 0 = no ball
    xy:    (n, 2) float64 full-resolution pixels, -1 where code == 0
    """

    codes: np.ndarray
    xy: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


def prediction_path(folder: Path, clip_name: str) -> Path:
    return Path(folder) / f"{clip_name}.csv"


def write_track(path: Path, track: Track, extra: dict[str, list] | None = None, first: int = 0) -> None:
    """Write atomically (temp file + rename) so an interrupted run never leaves a short file behind; ``extra``:
    more columns after ``frame,code,x,y``, name -> one cell per frame; ``first``: the frame number of the first row
    (a time range of a video keeps the video's frame numbers)."""
    extra = extra or {}
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER + tuple(extra))
        for i, (code, (x, y)) in enumerate(zip(track.codes, track.xy)):
            writer.writerow([first + i, int(code), f"{x:.2f}", f"{y:.2f}", *(cells[i] for cells in extra.values())])


def read_track(path: Path, n_frames: int) -> Track:
    """Read a predictions csv that must hold one row per frame 0..n_frames-1, in order
    (:func:`data_prep.tracks.read_track_file` checks each row)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "predictions file is missing")
    track = read_track_file(path)
    if len(track.frames) != n_frames:
        raise DataError(path, f"{len(track.frames)} prediction rows for a clip of {n_frames} frames")
    track.require_frames_from(0)
    return Track(track.codes, track.xy)
