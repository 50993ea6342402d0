"""Decoded, resized frames of a clip stored once as a uint8 ``.npy`` file and read back through a memory map.

Training draws random stacks of consecutive frames from clips; decoding JPEGs for every draw would dominate the
step time, and holding whole data sets in RAM does not scale. The cache decodes each clip once per size, writes
``(n, h, w, 3)`` uint8 RGB to a temp file and renames it into place (so an interrupted write never leaves a
half file that looks valid), and maps it read-only: a stack read touches only its own pages.

The cache key hashes the clip's frame files (name, size, mtime) and the target size, so editing or replacing a
frame invalidates the entry; stale entries of the same clip and size are removed when the new one is written.
"""
from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_prep.atomic import atomic_path
from data_prep.clips import Clip, DataError, read_frame
from data_prep.paths import PROJECT_ROOT
from data_prep.video import resize_frame

log = logging.getLogger(__name__)

DEFAULT_CACHE = PROJECT_ROOT / "cache" / "frames"


def _size_tag(size: tuple[int, int] | None) -> str:
    return "full" if size is None else f"{size[0]}x{size[1]}"


def clip_fingerprint(clip: Clip, size: tuple[int, int] | None) -> str:
    digest = hashlib.sha1(f"{clip.path.resolve()}|{size}".encode())
    for path in clip.frames:
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


class FrameCache:
    """Per-clip memory-mapped frame arrays under ``root``.

    >>> frames = FrameCache().frames(clip, size=(512, 288))   # (n, 288, 512, 3) uint8, read-only memmap
    >>> stack = frames[t:t + 3]                                # touches 3 frames only
    """

    def __init__(self, root: Path = DEFAULT_CACHE, workers: int = 2, progress: bool = True):
        self.root = Path(root)
        self.workers = workers
        self.progress = progress

    def path_for(self, clip: Clip, size: tuple[int, int] | None) -> Path:
        # One folder per clip path: clips of different data sets share names like game1_clip1.
        folder = f"{clip.name}-{hashlib.sha1(str(clip.path.resolve()).encode()).hexdigest()[:8]}"
        return self.root / folder / f"{_size_tag(size)}-{clip_fingerprint(clip, size)}.npy"

    def frames(self, clip: Clip, size: tuple[int, int] | None = None) -> np.ndarray:
        """``(n, h, w, 3)`` uint8 RGB frames of ``clip`` resized to ``size = (width, height)``."""
        path = self.path_for(clip, size)
        if path.exists():
            try:
                array = np.load(path, mmap_mode="r")
                if array.shape[0] == len(clip) and array.dtype == np.uint8:
                    return array
                log.warning("cache %s does not match its clip; rebuilding", path)
            except (ValueError, OSError, EOFError) as error:
                log.warning("cache %s is unreadable (%s); rebuilding", path, error)
        self._write(clip, size, path)
        return np.load(path, mmap_mode="r")

    def _write(self, clip: Clip, size: tuple[int, int] | None, path: Path) -> None:
        with atomic_path(path) as tmp:
            self._decode_into(tmp, clip, size if size is not None else clip.size)  # returns with the map closed
        for stale in path.parent.glob(f"{_size_tag(size)}-*.npy"):
            if stale != path:
                stale.unlink(missing_ok=True)

    def _decode_into(self, tmp: Path, clip: Clip, size: tuple[int, int]) -> None:
        width, height = size
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(clip), height, width, 3))

        def decode(i: int) -> None:
            frame = read_frame(clip.frames[i])
            if (frame.shape[1], frame.shape[0]) != clip.size:
                raise DataError(clip.frames[i], f"frame is {frame.shape[1]}x{frame.shape[0]}, "
                                                f"the clip's first frame is {clip.size[0]}x{clip.size[1]}")
            out[i] = resize_frame(frame, (width, height))

        # OpenCV releases the GIL while decoding, so threads use both cores without copying frames around.
        with ThreadPoolExecutor(self.workers) as pool:
            jobs = pool.map(decode, range(len(clip)))
            for _ in tqdm(jobs, total=len(clip), desc=f"cache {clip.name}", disable=not self.progress, leave=False):
                pass
        out.flush()
