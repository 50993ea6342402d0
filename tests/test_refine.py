"""Stage 2: shape contracts, crops at image borders, stack augmentation consistency, learning on a tiny batch."""
import numpy as np
import pytest
import torch

from data_prep.augment import augment_stack, stack_transform
from data_prep.crops import crop_origin, crop_stack
from model.refine import RefineLoss, RefineNet


def test_shapes_and_finite():
    net = RefineNet(frames=5, crop=32, patch=8, dim=64, depth=2, heads=4)
    out = net(torch.rand(3, 5, 3, 32, 32))
    assert out["logit"].shape == (3,) and out["xy"].shape == (3, 2) and out["code"].shape == (3, 3)
    assert all(torch.isfinite(v).all() for v in out.values())
    assert ((out["xy"] >= -8) & (out["xy"] <= 40)).all()
    with pytest.raises(AssertionError, match="expected"):
        net(torch.rand(3, 4, 3, 32, 32))


def test_crops_map_pixels_exactly_and_pad_at_borders():
    frames = np.random.default_rng(0).integers(0, 255, (6, 40, 60, 3), dtype=np.uint8)
    origin = crop_origin(np.array([2.2, 37.6]), 16)  # near the bottom-left corner
    assert origin.tolist() == [-5, 30]  # round(2.2 - 7.5), round(37.6 - 7.5)
    stack = crop_stack(frames, 0, origin, 16, 2)
    assert stack.shape == (5, 16, 16, 3)
    # frames -2 and -1 do not exist: the first frame is repeated
    assert np.array_equal(stack[0], stack[2]) and np.array_equal(stack[1], stack[2])
    np.testing.assert_array_equal(stack[2, 0:10, 5:16], frames[0, 30:40, 0:11])  # inside the image: exact copy
    assert (stack[2, :, :5] == 0).all() and (stack[2, 10:] == 0).all()  # outside: zero padding
    assert np.array_equal(crop_stack(frames, 5, origin, 16, 2)[4], crop_stack(frames, 5, origin, 16, 2)[2])
    assert (crop_stack(frames, 0, np.array([100, 100]), 16, 1) == 0).all()  # entirely outside


def test_augmentation_moves_every_frame_and_the_ball_together():
    rng = np.random.default_rng(1)
    base = rng.integers(30, 90, (48, 48, 3), dtype=np.uint8)
    frames = np.stack([base.copy() for _ in range(5)])
    frames[:, 20:23, 30:33] = 255  # the ball at (31, 21) in every frame
    xy, present = np.tile([31.0, 21.0], (5, 1)), np.ones(5, bool)
    transform = stack_transform("train")
    for seed in range(8):
        out, out_xy, out_present = augment_stack(transform, frames, xy, present, seed)
        assert all(np.array_equal(out[0], out[i]) for i in range(1, 5)), "one draw for the whole stack"
        assert np.allclose(out_xy, out_xy[0]) and out_present.all() == out_present[0]
        if out_present[0]:
            gray = out[0].astype(float).mean(-1)
            y, x = np.unravel_index(np.argmax(gray), gray.shape)
            assert np.hypot(x - out_xy[0, 0], y - out_xy[0, 1]) <= 2.5
    again = augment_stack(transform, frames, xy, present, 3)[0]
    assert np.array_equal(again, augment_stack(transform, frames, xy, present, 3)[0]), "seeded: reproducible"
    with pytest.raises(ValueError, match="unknown split"):
        stack_transform("training")


def test_a_few_steps_lower_the_loss():
    torch.manual_seed(0)
    net, criterion = RefineNet(frames=5, crop=32, dim=64, depth=2, heads=4), RefineLoss()
    crops = torch.rand(8, 5, 3, 32, 32) * 0.3
    target_xy = torch.tensor([[10.0, 12.0], [20.0, 8.0], [16.0, 16.0], [25.0, 22.0]] * 2)
    ball = torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 0])
    for i in range(4):
        x, y = target_xy[i].long()
        crops[i, 2, :, y - 1:y + 2, x - 1:x + 2] = 1.0
    targets = {"ball": ball, "xy": target_xy, "code": torch.zeros(8, dtype=torch.long)}
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3)
    losses = []
    for _ in range(30):
        loss = criterion(net(crops), targets)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
