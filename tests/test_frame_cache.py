"""The frame cache: JPEG-compressed per size, written once, invalidated by source changes, atomic under failure;
full-resolution frames read from the sources; the refine stage's stored crops equal crops cut from the frames."""
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from data_prep.atomic import sweep_dead_temps
from data_prep.augment import stack_transform
from data_prep.clips import DataError, load_clip
from data_prep.crops import CropSpec, crop_stack
from data_prep.frame_cache import FrameCache, source_frames
from data_prep.refine_samples import KIND_POSITIVE, RefineSamples


def noise_clip(make_clip, n=6, size=(64, 48), seed=0):
    """A clip of random frames (flat grey frames would hide a misplaced window)."""
    clip_dir = make_clip(n=n, size=size)
    rng = np.random.default_rng(seed)
    for i in range(n):
        cv2.imwrite(str(clip_dir / f"{i:04d}.jpg"), rng.integers(0, 255, (size[1], size[0], 3), np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
    return load_clip(clip_dir)


def test_cache_is_written_once_compressed_and_close_to_the_resized_frames(make_clip, tmp_path):
    clip = load_clip(make_clip(n=6, size=(64, 48)))
    cache = FrameCache(tmp_path / "cache", progress=False)
    frames = cache.frames(clip, (32, 16))
    assert frames.shape == (6, 16, 32, 3) and len(frames) == 6
    assert frames[2:5].shape == (3, 16, 32, 3) and frames[-1].dtype == np.uint8
    path = cache.path_for(clip, (32, 16))
    assert path.stat().st_size < 6 * 32 * 16 * 3  # smaller than the raw frames, even for tiny ones
    mtime = path.stat().st_mtime_ns
    again = cache.frames(clip, (32, 16))
    assert path.stat().st_mtime_ns == mtime and np.array_equal(np.asarray(again), np.asarray(frames))
    assert abs(int(frames[3].mean()) - 60) <= 2  # frame 3 is grey level 60


def test_full_resolution_frames_come_from_the_sources_uncached(make_clip, tmp_path):
    clip = noise_clip(make_clip)
    cache = FrameCache(tmp_path / "cache", progress=False)
    full = cache.frames(clip, None)
    assert full.shape == (6, 48, 64, 3)
    assert np.array_equal(full[4], cv2.cvtColor(cv2.imread(str(clip.frames[4])), cv2.COLOR_BGR2RGB))
    assert not (tmp_path / "cache").exists()


def test_changed_frame_invalidates_and_stale_entry_is_removed(make_clip, tmp_path):
    clip_dir = make_clip(n=4, size=(64, 48))
    cache = FrameCache(tmp_path / "cache", progress=False)
    old = cache.path_for(load_clip(clip_dir), (32, 24))
    cache.frames(load_clip(clip_dir), (32, 24))
    time.sleep(0.01)
    cv2.imwrite(str(clip_dir / "0002.jpg"), np.full((48, 64, 3), 250, np.uint8))
    clip = load_clip(clip_dir)
    frames = cache.frames(clip, (32, 24))
    assert cache.path_for(clip, (32, 24)) != old and not old.exists()
    assert frames[2].mean() > 240


def test_corrupt_cache_file_is_rebuilt(make_clip, tmp_path):
    clip = load_clip(make_clip(n=4))
    cache = FrameCache(tmp_path / "cache", progress=False)
    path = cache.path_for(clip, (32, 24))
    cache.frames(clip, (32, 24))
    path.write_bytes(path.read_bytes()[:100])  # truncated
    assert cache.frames(clip, (32, 24))[3].shape == (24, 32, 3)


def test_failed_write_leaves_nothing_behind(make_clip, tmp_path):
    clip_dir = make_clip(n=5)
    clip = load_clip(clip_dir)
    (clip_dir / "0003.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    cache = FrameCache(tmp_path / "cache", progress=False)
    with pytest.raises(DataError, match="0003.jpg"):
        cache.frames(clip, (32, 24))
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*")), os.listdir(tmp_path / "cache")
    with pytest.raises(DataError, match="0003.jpg"):
        source_frames(clip)[3]


def test_a_killed_writers_temp_file_is_swept_and_a_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".full-abc.npy.{int(dead.stdout)}.tmp"
    live = tmp_path / f".full-abc.npy.{os.getpid()}.tmp"
    stale.write_bytes(b"x" * 100)
    live.write_bytes(b"x" * 100)
    assert sweep_dead_temps(tmp_path) == [stale]
    assert not stale.exists() and live.exists()


def test_stored_refine_crops_equal_crops_cut_from_the_frames(make_clip, tmp_path):
    clip = noise_clip(make_clip, n=8, size=(96, 64))
    spec = CropSpec(crop=16, context=2)
    mined = [np.random.default_rng(1).uniform([0, 0], [96, 64], (8, 3, 2))]
    samples = RefineSamples([clip], mined, spec, tmp_path / "crops", transform=None, jitter=6.0, seed=3)
    frames = source_frames(clip)
    kinds = set()
    for item in range(40):
        sample = samples[item]
        t = int(sample["index"][1])
        expected = crop_stack(frames, t, sample["origin"].numpy(), spec.crop, spec.context)
        got = (sample["crops"].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        assert np.array_equal(got, expected), item
        if bool(sample["ball"]):
            ball = clip.labels.xy[t]
            assert np.allclose(sample["xy"].numpy(), ball - sample["origin"].numpy())
        kinds.add(bool(sample["ball"]))
    assert kinds == {True, False}
    assert (samples.positives[:, 2] == KIND_POSITIVE).any()
    again = RefineSamples([clip], mined, spec, tmp_path / "crops", transform=None, jitter=6.0, seed=3)
    assert all(np.array_equal(again[i]["crops"], samples[i]["crops"]) for i in range(10))  # read back, same


def test_stored_crops_train_with_augmentation(make_clip, tmp_path):
    clip = noise_clip(make_clip, n=6, size=(96, 64))
    mined = [np.full((6, 2, 2), 40.0)]
    samples = RefineSamples([clip], mined, CropSpec(crop=16, context=1), tmp_path / "crops",
                            transform=stack_transform("train"), jitter=6.0)
    batch = [samples[i] for i in range(8)]
    assert all(s["crops"].shape == (3, 3, 16, 16) for s in batch)
    assert len({float(s["crops"].sum()) for s in batch}) > 1  # drawn and augmented differently
