"""The frame cache: written once, memory-mapped, invalidated by source changes, atomic under failure."""
import os
import time

import cv2
import numpy as np
import pytest

from data_prep.clips import DataError, load_clip
from data_prep.frame_cache import FrameCache


def test_cache_is_written_once_and_memory_mapped(make_clip, tmp_path):
    clip = load_clip(make_clip(n=6, size=(64, 48)))
    cache = FrameCache(tmp_path / "cache", progress=False)
    frames = cache.frames(clip, (32, 16))
    assert isinstance(frames, np.memmap) and frames.shape == (6, 16, 32, 3) and frames.dtype == np.uint8
    assert not frames.flags.writeable
    path = cache.path_for(clip, (32, 16))
    mtime = path.stat().st_mtime_ns
    again = cache.frames(clip, (32, 16))
    assert path.stat().st_mtime_ns == mtime and np.array_equal(again, frames)
    full = cache.frames(clip, None)
    assert full.shape == (6, 48, 64, 3) and abs(int(full[3].mean()) - 60) <= 2  # frame 3 is grey level 60


def test_changed_frame_invalidates_and_stale_entry_is_removed(make_clip, tmp_path):
    clip_dir = make_clip(n=4, size=(64, 48))
    cache = FrameCache(tmp_path / "cache", progress=False)
    old = cache.path_for(load_clip(clip_dir), None)
    cache.frames(load_clip(clip_dir), None)
    time.sleep(0.01)
    cv2.imwrite(str(clip_dir / "0002.jpg"), np.full((48, 64, 3), 250, np.uint8))
    clip = load_clip(clip_dir)
    frames = cache.frames(clip, None)
    assert cache.path_for(clip, None) != old and not old.exists()
    assert frames[2].mean() > 240


def test_corrupt_cache_file_is_rebuilt(make_clip, tmp_path):
    clip = load_clip(make_clip(n=4))
    cache = FrameCache(tmp_path / "cache", progress=False)
    path = cache.path_for(clip, None)
    cache.frames(clip, None)
    path.write_bytes(path.read_bytes()[:100])  # truncated
    assert cache.frames(clip, None).shape == (4, 48, 64, 3)


def test_failed_write_leaves_nothing_behind(make_clip, tmp_path):
    clip_dir = make_clip(n=5)
    clip = load_clip(clip_dir)
    (clip_dir / "0003.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    cache = FrameCache(tmp_path / "cache", progress=False)
    with pytest.raises(DataError, match="0003.jpg"):
        cache.frames(clip, None)
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*")), os.listdir(tmp_path / "cache")
