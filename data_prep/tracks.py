"""Track files: a csv with the columns ``frame,code,x,y`` (more may follow, e.g. ``time_s``, ``confidence``,
``event``), one row per frame, x = y = -1 (or blank) when there is no ball. ``track.py`` writes them
(``track.csv``), ``evaluate.py --predictions`` scores them (``game{G}_clip{C}.csv``), the event detector and the
Label Studio export read them: :func:`read_track_file` is the one reader they share.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_prep.clips import DataError, cell_float, read_csv_rows

TRACK_COLUMNS = ("frame", "code", "x", "y")


@dataclass(frozen=True)
class TrackFile:
    """A track file as read.

    frames: (n,) int64, increasing
    codes:  (n,) int64 in 0..3 (0 = no ball)
    xy:     (n, 2) float64 pixels, -1 where blank
    header: the header row as written; rows: the data rows (blank lines dropped), padded to the header's width
    lines:  (n,) the file's line number of each row (for messages)
    """

    path: Path
    frames: np.ndarray
    codes: np.ndarray
    xy: np.ndarray
    header: list[str]
    rows: list[list[str]]
    lines: list[int]

    def column(self, name: str) -> list[str]:
        """The cells of column ``name`` (stripped), one per row; empty when the file has no such column."""
        names = [cell.strip().lower() for cell in self.header]
        return [row[names.index(name)].strip() for row in self.rows] if name in names else []

    def require_frames_from(self, first: int = 0) -> None:
        """Raise :class:`DataError` unless the rows are the frames ``first, first + 1, ...`` without a gap."""
        expected = first + np.arange(len(self.frames))
        wrong = np.flatnonzero(self.frames != expected)
        if len(wrong):
            i = int(wrong[0])
            raise DataError(self.path, f"frame '{self.frames[i]}' where {expected[i]} was expected", self.lines[i])


def read_track_file(path: Path) -> TrackFile:
    """Read and check a track file: the four columns present (anywhere in the header), each row's frame a whole
    number above those before it, its code 0, 1, 2 or 3, x and y finite numbers or blank (-1). Raises
    :class:`DataError` naming the file and line."""
    path = Path(path)
    rows = read_csv_rows(path)
    if not rows:
        raise DataError(path, f"empty file, expected a header {','.join(TRACK_COLUMNS)}", 1)
    names = [cell.strip().lower() for cell in rows[0]]
    missing = [name for name in TRACK_COLUMNS if name not in names]
    if missing:
        raise DataError(path, f"missing column(s) {', '.join(missing)}; expected {','.join(TRACK_COLUMNS)}", 1)
    col = [names.index(name) for name in TRACK_COLUMNS]
    body = [(line, row + [""] * (len(names) - len(row))) for line, row in enumerate(rows[1:], start=2)
            if any(cell.strip() for cell in row)]
    frames, codes, xy = np.zeros(len(body), np.int64), np.zeros(len(body), np.int64), np.full((len(body), 2), -1.0)
    for i, (line, row) in enumerate(body):
        frame, code, x, y = (_number(path, line, name, row[c], blank=name in ("x", "y"))
                             for name, c in zip(TRACK_COLUMNS, col))
        if frame != int(frame) or frame < 0:
            raise DataError(path, f"frame {row[col[0]].strip()!r} is not a frame number", line)
        if i and frame <= frames[i - 1]:
            what = "duplicate" if frame == frames[i - 1] else "unsorted"
            raise DataError(path, f"{what} frame {int(frame)} after frame {frames[i - 1]}: frames must increase", line)
        if code not in (0, 1, 2, 3):
            raise DataError(path, f"code {row[col[1]].strip()!r} is not 0, 1, 2 or 3", line)
        frames[i], codes[i], xy[i] = frame, code, (x, y)
    return TrackFile(path, frames, codes, xy, rows[0], [row for _, row in body], [line for line, _ in body])


def _number(path: Path, line: int, column: str, text: str, blank: bool) -> float:
    """A finite number from a cell (:func:`data_prep.clips.cell_float`); ``blank``: an empty cell is -1 (no
    position)."""
    return -1.0 if blank and not text.strip() else cell_float(path, line, column, text.strip())


def interpolate_gaps(present: np.ndarray, xy: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """The assignment's ``postprocess_labels``: frames in a gap of at most ``max_gap`` between two detections get
    the linear interpolation of the two. present (n,), xy (n, 2) -> filled copies."""
    present, xy = present.copy(), xy.copy()
    found = np.flatnonzero(present)
    for a, b in zip(found[:-1], found[1:]):
        if 1 < b - a <= max_gap + 1:
            weight = (np.arange(a + 1, b) - a)[:, None] / (b - a)
            xy[a + 1:b] = xy[a] * (1 - weight) + xy[b] * weight
            present[a + 1:b] = True
    return present, xy
