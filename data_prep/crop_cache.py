"""The refine stage's training crops cut once per clip and stored as uint8 arrays, instead of whole frames.

Every refine training sample is a crop stack (frames t-k .. t+k) at a window known before training starts: the
proposal's mined candidates and the random background windows sit at fixed points, and a positive is centred
within ``jitter`` pixels of its ball. So each window is cut once, a positive's with a margin that holds every
jittered window, and a sample slices its crop out of the stored one: the same pixels as cutting it from the
frame, at a fraction of the disk a full-resolution frame cache takes (32 px crops around 5 candidates, a ball and
a random window per frame: about 0.2 MB a frame against 2.8 MB decoded).

An entry is ``CACHE/<clip>/<key>.npy``, ``(windows, 2k + 1, S, S, 3)`` uint8 for the window side S; the key hashes
the clip's frames, the windows and the crop geometry, and the file is written atomically.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from data_prep.atomic import atomic_path, sweep_dead_temps
from data_prep.clips import Clip
from data_prep.crops import crop_stack
from data_prep.frame_cache import clip_fingerprint, source_frames


def stored_crops(root: Path, clip: Clip, frame_index: np.ndarray, origins: np.ndarray, side: int,
                 context: int) -> np.ndarray:
    """Crop stacks of ``clip`` at ``origins``, cut once and read back through a memory map.

    frame_index (m,) int frame t of each window, origins (m, 2) int top-left (x, y), side S
    -> (m, 2 * context + 1, S, S, 3) uint8, window i = ``crop_stack(frames, frame_index[i], origins[i], S, context)``
    """
    frame_index, origins = np.asarray(frame_index, np.int64), np.asarray(origins, np.int64)
    digest = hashlib.sha1(f"{clip_fingerprint(clip, None)}|{side}|{context}".encode())
    digest.update(frame_index.tobytes())
    digest.update(origins.tobytes())
    folder = Path(root) / f"{clip.name}-{hashlib.sha1(str(clip.path.resolve()).encode()).hexdigest()[:8]}"
    path = folder / f"s{side}-{digest.hexdigest()[:16]}.npy"
    shape = (len(frame_index), 2 * context + 1, side, side, 3)
    if path.is_file():
        try:
            stored = np.load(path, mmap_mode="r")
            if stored.shape == shape and stored.dtype == np.uint8:
                return stored
        except (ValueError, OSError, EOFError):
            pass  # a damaged entry is cut again
    folder.mkdir(parents=True, exist_ok=True)
    sweep_dead_temps(folder)
    frames = source_frames(clip)
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        for i in np.argsort(frame_index, kind="stable"):  # in frame order: each frame is decoded once
            out[i] = crop_stack(frames, int(frame_index[i]), origins[i], side, context)
        out.flush()
        del out
    return np.load(path, mmap_mode="r")
