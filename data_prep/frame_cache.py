"""Frames of a clip read lazily: the source frames at full resolution, or a compressed cache per smaller size.

Training draws random stacks of consecutive frames from clips at the proposal's low input size; decoding and
resizing a 1280x720 source for every draw would dominate the step. So each clip is resized once per size and its
frames stored as JPEG (quality 95, no chroma subsampling, so a 2-pixel ball keeps its colour) in one file per clip
and size: a 640x352 frame takes about a tenth of its 675 KB raw size and about a millisecond to decode.
Full-resolution frames are never cached: the sources are already compressed files, decoded on demand (the refine
stage trains from :mod:`data_prep.crop_cache` instead of whole frames).

An entry is one ``.npy`` file: a 1-D uint8 array holding ``n + 1`` int64 byte offsets, then the JPEG bytes of the
``n`` frames (frame i is ``data[offsets[i]:offsets[i + 1]]`` after the header). It is written under a temp name
and renamed into place, so an interrupted write never leaves a half file that looks valid; a killed writer's temp
file is swept by the next write to that folder. The key hashes the clip's frame files (name, size, mtime) and the
target size, so editing or replacing a frame invalidates the entry; stale entries of the same clip and size are
removed when the new one is written.
"""
from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import simplejpeg
from tqdm import tqdm

from data_prep.atomic import atomic_path, sweep_dead_temps
from data_prep.clips import Clip, DataError, read_frame
from data_prep.paths import PROJECT_ROOT
from data_prep.video import resize_frame

log = logging.getLogger(__name__)

DEFAULT_CACHE = PROJECT_ROOT / "cache" / "frames"
JPEG_QUALITY = 95
KEEP_DECODED = 8  # frames a ClipFrames keeps decoded: sliding windows of up to this many decode each frame once


def _size_tag(size: tuple[int, int] | None) -> str:
    return "full" if size is None else f"{size[0]}x{size[1]}"


def clip_fingerprint(clip: Clip, size: tuple[int, int] | None) -> str:
    digest = hashlib.sha1(f"{clip.path.resolve()}|{size}".encode())
    for path in clip.frames:
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


class ClipFrames(Sequence):
    """The frames of one clip, decoded on access.

    ``frames[t]`` is (h, w, 3) uint8 RGB, ``frames[a:b]`` (b - a, h, w, 3); ``len(frames)`` and ``frames.shape``
    behave as for an array. The last ``KEEP_DECODED`` frames decoded are kept, so a sliding window over the clip
    decodes each frame once.
    """

    def __init__(self, n: int, size: tuple[int, int], decode: Callable[[int], np.ndarray]):
        self.n, self.size, self._decode = n, size, decode
        self._kept: OrderedDict[int, np.ndarray] = OrderedDict()

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.n, self.size[1], self.size[0], 3

    dtype = np.dtype(np.uint8)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, item):
        if isinstance(item, slice):
            frames = [self._frame(i) for i in range(*item.indices(self.n))]
            return np.stack(frames) if frames else np.zeros((0, *self.shape[1:]), np.uint8)
        index = int(item) + (self.n if int(item) < 0 else 0)
        if not 0 <= index < self.n:
            raise IndexError(f"frame {item} of a clip of {self.n}")
        return self._frame(index)

    def __array__(self, dtype=None, copy=None):
        return self[:] if dtype is None else self[:].astype(dtype)

    def _frame(self, index: int) -> np.ndarray:
        frame = self._kept.get(index)
        if frame is None:
            frame = self._decode(index)
            frame.flags.writeable = False  # shared by every reader of the kept frame
            self._kept[index] = frame
            if len(self._kept) > KEEP_DECODED:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(index)
        return frame


def source_frames(clip: Clip) -> ClipFrames:
    """The clip's own frames at full resolution; a frame of another size than the first raises DataError."""
    def decode(index: int) -> np.ndarray:
        return _checked(clip, index)

    return ClipFrames(len(clip), clip.size, decode)


def _checked(clip: Clip, index: int) -> np.ndarray:
    frame = read_frame(clip.frames[index])
    if (frame.shape[1], frame.shape[0]) != clip.size:
        raise DataError(clip.frames[index], f"frame is {frame.shape[1]}x{frame.shape[0]}, the clip's first frame "
                                            f"is {clip.size[0]}x{clip.size[1]}")
    return frame


class FrameCache:
    """Per-clip compressed frame caches under ``root``.

    >>> frames = FrameCache().frames(clip, size=(640, 352))   # ClipFrames: (n, 352, 640, 3) uint8 on access
    >>> stack = frames[t:t + 3]                                # decodes 3 frames only
    """

    def __init__(self, root: Path = DEFAULT_CACHE, workers: int = 2, progress: bool = True):
        self.root = Path(root)
        self.workers = workers
        self.progress = progress

    def path_for(self, clip: Clip, size: tuple[int, int]) -> Path:
        # One folder per clip path: clips of different data sets share names like game1_clip1.
        folder = f"{clip.name}-{hashlib.sha1(str(clip.path.resolve()).encode()).hexdigest()[:8]}"
        return self.root / folder / f"{_size_tag(size)}-{clip_fingerprint(clip, size)}.npy"

    def frames(self, clip: Clip, size: tuple[int, int] | None = None) -> ClipFrames:
        """The frames of ``clip`` resized to ``size = (width, height)``; None: the source frames, uncached."""
        if size is None or tuple(size) == clip.size:
            return source_frames(clip)
        size = (int(size[0]), int(size[1]))
        path = self.path_for(clip, size)
        if path.exists():
            try:
                return self._open(path, len(clip), size)
            except (ValueError, OSError, EOFError) as error:
                log.warning("cache %s is unreadable or does not match its clip (%s); rebuilding", path, error)
        self._write(clip, size, path)
        return self._open(path, len(clip), size)

    @staticmethod
    def _open(path: Path, n: int, size: tuple[int, int]) -> ClipFrames:
        blob = np.load(path, mmap_mode="r")
        header = (n + 1) * 8
        if blob.ndim != 1 or blob.dtype != np.uint8 or blob.size < header:
            raise ValueError("not a frame cache of this clip")
        offsets = np.frombuffer(bytes(blob[:header]), np.int64) + header
        if offsets[0] != header or offsets[-1] != blob.size or np.any(np.diff(offsets) <= 0):
            raise ValueError("frame offsets do not match the file")

        def decode(index: int) -> np.ndarray:
            return simplejpeg.decode_jpeg(blob[offsets[index]:offsets[index + 1]], colorspace="RGB")

        return ClipFrames(n, size, decode)

    def _write(self, clip: Clip, size: tuple[int, int], path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_dead_temps(path.parent)

        def encode(index: int) -> bytes:
            frame = np.ascontiguousarray(resize_frame(_checked(clip, index), size))
            return simplejpeg.encode_jpeg(frame, quality=JPEG_QUALITY, colorspace="RGB", colorsubsampling="444")

        # libjpeg-turbo and OpenCV release the GIL, so threads use both cores without copying frames around.
        with ThreadPoolExecutor(self.workers) as pool:
            jobs = pool.map(encode, range(len(clip)))
            encoded = list(tqdm(jobs, total=len(clip), desc=f"cache {clip.name}", disable=not self.progress,
                                leave=False))
        offsets = np.cumsum([0] + [len(data) for data in encoded], dtype=np.int64)
        blob = np.frombuffer(offsets.tobytes() + b"".join(encoded), np.uint8)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, blob)
        for stale in path.parent.glob(f"{_size_tag(size)}-*.npy"):
            if stale != path:
                stale.unlink(missing_ok=True)
