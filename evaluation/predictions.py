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
from data_prep.clips import DataError, read_csv_rows

HEADER = ("frame", "code", "x", "y")


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
    """Read a predictions csv that must hold one row per frame 0..n_frames-1, in order."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "predictions file is missing")
    rows = read_csv_rows(path)
    if not rows or [c.strip().lower() for c in rows[0][:4]] != list(HEADER):
        raise DataError(path, f"header must be {','.join(HEADER)}", 1)
    body = [(line, row) for line, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
    if len(body) != n_frames:
        raise DataError(path, f"{len(body)} prediction rows for a clip of {n_frames} frames")
    codes, xy = np.zeros(n_frames, np.int64), np.full((n_frames, 2), -1.0)
    for i, (line, row) in enumerate(body):
        try:
            frame, code = int(row[0]), int(float(row[1]))
            x = float(row[2]) if len(row) > 2 and row[2].strip() else -1.0
            y = float(row[3]) if len(row) > 3 and row[3].strip() else -1.0
        except (ValueError, IndexError, OverflowError):
            raise DataError(path, f"cannot parse row {row!r}", line) from None
        if frame != i:
            raise DataError(path, f"row is frame {frame}, expected frame {i}", line)
        if code not in (0, 1, 2, 3) or float(row[1]) != code:
            raise DataError(path, f"code {row[1]!r} is not one of 0, 1, 2, 3", line)
        if not (np.isfinite(x) and np.isfinite(y)):
            raise DataError(path, f"coordinates must be finite, got {row[2:4]!r}", line)
        codes[i], xy[i] = code, (x, y)
    return Track(codes, xy)
