"""Clips in the tennis-tracking-assignment layout: discovery, frame reading and label parsing.

Layout::

    ROOT/game1/clip1/0000.jpg 0001.jpg ... labels.csv
    ROOT/game1/Clip2/0000.jpg ...           Label.csv      (TrackNet variant)

Two label formats are read, both into full-resolution float pixel coordinates:

* the assignment's ``labels.csv``: ``file name,code,x,y,q`` with integers, blank x/y when code == 0;
* TrackNet's ``Label.csv``: ``File Name,Visibility Class,X,Y,Trajectory Pattern`` with floats like ``628.0``.

Coordinates follow OpenCV's convention: the centre of pixel (i, j) is at x = i, y = j.
Codes: 0 = no ball in frame, 1 = easy, 2 = hard to see, 3 = occluded. An absent ball has x = y = -1, as the
assignment's metric expects. Every problem with the input raises :class:`DataError` naming the file and, for
label files, the line.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import simplejpeg

from data_prep.atomic import atomic_path

log = logging.getLogger(__name__)

FULL_SIZE = (1280, 720)  # (width, height) of the assignment's frames
CODES = (0, 1, 2, 3)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
LABEL_FILES = ("labels.csv", "Label.csv")
ASSIGNMENT_HEADER = ("file name", "code", "x", "y", "q")
CONFIDENCE_COLUMN = "confidence"  # an optional sixth column (pseudo-labels): 0..1, 0 = left out of training


class DataError(ValueError):
    """Bad input data; the message starts with ``path[:line]:``."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path, self.line = Path(path), line


def scale_points(xy: np.ndarray, factor: float | tuple[float, float] | np.ndarray) -> np.ndarray:
    """Map pixel coordinates to an image resized by ``factor`` (one number, or (fx, fy) per axis).

    Coordinates follow OpenCV's convention (pixel i has its centre at i), so resizing maps x to (x + 0.5) * f - 0.5;
    plain ``x * f`` would shift every point by half a pixel times (1 - f).
    """
    return (np.asarray(xy, np.float64) + 0.5) * np.asarray(factor, np.float64) - 0.5


@dataclass(frozen=True)
class Labels:
    """Per-frame ground truth of one clip.

    codes: (n,) int64 in 0..3
    xy:    (n, 2) float64 ball centre in pixels of the frames they describe; -1 where code == 0
    traj:  (n,) int64 trajectory pattern (0 flying, 1 hit, 2 bounce) or -1 when unknown
    confidence: (n,) float64 in [0, 1], or None (every frame certain): how far a label is to be trusted, as for
           pseudo-labels (``tracking/pseudo_labels.py``); a frame of confidence 0 is left out of training
    """

    codes: np.ndarray
    xy: np.ndarray
    traj: np.ndarray
    confidence: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.codes)
        assert self.xy.shape == (n, 2) and self.traj.shape == (n,), "codes, xy and traj must describe the same frames"
        assert self.confidence is None or self.confidence.shape == (n,), "one confidence per frame"

    @property
    def trains(self) -> np.ndarray:
        """(n,) bool: the frames training may use (all but those of confidence 0)."""
        return np.ones(len(self), bool) if self.confidence is None else self.confidence > 0

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def visible(self) -> np.ndarray:
        """(n,) bool: the ball is in the frame (codes 1, 2 and 3; occluded balls count as present)."""
        return self.codes > 0

    def scaled(self, factor: float | tuple[float, float]) -> Labels:
        """The same labels for frames resized by ``factor`` (or (fx, fy)); absent balls keep x = y = -1."""
        xy = np.where(self.visible[:, None], scale_points(self.xy, factor), -1.0)
        return Labels(self.codes, xy, self.traj, self.confidence)

    @classmethod
    def absent(cls, n: int) -> Labels:
        return cls(np.zeros(n, np.int64), np.full((n, 2), -1.0), np.full(n, -1, np.int64))


@dataclass(frozen=True)
class Clip:
    """One clip folder: its frames in order and, when labelled, their labels."""

    game: int
    clip: int
    path: Path
    frames: tuple[Path, ...]
    labels: Labels | None
    size: tuple[int, int]  # (width, height) of the frames

    @property
    def name(self) -> str:
        return f"game{self.game}_clip{self.clip}"

    def __len__(self) -> int:
        return len(self.frames)

    def iter_frames(self) -> Iterator[np.ndarray]:
        """Decode the frames one at a time, in order, as RGB uint8 (H, W, 3)."""
        return (read_frame(path) for path in self.frames)


def _numbered(folder: Path, prefix: str) -> dict[int, Path]:
    """Sub-folders named prefix<N> (any case) by N; two spellings of one number (clip1, Clip1) are an error."""
    found: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir() and (n := _number(path.name, prefix)) is not None:
            if n in found:
                raise DataError(folder, f"{found[n].name} and {path.name} both number {prefix} {n}")
            found[n] = path
    return found


def _number(name: str, prefix: str) -> int | None:
    match = re.fullmatch(rf"{prefix}(\d+)", name, flags=re.IGNORECASE)
    return int(match.group(1)) if match else None


def frame_paths(clip_dir: Path) -> list[Path]:
    """Image files of a clip ordered by their frame number; the numbering must run 0, 1, 2, ... without holes."""
    clip_dir = Path(clip_dir)
    if not clip_dir.is_dir():
        raise DataError(clip_dir, "clip folder does not exist")
    numbered = []
    for path in clip_dir.iterdir():
        if path.suffix.lower() in IMAGE_SUFFIXES and path.stem.isdigit():
            numbered.append((int(path.stem), path))
    if not numbered:
        raise DataError(clip_dir, "empty clip folder: no numbered frames (0000.jpg, 0001.jpg, ...)")
    numbered.sort()
    for expected, (number, path) in enumerate(numbered):
        if number != expected:
            if number == expected - 1:
                raise DataError(path, f"frame number {number} appears twice")
            missing = f"{expected:04d}" + (f" .. {number - 1:04d}" if number - 1 > expected else "")
            raise DataError(clip_dir, f"missing frame {missing} in the numbering (next present is {path.name})")
    return [path for _, path in numbered]


def read_frame(path: Path) -> np.ndarray:
    """Decode one image as RGB uint8 (H, W, 3); corrupt or truncated files raise :class:`DataError`.

    JPEGs are decoded by libjpeg-turbo in strict mode (simplejpeg), which turns libjpeg's "Corrupt JPEG data"
    warnings into errors: a file damaged in the middle keeps its markers and would otherwise decode to garbage
    silently (OpenCV only prints the warning). Any JPEG it rejects is an error, never handed to OpenCV. The pixels
    are the same as ``cv2.imdecode``'s, and it is faster.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise DataError(path, f"cannot read image: {error.strerror or error}") from None
    if data.size == 0:
        raise DataError(path, "empty image file")
    if path.suffix.lower() in (".jpg", ".jpeg"):
        if not _has_jpeg_end(data):
            raise DataError(path, "truncated or corrupt JPEG (no end-of-image marker)")
        try:
            return simplejpeg.decode_jpeg(data, colorspace="RGB")
        except ValueError as error:  # every error: OpenCV would decode many of these files to garbage
            if "corrupt" in str(error).lower() or "premature" in str(error).lower():
                raise DataError(path, f"corrupt JPEG data, the image would be garbage ({error})") from None
            raise DataError(path, f"unreadable or corrupt JPEG: {error}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(path, "unreadable or corrupt image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def header_size(path: Path) -> tuple[int, int]:
    """(width, height) from an image's header without decoding it (JPEG and PNG; other files are decoded)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(64 * 1024)  # JPEG frame headers sit after the APP/DQT/DHT segments, well inside this
    except OSError as error:
        raise DataError(path, f"cannot read image: {error.strerror or error}") from None
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:2] == b"\xff\xd8":
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(head)
            return width, height
        except ValueError:
            pass  # header beyond the first 64 KiB or damaged: the full decode below says which
    height, width = read_frame(path).shape[:2]
    return width, height


def _has_jpeg_end(data: np.ndarray) -> bool:
    # Encoders may pad after the end-of-image marker (FF D9); a truncated file has none near its end.
    tail = data[-64:].tobytes()
    return data[:2].tobytes() == b"\xff\xd8" and b"\xff\xd9" in tail


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file."""
    height, width = read_frame(path).shape[:2]
    return width, height


def cell_float(path: Path, line: int, column: str, text: str) -> float:
    """A finite float from a CSV cell, or a :class:`DataError` naming the file, line and column."""
    try:
        value = float(text)
    except ValueError:
        raise DataError(path, f"{column} is not a number: {text!r}", line) from None
    if not np.isfinite(value):
        raise DataError(path, f"{column} is not finite: {text!r}", line)
    return value


def read_csv_rows(path: Path) -> list[list[str]]:
    """All rows of a CSV file; a missing file, non-UTF-8 bytes or a malformed CSV raise :class:`DataError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(path, f"cannot read: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise DataError(path, f"not UTF-8 text ({error.reason} at byte {error.start})", line) from None
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise DataError(path, f"malformed CSV: {error}") from None


def xy_columns(path: Path, header: list[str]) -> tuple[int, int]:
    """(x column, y column) of a label csv, by their header names (``x``, ``X``, ``x-coordinate`` ...), so a file
    listing y before x is read right; a header without exactly one of each raises :class:`DataError`."""
    names = [cell.strip().lower() for cell in header]
    x, y = ([i for i, name in enumerate(names) if name.startswith(axis)] for axis in "xy")
    if len(x) != 1 or len(y) != 1:
        raise DataError(path, f"no x and y column in header {header!r} (one column named x..., one y...)", 1)
    return x[0], y[0]


def read_labels(path: Path, frame_names: list[str], size: tuple[int, int]) -> Labels:
    """Parse ``labels.csv`` or ``Label.csv`` for the frames ``frame_names`` of size ``(width, height)``.

    The format is recognised by the header; columns are taken by position (file name, code, x, y, extra) so
    header spellings like ``x-coordinate`` work too, except x and y, found by name (:func:`xy_columns`). Rows must
    list the frames in order, one row each.
    """
    path = Path(path)
    width, height = size
    rows = read_csv_rows(path)
    if not rows:
        raise DataError(path, "empty label file", 1)
    header = [cell.strip().lower() for cell in rows[0]]
    if len(header) < 4 or not header[0].startswith("file"):
        raise DataError(path, f"unrecognised header {rows[0]!r}; expected 'file name,code,x,y,q' "
                              "or 'File Name,Visibility Class,X,Y,Trajectory Pattern'", 1)
    ix, iy = xy_columns(path, rows[0])
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    first_line: dict[str, int] = {}
    for line, row in body:
        name = Path(row[0].strip()).name
        if name in first_line:
            raise DataError(path, f"a second row for {name!r} (the first is line {first_line[name]})", line)
        first_line[name] = line
    if len(body) != len(frame_names):
        line = body[len(frame_names)][0] if len(body) > len(frame_names) else (body[-1][0] if body else 1)
        raise DataError(path, f"{len(body)} label rows for {len(frame_names)} frames in {path.parent}", line)
    n = len(body)
    codes, xy, traj = np.zeros(n, np.int64), np.full((n, 2), -1.0), np.full(n, -1, np.int64)
    has_confidence = len(header) > 5 and header[5] == CONFIDENCE_COLUMN
    confidence = np.ones(n) if has_confidence else None
    for i, (line, row) in enumerate(body):
        cells = [cell.strip() for cell in row] + [""] * (6 - len(row))
        if Path(cells[0]).name != frame_names[i]:
            raise DataError(path, f"row names {cells[0]!r} but frame {i} is {frame_names[i]!r}", line)
        try:
            code = int(float(cells[1]))
        except (ValueError, OverflowError):
            raise DataError(path, f"code is not a number: {cells[1]!r}", line) from None
        if code not in CODES or float(cells[1]) != code:
            raise DataError(path, f"code {cells[1]!r} outside 0..3", line)
        codes[i] = code
        if cells[4]:
            pattern = cell_float(path, line, "trajectory pattern", cells[4])
            if not 0 <= pattern <= 9:
                raise DataError(path, f"trajectory pattern {cells[4]!r} outside 0..9", line)
            traj[i] = int(pattern)
        if has_confidence:
            if not cells[5]:
                raise DataError(path, "blank confidence", line)
            value = cell_float(path, line, CONFIDENCE_COLUMN, cells[5])
            if not 0 <= value <= 1:
                raise DataError(path, f"confidence {cells[5]!r} outside 0..1", line)
            confidence[i] = value
        if code == 0:
            continue
        if not cells[ix] or not cells[iy]:
            raise DataError(path, f"blank x/y for a visible ball (code {code})", line)
        x, y = cell_float(path, line, "x", cells[ix]), cell_float(path, line, "y", cells[iy])
        if not (0 <= x < width and 0 <= y < height):  # pixel centres run 0 .. width - 1: x = width is off the frame
            raise DataError(path, f"ball at ({x}, {y}) outside the {width}x{height} frame, x in [0, {width}) and "
                                  f"y in [0, {height}) (code {code})", line)
        xy[i] = x, y
    return Labels(codes, xy, traj, confidence)


def write_labels(path: Path, labels: Labels, frame_names: list[str]) -> None:
    """Write labels in the assignment's ``labels.csv`` format (floats kept to 3 decimals, blank when absent)."""
    assert len(frame_names) == len(labels), "one label row per frame"
    confidence = labels.confidence
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(ASSIGNMENT_HEADER + ((CONFIDENCE_COLUMN,) if confidence is not None else ()))
        for i, (name, code, (x, y), q) in enumerate(zip(frame_names, labels.codes, labels.xy, labels.traj)):
            cells = ["", ""] if code == 0 else [_fmt(x), _fmt(y)]
            extra = [f"{confidence[i]:.3f}".rstrip("0").rstrip(".")] if confidence is not None else []
            writer.writerow([name, int(code), *cells, "" if q < 0 else int(q), *extra])


def _fmt(value: float) -> str:
    text = f"{value:.3f}"
    if float(text) > value and float(text).is_integer():
        # rounding up onto an integer could put a ball at x = width, off the frame: truncate these instead
        text = f"{math.floor(value * 1000) / 1000:.3f}"
    return text.rstrip("0").rstrip(".")


def load_clip(clip_dir: Path, game: int = 0, clip: int = 0, require_labels: bool = False) -> Clip:
    """Read one clip folder; labels are optional unless ``require_labels``."""
    clip_dir = Path(clip_dir)
    frames = frame_paths(clip_dir)
    size = image_size(frames[0])
    label_path = next((clip_dir / name for name in LABEL_FILES if (clip_dir / name).is_file()), None)
    if label_path is None and require_labels:
        raise DataError(clip_dir, f"no label file ({' or '.join(LABEL_FILES)})")
    labels = read_labels(label_path, [p.name for p in frames], size) if label_path else None
    return Clip(game, clip, clip_dir, tuple(frames), labels, size)


def discover_clips(root: Path, games: list[int] | None = None, *, require_labels: bool = True,
                   skip_broken: bool = False) -> list[Clip]:
    """All clips under ``root/gameG/clipC`` (case-insensitive names), sorted by game then clip number.

    ``games`` restricts to those game numbers; asking for a game that is not there is an error.
    ``skip_broken`` (training only) logs and skips a clip whose frames or labels are bad; evaluation keeps the
    default and fails on the first problem.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "data folder does not exist")
    game_dirs = _numbered(root, "game")
    if games is not None:
        missing = sorted(set(games) - set(game_dirs))
        if missing:
            raise DataError(root, f"no folder for game(s) {missing}; found games {sorted(game_dirs)}")
        game_dirs = {n: game_dirs[n] for n in games}
    clips = []
    for game in sorted(game_dirs):
        clip_dirs = _numbered(game_dirs[game], "clip")
        if not clip_dirs:  # a game asked for (or found) with nothing in it is an error, never a game dropped
            hidden = sorted(p.name for p in game_dirs[game].iterdir() if p.is_dir() and p.name.startswith(".clip"))
            left = f"; only {', '.join(hidden)}, left by an import that did not finish: import it again"
            raise DataError(game_dirs[game], "no clip folder (clipC) in this game" + (left if hidden else ""))
        for number in sorted(clip_dirs):
            try:
                clips.append(load_clip(clip_dirs[number], game, number, require_labels=require_labels))
            except DataError as error:
                if not skip_broken:
                    raise
                log.warning("skipping broken clip: %s", error)
    if not clips:
        raise DataError(root, "no clips found (expected ROOT/gameG/clipC/0000.jpg ...)")
    return clips


def check_stack_length(clip: Clip, stack: int) -> None:
    """A clip must hold at least one full stack of consecutive frames."""
    if len(clip) < stack:
        raise DataError(clip.path, f"clip has {len(clip)} frames, shorter than the stack of {stack}")


def check_clip(clip: Clip, stack: int = 1, decode: bool = False) -> None:
    """Validate a clip up front, so a run fails before its first step rather than hours in: at least ``stack``
    frames, one label row per frame, every frame a complete image (JPEG end marker) of the clip's size, labels
    inside the frame. Raises :class:`DataError` naming the clip or frame.

    Cheap by default (headers only, well under a millisecond a frame); ``decode`` also decodes every frame, which
    finds JPEGs corrupted in the middle at the cost of a full decode (a few ms a 1280x720 frame).
    """
    check_stack_length(clip, stack)
    if clip.labels is not None and len(clip.labels) != len(clip):
        raise DataError(clip.path, f"{len(clip.labels)} labels for {len(clip)} frames")
    width, height = clip.size
    for path in clip.frames:
        if decode:
            size = read_frame(path).shape[1::-1]
        else:
            size = header_size(path)
            if path.suffix.lower() in (".jpg", ".jpeg"):
                with open(path, "rb") as f:
                    f.seek(max(0, path.stat().st_size - 64))
                    if b"\xff\xd9" not in f.read():
                        raise DataError(path, "truncated or corrupt JPEG (no end-of-image marker)")
        if tuple(size) != clip.size:
            raise DataError(path, f"frame is {size[0]}x{size[1]} but the clip's first frame is {width}x{height}")
    if clip.labels is not None:
        visible = clip.labels.visible
        xy = clip.labels.xy[visible]
        outside = ~((xy >= 0) & (xy < (width, height))).all(axis=1)
        if outside.any():
            t = int(np.flatnonzero(visible)[outside][0])
            raise DataError(clip.path, f"label of frame {t} at {tuple(clip.labels.xy[t])} outside the {width}x{height} "
                                       "frame")


def clip_problems(clips: list[Clip], stack: int = 1, decode: bool = False) -> list[str]:
    """:func:`check_clip` over ``clips``: one message per bad clip (empty when all are fine), so a run can list
    every problem at once before it starts."""
    problems = []
    for clip in clips:
        try:
            check_clip(clip, stack, decode)
        except DataError as error:
            problems.append(str(error))
    return problems
