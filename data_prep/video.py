"""Reading video: frames decoded one at a time as RGB, and resizing a frame; shared by the importers, the frame
cache, the trackers (``track.py``) and the court finder, so every reader decodes and resizes the same way.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from data_prep.clips import DataError
from data_prep.paths import FOLDER_FPS

log = logging.getLogger(__name__)


def iter_video_frames(path: Path, max_frames: int | None = None, start: int = 0) -> Iterator[np.ndarray]:
    """Decode a video frame by frame as RGB uint8 (H, W, 3), at most ``max_frames``; one frame in memory at a time.

    Any resolution and frame rate. Raises :class:`DataError` naming the file (on the first ``next``) when the file
    cannot be opened (not a video, an mp4 cut before its index, a codec OpenCV lacks) or decodes no frame, and
    (when it is reached) at a frame whose size differs from the first one's. A video that stops decoding before the
    frame count its container lists (cut short, or a damaged frame the decoder cannot get past) ends at the last
    good frame with a warning giving both counts: the frames before it are real, so they are kept. ``start``: the
    first frame to yield; those before it are skipped undecoded (``grab``).
    """
    path = Path(path)
    capture = _open_capture(path)
    try:
        skipped = 0
        while skipped < start and capture.grab():
            skipped += 1
        if skipped < start:
            raise DataError(path, f"the video ends after {skipped} frames, before the start frame {start}")
        listed = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) - start  # 0 or negative: the container does not say
        count, size = 0, None
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            if size is None:
                size = frame.shape
            elif frame.shape != size:
                raise DataError(path, f"frame {count} is {frame.shape[1]}x{frame.shape[0]}, the first frame is "
                                      f"{size[1]}x{size[0]}: one video must keep one frame size")
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        if count == 0:
            raise DataError(path, "video decodes no frames (empty, corrupt or unsupported codec)")
        expected = listed if max_frames is None else min(listed, max_frames)
        if count < expected:
            log.warning("%s: decoding stopped after %d of the %d frames the file lists (truncated or corrupt); "
                        "using the %d good frames", path, count, listed, count)
    finally:
        capture.release()


def video_fps(source: Path) -> float:
    """The video's frame rate as its container states it (25, 29.97, 59.94, 120 ...); :data:`FOLDER_FPS` for a
    frame folder, and for a video that states no usable rate (with a warning)."""
    source = Path(source)
    if source.is_dir():
        return FOLDER_FPS
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    if fps and 1 <= fps <= 1000:
        return float(fps)
    log.warning("%s: the video states no usable frame rate (%s); using %g fps", source, fps, FOLDER_FPS)
    return FOLDER_FPS


def read_still(path: Path, frame: int = 0) -> np.ndarray:
    """An image, or frame ``frame`` of a video, as RGB uint8 (H, W, 3); raises :class:`DataError` naming the file."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, "a folder, expected an image or a video")
    if not path.exists():
        raise DataError(path, "no such file")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.suffix.lower() in STILL_SUFFIXES else None
    if image is not None:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return next(iter_video_frames(path, max_frames=1, start=frame))


STILL_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}  # what read_still reads as an image


def _open_capture(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise DataError(path, "video file does not exist")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise DataError(path, "cannot open video (not a video, truncated before its index, or a codec OpenCV lacks)")
    return capture


def count_video_frames(path: Path, limit: int | None = None) -> int:
    """How many frames ``path`` decodes (at most ``limit``), without converting them to RGB."""
    capture = _open_capture(Path(path))
    try:
        count = 0
        while (limit is None or count < limit) and capture.grab():
            count += 1
        return count
    finally:
        capture.release()


def stated_frame_count(path: Path) -> int | None:
    """The frame count the video's container states (for progress bars; it may be off by a few), None if absent."""
    capture = _open_capture(Path(path))
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    return count if count > 0 else None


def resize_frame(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize an RGB frame to ``size = (width, height)``; ``None`` keeps it. INTER_AREA keeps small balls visible."""
    if size is None or (frame.shape[1], frame.shape[0]) == tuple(size):
        return frame
    return cv2.resize(frame, tuple(size), interpolation=cv2.INTER_AREA)
