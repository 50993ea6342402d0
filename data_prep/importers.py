"""Importers: other real layouts -> the assignment layout ``ROOT/gameG/clipC/0000.jpg ... labels.csv``.

Usage::

    python -m data_prep.importers tracknet   SRC --out ROOT [--game G] [--clip C] [--max-frames N] [--copy]
                                             [--blank-visible {absent,error}] [--overwrite]
    python -m data_prep.importers tracknetv3 SRC --out ROOT [--game G] [--first-clip C] [--clips-per-game N]
                                             [--rallies ID [ID ...]] [--max-frames N] [--truncate] [--overwrite]
    python -m data_prep.importers labelled-video SRC --out ROOT [--game G] [--clip C] [--labels CSV]
                                             [--max-frames N] [--overwrite]
    python -m data_prep.importers video      SRC --out ROOT [--game G] [--clip C] [--max-frames N] [--copy]
                                             [--overwrite]

Kinds:

* ``tracknet``: TrackNet tennis layout, ``gameN/ClipM/0000.jpg ... Label.csv`` (``File Name,Visibility Class,X,Y,
  Trajectory Pattern``, floats, blank when absent). SRC may be the dataset root (game and clip numbers are kept), one
  game folder (clip numbers kept; game from ``--game`` or the folder name) or one clip folder holding ``Label.csv``
  (goes to ``--game``/``--clip``, default 1/1). Frames are hard-linked when possible, else copied (``--copy`` always
  copies). A visible ball with blank x/y (the handball clip has two such rows) is imported as code 0 with a warning;
  ``--blank-visible error`` refuses instead.
* ``tracknetv3``: TrackNetV3 badminton, a folder of ``NNNNN.mp4`` + ``NNNNN.csv`` (``Frame,Ball,x,y``; Ball 0/1; x/y
  normalised to 0..1 of the frame size; one row per decoded frame). Each rally becomes one clip, rallies in sorted
  order numbered from ``--first-clip`` in game ``--game``, or ``--clips-per-game N`` clips per game on consecutive
  games. Frames are decoded with OpenCV and written as JPEG (quality 95); pixel = normalised * frame size, which
  undoes TrackNetV3's own normalisation (pixel / size) exactly, so no half-pixel shift is applied.
  The csv must have exactly as many rows as the video decodes frames; ``--truncate`` instead keeps the common length
  (with a warning). ``--max-frames N`` keeps the first N frames of each rally.
* ``labelled-video``: a video (any format OpenCV reads) with a per-frame csv beside it (``VIDEO.csv``, or
  ``--labels``) in the assignment's columns: ``frame,visibility,x-coordinate,y-coordinate,status``, as in the real
  TrackNet clips of ``../shared/data/tennis_labelled``. SRC may be one video or a folder of them; in a folder,
  ``game{M}_clip{K}`` names are grouped by match M, matches numbered as games from ``--game`` (default 1). Frames
  with a blank visibility are cut, never relabelled (each labelled run becomes a clip); ``OUT/sources.csv`` records
  where each clip came from. A csv that does not match its video (row count, frame numbers, a code outside 0..3, a
  ball off the frame) is refused with its file and line.
* ``video``: one video file (mp4/avi/mov/mkv) or a folder of numbered frames -> one unlabelled clip (no labels.csv)
  for inference, at the original size.

Every clip is written into a hidden temporary folder next to its destination, read back with
:func:`data_prep.clips.load_clip` and only then renamed into place, so an interrupted or failed import never leaves a
half clip (a killed process may leave a hidden ``.clipC-*`` folder, which discovery ignores). An existing clip is
never replaced without ``--overwrite``. A multi-clip import stops at the first bad clip; the clips before it stay.
"""
from __future__ import annotations

import csv
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from data_prep.atomic import pid_alive
from data_prep.clips import (
    CODES,
    LABEL_FILES,
    DataError,
    Labels,
    cell_float,
    frame_paths,
    image_size,
    load_clip,
    read_csv_rows,
    read_frame,
    read_labels,
    write_labels,
    xy_columns,
)
from data_prep.video import count_video_frames, iter_video_frames, resize_frame

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted; the clips finished before are whole, the one being written was removed"

VIDEO_SUFFIXES = (".mp4", ".m4v", ".avi", ".mov", ".mkv", ".webm")
JPEG_QUALITY = 95


# ---------------------------------------------------------------------------------------------------- shared pieces

def _write_jpeg(path: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError(f"{path}: JPEG encoding failed")
    data.tofile(path)


def _place_frame(src: Path, dst: Path, link: bool) -> None:
    """Hard-link ``src`` to ``dst`` when ``link`` and the file system allows it, else copy."""
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:  # another device, or a file system / kernel policy that forbids the link
            pass
    shutil.copyfile(src, dst)


def _frame_name(index: int, suffix: str) -> str:
    return f"{index:04d}{suffix.lower()}"


def _numbered_dirs(folder: Path, prefix: str) -> dict[int, Path]:
    """Sub-folders named ``prefix<N>`` (any case) by N; ``clip1`` and ``Clip1`` are the same clip."""
    if not folder.is_dir():
        return {}
    return {int(m.group(1)): p for p in folder.iterdir()
            if p.is_dir() and (m := re.fullmatch(rf"{prefix}(\d+)", p.name, flags=re.IGNORECASE))}


def _clip_path(out: Path, game: int, clip: int) -> Path:
    """Where clip ``clip`` of game ``game`` goes, reusing an existing ``GameN`` folder of another spelling."""
    game_dir = _numbered_dirs(Path(out), "game").get(game, Path(out) / f"game{game}")
    return game_dir / f"clip{clip}"


def _check_free(out: Path, targets: Sequence[tuple[int, int]], overwrite: bool) -> None:
    """Fail before writing anything when a target clip exists and ``overwrite`` is off."""
    if overwrite:
        return
    taken = [_numbered_dirs(_clip_path(out, game, clip).parent, "clip").get(clip) for game, clip in targets]
    taken = [str(path) for path in taken if path is not None]
    if taken:
        raise FileExistsError(f"clip(s) already exist: {', '.join(taken)}; pass --overwrite to replace them")


@contextmanager
def _atomic_clip(out: Path, game: int, clip: int, *, labelled: bool, overwrite: bool) -> Iterator[Path]:
    """Yield an empty hidden folder to write one clip into; on success check it and rename it to ``gameG/clipC``.

    Any exception (KeyboardInterrupt included) removes the folder, so no half clip is ever visible.
    """
    final = _clip_path(out, game, clip)
    game_dir = final.parent
    _check_free(out, [(game, clip)], overwrite)
    new_game = not game_dir.exists()
    game_dir.mkdir(parents=True, exist_ok=True)
    _sweep_killed_imports(game_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".clip{clip}-{os.getpid()}-", dir=game_dir))
    try:
        yield tmp
        load_clip(tmp, game, clip, require_labels=labelled)  # never publish a clip the data layer rejects
        old = _numbered_dirs(game_dir, "clip").get(clip)
        if old is not None:  # overwrite: move the old clip aside first so the rename below cannot collide
            trash = Path(tempfile.mkdtemp(prefix=f".clip{clip}-{os.getpid()}-old-", dir=game_dir))
            old.rename(trash / old.name)
            tmp.rename(final)
            shutil.rmtree(trash)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if new_game and not any(game_dir.iterdir()):
            game_dir.rmdir()
        raise


def _sweep_killed_imports(game_dir: Path) -> None:
    """Remove the hidden folders (``.clipC-PID-...``) of imports into ``game_dir`` whose process is gone (SIGKILL
    runs no cleanup); a replaced clip such an import had moved aside but not yet replaced is put back."""
    for folder in game_dir.glob(".clip*-*"):
        m = re.fullmatch(r"\.clip(\d+)-(\d+)-(old-)?.*", folder.name)
        if not m or not folder.is_dir() or pid_alive(int(m.group(2))):
            continue
        old = next(folder.iterdir(), None) if m.group(3) else None
        if old is not None and int(m.group(1)) not in _numbered_dirs(game_dir, "clip"):
            old.rename(game_dir / old.name)
        log.warning("%s: removing %s, left by an import that was killed", game_dir, folder.name)
        shutil.rmtree(folder, ignore_errors=True)


def _check_max_frames(max_frames: int | None) -> None:
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, not {max_frames}")


def _head(labels: Labels, n: int) -> Labels:
    return Labels(labels.codes[:n], labels.xy[:n], labels.traj[:n])


# ---------------------------------------------------------------------------------------------------- tracknet

def _tracknet_sources(src: Path, game: int | None, clip: int | None) -> list[tuple[int, int, Path]]:
    """(game, clip, folder) for every clip under a TrackNet root, game folder or clip folder."""
    if not src.is_dir():
        raise DataError(src, "TrackNet source folder does not exist")
    if any((src / name).is_file() for name in LABEL_FILES):
        return [(1 if game is None else game, 1 if clip is None else clip, src)]
    if clip is not None:
        raise ValueError("--clip applies only when SRC is a single clip folder holding Label.csv")
    games = _numbered_dirs(src, "game")
    if games:
        if game is not None:
            raise ValueError("--game applies only when SRC is a single game or clip folder; a dataset root keeps "
                             "its game numbers")
        return [(g, c, path) for g in sorted(games) for c, path in sorted(_numbered_dirs(games[g], "clip").items())]
    clips = _numbered_dirs(src, "clip")
    if clips:
        if game is None:
            match = re.fullmatch(r"game(\d+)", src.name, flags=re.IGNORECASE)
            game = int(match.group(1)) if match else 1
        return [(game, c, path) for c, path in sorted(clips.items())]
    raise DataError(src, "not a TrackNet clip (Label.csv), game (ClipM/) or dataset (gameN/) folder")


def _relocated(error: DataError, path: Path) -> DataError:
    """The same error, naming ``path`` instead of the temporary copy it was raised on."""
    prefix = f"{error.path}:{error.line}: " if error.line is not None else f"{error.path}: "
    return DataError(path, str(error).removeprefix(prefix), error.line)


def _read_tracknet_labels(path: Path, names: list[str], size: tuple[int, int], scratch: Path,
                          blank_visible: str) -> Labels:
    """Read a TrackNet ``Label.csv``; with ``blank_visible='absent'`` rows with code 1..3 but blank x/y become 0."""
    if blank_visible == "error":
        return read_labels(path, names, size)
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    patched = 0
    for line, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row] + [""] * (4 - len(row))
        try:
            code = float(cells[1])
        except ValueError:
            continue  # read_labels reports it with the line
        if code in (1, 2, 3) and (not cells[2] or not cells[3]):
            log.warning("%s:%d: visible ball (code %s) with blank x/y imported as code 0", path, line, cells[1])
            row[1] = "0"
            patched += 1
    if not patched:
        return read_labels(path, names, size)
    # Same lines as the source, so read_labels' line numbers still point into it.
    copy = scratch / f".{path.name}.patched"
    with open(copy, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    try:
        return read_labels(copy, names, size)
    except DataError as error:
        raise _relocated(error, path) from None
    finally:
        copy.unlink()


def import_tracknet(src: Path, out: Path, game: int | None = None, clip: int | None = None, *,
                    max_frames: int | None = None, link: bool = True, blank_visible: str = "absent",
                    overwrite: bool = False) -> list[Path]:
    """Import a TrackNet dataset root, game folder or clip folder; returns the written clip folders in order."""
    if blank_visible not in ("absent", "error"):
        raise ValueError(f"blank_visible must be 'absent' or 'error', not {blank_visible!r}")
    _check_max_frames(max_frames)
    src, out = Path(src), Path(out)
    sources = _tracknet_sources(src, game, clip)
    if not sources:
        raise DataError(src, "no clip folders found")
    _check_free(out, [(g, c) for g, c, _ in sources], overwrite)
    label_paths = []
    for _, _, clip_dir in sources:  # all present before anything is written
        label_paths.append(next((clip_dir / name for name in LABEL_FILES if (clip_dir / name).is_file()), None))
        if label_paths[-1] is None:
            raise DataError(clip_dir, f"no label file ({' or '.join(LABEL_FILES)})")
    written = []
    for (g, c, clip_dir), label_path in zip(sources, label_paths):
        frames = frame_paths(clip_dir)
        size = image_size(frames[0])
        with _atomic_clip(out, g, c, labelled=True, overwrite=overwrite) as tmp:
            labels = _read_tracknet_labels(label_path, [p.name for p in frames], size, tmp, blank_visible)
            frames = frames[:max_frames]
            names = [_frame_name(i, p.suffix) for i, p in enumerate(frames)]
            for frame, name in zip(tqdm(frames, desc=f"game{g}/clip{c}", unit="frame", leave=False), names):
                _place_frame(frame, tmp / name, link)
            write_labels(tmp / "labels.csv", _head(labels, len(frames)), names)
        log.info("%s -> game%d/clip%d (%d frames)", clip_dir, g, c, len(frames))
        written.append(_clip_path(out, g, c))
    return written


# ---------------------------------------------------------------------------------------------------- tracknetv3

def _frame_csv_body(path: Path, header: str) -> tuple[list[tuple[int, list[str]]], tuple[int, int]]:
    """``[(line, cells), ...]`` of the non-blank rows of a per-frame csv whose header starts with ``frame``, and its
    (x, y) columns, found by name."""
    if not path.is_file():
        raise DataError(path, "label csv does not exist")
    rows = read_csv_rows(path)
    if not rows:
        raise DataError(path, "empty label file", 1)
    if len(rows[0]) < 4 or rows[0][0].strip().lower() != "frame":
        raise DataError(path, f"unrecognised header {rows[0]!r}; expected '{header}'", 1)
    body = [(line, row) for line, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    if not body:
        raise DataError(path, "no label rows", 1)
    return body, xy_columns(path, rows[0])


def read_tracknetv3_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse a TrackNetV3 ``Frame,Ball,x,y`` csv.

    Returns codes (n,) int64 in {0, 1} and xy (n, 2) float64 normalised to 0..1, -1 where Ball is 0. Frames must be
    numbered 0, 1, 2, ... one row each; anything else raises :class:`DataError` with the line.
    """
    path = Path(path)
    body, (ix, iy) = _frame_csv_body(path, "Frame,Ball,x,y")
    codes, xy = np.zeros(len(body), np.int64), np.full((len(body), 2), -1.0)
    for i, (line, row) in enumerate(body):
        cells = [cell.strip() for cell in row] + [""] * (4 - len(row))
        if cell_float(path, line, "Frame", cells[0]) != i:
            raise DataError(path, f"frame {cells[0]!r} where {i} was expected (one row per frame, in order)", line)
        ball = cell_float(path, line, "Ball", cells[1])
        if ball not in (0, 1):
            raise DataError(path, f"Ball {cells[1]!r} is not 0 or 1", line)
        if ball == 0:
            continue
        x, y = cell_float(path, line, "x", cells[ix]), cell_float(path, line, "y", cells[iy])
        if not (0 <= x <= 1 and 0 <= y <= 1):
            raise DataError(path, f"normalised ball position ({x}, {y}) outside 0..1", line)
        codes[i], xy[i] = 1, (x, y)
    return codes, xy


def import_tracknetv3(src: Path, out: Path, game: int = 1, *, first_clip: int = 1, clips_per_game: int | None = None,
                      rallies: Sequence[str] | None = None, max_frames: int | None = None, truncate: bool = False,
                      overwrite: bool = False) -> list[Path]:
    """Import a folder of TrackNetV3 rallies (``NNNNN.mp4`` + ``NNNNN.csv``), one clip per rally.

    Rallies (all, or those whose stems are in ``rallies``) go in sorted order to ``game``/``first_clip``,
    ``first_clip + 1``, ...; with ``clips_per_game`` N, rally i goes to game ``game + i // N``, clip
    ``first_clip + i % N``. ``truncate`` keeps the common length when csv rows and decoded frames disagree
    (otherwise a :class:`DataError` naming the csv). Returns the written clip folders in order.
    """
    _check_max_frames(max_frames)
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise DataError(src, "rally folder does not exist")
    if clips_per_game is not None and clips_per_game < 1:
        raise ValueError(f"clips_per_game must be >= 1, not {clips_per_game}")
    videos = sorted(p for p in src.iterdir() if p.suffix.lower() == ".mp4")
    if rallies is not None:
        wanted = {Path(r).stem for r in rallies}
        missing = sorted(wanted - {v.stem for v in videos})
        if missing:
            raise DataError(src, f"no video for rally(ies) {missing}")
        videos = [v for v in videos if v.stem in wanted]
    if not videos:
        raise DataError(src, "no rallies (NNNNN.mp4 + NNNNN.csv) found")
    per_game = clips_per_game or len(videos)
    targets = [(game + i // per_game, first_clip + i % per_game) for i in range(len(videos))]
    _check_free(out, targets, overwrite)
    # Parse every csv first: a bad one fails the import before any frame is decoded.
    labels = [read_tracknetv3_csv(video.with_suffix(".csv")) for video in videos]
    written = []
    for video, (codes, xy), (g, c) in zip(videos, labels, targets):
        csv_path = video.with_suffix(".csv")
        wanted = len(codes) if max_frames is None else min(len(codes), max_frames)
        with _atomic_clip(out, g, c, labelled=True, overwrite=overwrite) as tmp:
            frames = iter_video_frames(video, max_frames)
            count = 0
            for frame in tqdm(frames, desc=f"{video.name} -> game{g}/clip{c}", total=wanted, unit="frame", leave=False):
                if count == wanted:
                    if truncate:
                        break
                    decoded = count + 1 + sum(1 for _ in frames)
                    raise DataError(csv_path, f"{len(codes)} label rows but {video.name} decodes more frames "
                                              f"({decoded}{' or more' if max_frames else ''}); pass --truncate "
                                              "to keep the common length")
                _write_jpeg(tmp / _frame_name(count, ".jpg"), frame)
                size = frame.shape[1], frame.shape[0]
                count += 1
            if count < wanted:
                if not truncate:
                    raise DataError(csv_path, f"{len(codes)} label rows but {video.name} decodes only {count} frames;"
                                              " pass --truncate to keep the common length")
                log.warning("%s: %d label rows, %s decodes %d frames; keeping the first %d",
                            csv_path, len(codes), video.name, count, count)
            pixels = np.where(codes[:count, None] > 0, xy[:count] * np.array(size, np.float64), -1.0)
            rally = Labels(codes[:count], pixels, np.full(count, -1, np.int64))
            write_labels(tmp / "labels.csv", rally, [_frame_name(i, ".jpg") for i in range(count)])
        log.info("%s -> game%d/clip%d (%d frames)", video.name, g, c, count)
        written.append(_clip_path(out, g, c))
    return written


# ---------------------------------------------------------------------------------------------------- labelled video

LABELLED_VIDEO_HEADER = "frame,visibility,x-coordinate,y-coordinate,status"


@dataclass(frozen=True)
class VideoLabels:
    """A labelled video's csv, one entry per decoded frame.

    codes:    (n,) int64 in 0..3, -1 where the source leaves the frame unlabelled (blank visibility)
    xy:       (n, 2) float64 ball centre in the video's pixels, -1 where absent or unlabelled
    traj:     (n,) int64 trajectory pattern from ``status`` (0 flying, 1 hit, 2 bounce), -1 when blank
    lines:    (n,) int64 csv line of each frame, for errors that are found later (e.g. against the frame size)
    """

    codes: np.ndarray
    xy: np.ndarray
    traj: np.ndarray
    lines: np.ndarray

    def segments(self) -> list[tuple[int, int]]:
        """``[(start, stop), ...]``: the runs of consecutive labelled frames, in order."""
        labelled = np.concatenate([[False], self.codes >= 0, [False]])
        edges = np.flatnonzero(labelled[1:] != labelled[:-1])
        return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def read_video_labels(path: Path) -> VideoLabels:
    """Parse a labelled video's csv: ``frame,visibility,x-coordinate,y-coordinate[,status]``, one row per frame.

    Frames are numbered 0, 1, 2, ... in order; visibility is 0..3 as in the assignment or blank (frame unlabelled:
    it is cut out, never guessed); x/y are pixels, blank when visibility is 0. Anything else raises
    :class:`DataError` with the line.
    """
    path = Path(path)
    body, (ix, iy) = _frame_csv_body(path, LABELLED_VIDEO_HEADER)
    n = len(body)
    codes, xy, traj = np.full(n, -1, np.int64), np.full((n, 2), -1.0), np.full(n, -1, np.int64)
    for i, (line, row) in enumerate(body):
        cells = [cell.strip() for cell in row] + [""] * (5 - len(row))
        if cell_float(path, line, "frame", cells[0]) != i:
            raise DataError(path, f"frame {cells[0]!r} where {i} was expected (one row per frame, in order)", line)
        if not cells[1]:
            continue
        code = cell_float(path, line, "visibility", cells[1])
        if code not in CODES:
            raise DataError(path, f"visibility {cells[1]!r} is not 0, 1, 2 or 3", line)
        codes[i] = int(code)
        if cells[4]:
            status = cell_float(path, line, "status", cells[4])
            if status not in (0, 1, 2):
                raise DataError(path, f"status {cells[4]!r} is not 0 (flying), 1 (hit) or 2 (bounce)", line)
            traj[i] = int(status)
        if code == 0:
            continue
        if not cells[ix] or not cells[iy]:
            raise DataError(path, f"blank x/y for a visible ball (visibility {cells[1]})", line)
        xy[i] = cell_float(path, line, "x", cells[ix]), cell_float(path, line, "y", cells[iy])
    return VideoLabels(codes, xy, traj, np.array([line for line, _ in body], np.int64))


def _check_on_frame(path: Path, labels: VideoLabels, size: tuple[int, int]) -> None:
    """Every labelled ball lies on the ``(width, height)`` frame: 0 <= x < width, 0 <= y < height."""
    width, height = size
    present = labels.codes > 0
    off = present & ((labels.xy[:, 0] < 0) | (labels.xy[:, 0] >= width)
                     | (labels.xy[:, 1] < 0) | (labels.xy[:, 1] >= height))
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise DataError(path, f"ball at ({labels.xy[i, 0]:g}, {labels.xy[i, 1]:g}) is off the {width}x{height} "
                              f"frame", int(labels.lines[i]))


def labelled_video_sources(src: Path, game: int) -> list[tuple[int, int, Path]]:
    """``(game, clip, video)`` for a video file or a folder of ``VIDEO.mp4 + VIDEO.csv`` pairs.

    In a folder, videos named ``game{M}_clip{K}`` (the TrackNet naming) are grouped by match M: matches in
    increasing order become games ``game``, ``game + 1``, ..., their clips numbered 1, 2, ... in order of K. Any other
    video is a match of its own, after the named ones, in name order.
    """
    src = Path(src)
    if src.is_file():
        return [(game, 1, src)]
    if not src.is_dir():
        raise DataError(src, "labelled video (or folder of them) does not exist")
    videos = sorted(p for p in src.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise DataError(src, f"no videos ({', '.join(VIDEO_SUFFIXES)}) with a csv beside them")
    named: dict[int, list[tuple[int, Path]]] = {}
    others = []
    for video in videos:
        match = re.fullmatch(r"game(\d+)_clip(\d+)", video.stem, flags=re.IGNORECASE)
        if match:
            named.setdefault(int(match.group(1)), []).append((int(match.group(2)), video))
        else:
            others.append([(1, video)])
    groups = [sorted(named[m]) for m in sorted(named)] + others
    return [(game + g, c, video) for g, group in enumerate(groups) for c, (_, video) in enumerate(group, start=1)]


def import_labelled_video(src: Path, out: Path, game: int = 1, clip: int | None = None, *,
                          labels: Path | None = None, max_frames: int | None = None,
                          overwrite: bool = False) -> list[Path]:
    """Import labelled video(s) (``VIDEO.mp4`` + ``VIDEO.csv`` beside it) into the assignment layout.

    ``src`` is one video (to ``game``/``clip``, default clip 1; ``labels`` names its csv when it is not beside it)
    or a folder of them, numbered as :func:`labelled_video_sources` says. Frames with a blank visibility are cut,
    never relabelled: each run of labelled frames becomes a clip, so a video with unlabelled frames in its middle
    gives consecutive clips (``clip``, ``clip + 1``, ...). Each written clip's source video and first frame go to
    ``OUT/sources.csv``. The csv must hold exactly one row per decoded frame (``--max-frames`` imports the first N
    of both). Returns the written clip folders in order.
    """
    _check_max_frames(max_frames)
    src, out = Path(src), Path(out)
    if labels is not None and not src.is_file():
        raise ValueError("--labels applies only when SRC is a single video")
    sources = labelled_video_sources(src, game)
    if clip is not None:
        if len(sources) > 1:
            raise ValueError("--clip applies only when SRC is a single video")
        sources = [(game, clip, sources[0][2])]
    # Parse every csv first: a bad one fails the import before any frame is decoded.
    parsed = []
    for g, c, video in sources:
        csv_path = labels if labels is not None else video.with_suffix(".csv")
        video_labels = read_video_labels(csv_path)
        rows = len(video_labels.codes)
        n = rows if max_frames is None else min(max_frames, rows)
        decoded = count_video_frames(video, max_frames)
        if (decoded != rows) if max_frames is None else (decoded < n):
            raise DataError(csv_path, f"{rows} label rows but {video.name} decodes {decoded} frames: one row per "
                                      "decoded frame", int(video_labels.lines[min(decoded, rows - 1)]))
        segments = [(a, min(b, n)) for a, b in video_labels.segments() if a < n]
        if not segments:
            raise DataError(csv_path, "no labelled frame (every visibility is blank)")
        parsed.append((video, csv_path, video_labels, n, [(g, c + k, a, b) for k, (a, b) in enumerate(segments)]))
    targets = [(g, c) for *_, segments in parsed for g, c, _, _ in segments]
    if len(set(targets)) != len(targets):
        raise ValueError(f"two sources map to one clip: {targets}")
    _check_free(out, targets, overwrite)
    written, provenance = [], []
    for video, csv_path, video_labels, n, segments in parsed:
        frames = iter_video_frames(video)
        position = 0
        for g, c, start, stop in segments:
            with _atomic_clip(out, g, c, labelled=True, overwrite=overwrite) as tmp:
                for frame in tqdm(frames, desc=f"{video.name} -> game{g}/clip{c}", total=stop - position,
                                  unit="frame", leave=False):
                    if position == 0:
                        _check_on_frame(csv_path, video_labels, (frame.shape[1], frame.shape[0]))
                    if position >= start:
                        _write_jpeg(tmp / _frame_name(position - start, ".jpg"), frame)
                    position += 1
                    if position == stop:
                        break
                part = slice(start, stop)
                write_labels(tmp / "labels.csv", Labels(video_labels.codes[part], video_labels.xy[part],
                                                        video_labels.traj[part]),
                             [_frame_name(i, ".jpg") for i in range(stop - start)])
            log.info("%s frames %d-%d -> game%d/clip%d", video.name, start, stop - 1, g, c)
            written.append(_clip_path(out, g, c))
            provenance.append([g, c, video.name, start, stop - start])
    _append_sources(out / "sources.csv", provenance)
    return written


def _append_sources(path: Path, rows: list[list]) -> None:
    """Record which video and frames each imported clip came from (one row per clip, newest last)."""
    new = not path.is_file()
    with open(path, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(["game", "clip", "video", "first_frame", "frames"])
        writer.writerows(rows)


# ---------------------------------------------------------------------------------------------------- video

def import_video(src: Path, out: Path, game: int = 1, clip: int = 1, *, max_frames: int | None = None,
                 link: bool = True, overwrite: bool = False, width: int | None = None) -> Path:
    """Import a video file or a folder of numbered frames as one unlabelled clip; returns its folder.

    ``width``: resize every frame to this many pixels wide, aspect kept (1280, the tracker's working width, gives
    training crops balls of the size the tracker sees; a 1080p broadcast is otherwise 1.5x larger).
    """
    _check_max_frames(max_frames)
    if width is not None and width < 16:
        raise ValueError(f"width must be at least 16 pixels, not {width}")
    src, out = Path(src), Path(out)
    if not src.is_dir() and src.suffix.lower() not in VIDEO_SUFFIXES:
        raise DataError(src, f"not a frame folder or a video file ({', '.join(VIDEO_SUFFIXES)})")
    with _atomic_clip(out, game, clip, labelled=False, overwrite=overwrite) as tmp:
        progress = dict(desc=f"{src.name} -> game{game}/clip{clip}", unit="frame", leave=False)
        if src.is_dir() and width is None:
            for i, frame in enumerate(tqdm(frame_paths(src)[:max_frames], **progress)):
                _place_frame(frame, tmp / _frame_name(i, frame.suffix), link)
        else:
            frames = (map(read_frame, frame_paths(src)[:max_frames]) if src.is_dir() else
                      iter_video_frames(src, max_frames))
            for i, frame in enumerate(tqdm(frames, **progress)):
                if width is not None and frame.shape[1] != width:
                    frame = resize_frame(frame, (width, int(round(frame.shape[0] * width / frame.shape[1]))))
                _write_jpeg(tmp / _frame_name(i, ".jpg"), frame)
    log.info("%s -> game%d/clip%d", src, game, clip)
    return _clip_path(out, game, clip)


if __name__ == "__main__":  # the command line is cli/importers.py
    from cli.importers import main

    sys.exit(main())
