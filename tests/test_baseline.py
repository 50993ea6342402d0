"""The assignment's baseline UNet: shapes, loss, mask decoding, gap interpolation, training and evaluation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from data_prep.tracks import interpolate_gaps
from model.baseline_unet import (
    BaselineUNet,
    gaussian_masks,
    iou_loss,
    mask_to_positions,
)
from tracking.baseline import BaselineTracker


def test_unet_takes_fifteen_channels_and_returns_a_full_resolution_mask():
    model = BaselineUNet(frames=5)
    assert model.down[0][0].in_channels == 15
    assert [block[0].out_channels for block in model.down] + [model.bottleneck[0].out_channels] == [32, 64, 64, 128]
    out = model(torch.rand(2, 5, 3, 72, 128))
    assert out.shape == (2, 72, 128)
    with pytest.raises(AssertionError, match="multiples of 8"):
        model(torch.rand(1, 5, 3, 70, 128))


def test_gaussian_target_peaks_at_the_ball_and_is_empty_without_one():
    masks = gaussian_masks(torch.tensor([[30.0, 20.0], [5.0, 5.0]]), torch.tensor([True, False]), (40, 64), 2.5)
    assert masks[0, 20, 30] == pytest.approx(1.0)
    assert masks[0].argmax() == 20 * 64 + 30
    assert masks[1].abs().sum() == 0


def test_iou_loss_rewards_overlap_and_penalises_any_mass_without_a_ball():
    disk = (gaussian_masks(torch.tensor([[30.0, 20.0]]), torch.tensor([True]), (40, 64), 2.5) > 0.5).float()
    exact, empty = (disk * 2 - 1) * 12, torch.full_like(disk, -12.0)
    shifted = torch.roll(exact, shifts=2, dims=-1)  # overlaps the ball only partly
    assert iou_loss(exact, disk) < 0.01 < iou_loss(shifted, disk) < 0.9 < iou_loss(empty, disk)
    nothing = torch.zeros_like(disk)
    assert iou_loss(empty, nothing) < 0.05 < 0.9 < iou_loss(exact, nothing)


def test_row_and_column_sums_find_the_ball_and_threshold_calls_absence():
    masks = np.zeros((3, 40, 64))
    masks[0, 18:23, 28:33] = 0.9
    masks[0, 20, 30] = 1.0
    masks[1, 5, 5] = 0.2  # below the threshold: no ball
    masks[2, 39, 63] = 0.8  # a corner
    present, xy = mask_to_positions(masks, 0.5)
    assert present.tolist() == [True, False, True]
    assert xy.tolist() == [[30.0, 20.0], [-1.0, -1.0], [63.0, 39.0]]


def test_short_gaps_are_interpolated_and_long_ones_are_left():
    present = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 1], bool)
    xy = np.where(present[:, None], np.arange(10.0)[:, None] * [2.0, 1.0], -1.0)
    filled, filled_xy = interpolate_gaps(present, xy, max_gap=4)
    assert filled.tolist() == [True] * 4 + [False] * 5 + [True]
    np.testing.assert_allclose(filled_xy[1:3], [[2.0, 1.0], [4.0, 2.0]])
    assert (filled_xy[4:9] == -1).all()


class PeakNet(torch.nn.Module):
    """Stands in for a trained UNet: a mask with one confident pixel at (x, y) of its input."""

    frames = 5

    def __init__(self, x: int, y: int):
        super().__init__()
        self.x, self.y = x, y

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        logits = torch.full((frames.shape[0], *frames.shape[-2:]), -9.0)
        logits[:, self.y, self.x] = 9.0
        return logits


def test_tracker_streams_one_mask_per_frame_and_maps_positions_to_the_input_size():
    tracker = BaselineTracker(PeakNet(x=40, y=10), size=(64, 32), batch=3)
    frames = (np.zeros((64, 128, 3), np.uint8) for _ in range(7))  # twice the network's input size
    out = tracker.track_frames(frames)
    assert len(out.track) == 7 and (out.track.codes == 1).all()
    np.testing.assert_allclose(out.track.xy, np.tile([[80.5, 20.5]], (7, 1)))  # pixel centres scale as OpenCV's


def test_baseline_trains_with_train_py_and_evaluates_with_evaluate_py(ball_data, tmp_path, capsys):
    import evaluate
    import train
    from tracking.tracker import Tracker

    out = tmp_path / "baseline"
    common = ["--data", str(ball_data), "--games", "1", "2", "--val-games", "3", "--steps-per-epoch", "3",
              "--batch-size", "2", "--warmup-steps", "1", "--wandb", "off", "--epochs", "2",
              "--cache", str(tmp_path / "cache"), "--width", "160", "--height", "96", "--crop-width", "96",
              "--crop-height", "64"]
    result = train.main(["--stage", "baseline", "--out", str(out)] + common)
    assert 0.0 <= result["score"] <= 1.0 and (out / "best.pt").is_file()
    tracker = Tracker.load(out / "best.pt")
    assert isinstance(tracker, BaselineTracker) and tracker.size == (160, 96)
    score = evaluate.main(["--data", str(ball_data), "--games", "3", "--weights", str(out / "best.pt"),
                           "--out", str(tmp_path / "eval")])
    assert 0.0 <= score <= 1.0
    assert f"SiBaTrAcc: {score:.4f}" in capsys.readouterr().out
