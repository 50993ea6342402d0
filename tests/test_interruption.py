"""Faults: a training run killed with SIGKILL resumes to the uninterrupted result; mixed frame sizes and a full disk
give clear errors and leave nothing half-written."""
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import train
from data_prep.clips import DataError, load_clip
from data_prep.frame_cache import FrameCache
from model.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]


def tiny_args(data, cache, out, epochs=3):
    return ["--stage", "proposal", "--data", str(data), "--games", "1", "2", "--val-games", "3", "--width", "160",
            "--height", "96", "--crop-width", "96", "--crop-height", "64", "--steps-per-epoch", "3",
            "--batch-size", "4", "--warmup-steps", "2", "--wandb", "off", "--epochs", str(epochs),
            "--cache", str(cache), "--out", str(out)]


def test_sigkill_then_resume_matches_an_uninterrupted_run(ball_data, tmp_path):
    cache = tmp_path / "cache"
    train.main(tiny_args(ball_data, cache, tmp_path / "straight"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "train.py", *tiny_args(ball_data, cache, tmp_path / "killed")],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = tmp_path / "killed" / "last.pt"
    deadline = time.time() + 120
    while not last.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # wherever it is: mid-epoch, mid-validation or mid-save
    process.wait()
    if not last.exists():
        pytest.skip("the run finished or never checkpointed before the kill")
    train.main(["--stage", "proposal", "--resume", str(tmp_path / "killed")])
    a, b = load_checkpoint(tmp_path / "straight" / "last.pt"), load_checkpoint(last)
    assert a["epoch"] == b["epoch"] == 2 and a["step"] == b["step"]
    for name, tensor in a["model"].items():
        torch.testing.assert_close(tensor, b["model"][name], msg=name)
    assert not list((tmp_path / "killed").glob(".*.tmp"))


def test_frames_of_mixed_sizes_are_refused(make_clip, tmp_path):
    clip_dir = make_clip(n=4, size=(64, 48))
    cv2.imwrite(str(clip_dir / "0002.jpg"), np.zeros((50, 64, 3), np.uint8))
    with pytest.raises(DataError, match=r"0002.jpg: frame is 64x50, the clip's first frame is 64x48"):
        FrameCache(tmp_path / "cache", progress=False).frames(load_clip(clip_dir), None)


def test_disk_full_while_caching_leaves_no_partial_file(make_clip, tmp_path, monkeypatch):
    clip = load_clip(make_clip(n=4))
    cache = FrameCache(tmp_path / "cache", progress=False)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        cache.frames(clip, None)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
