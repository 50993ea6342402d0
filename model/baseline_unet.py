"""The tennis tracking assignment's reference model, in PyTorch, as the baseline every claim is measured against.

A UNet over a stack of 5 frames at 640x360 (15 input channels), filters 32-64-64-128, three down and three up
blocks, a sigmoid mask of the ball in the stack's last frame, trained with a soft IoU loss against a Gaussian blob.
Positions come from the mask's row and column sums; a frame whose mask never passes the threshold has no ball, and
short gaps between detections are filled by linear interpolation (the assignment's ``postprocess_labels``).

Shapes (T frames, input H x W, a multiple of 8 each way)::

    frames  (b, t, 3, H, W) float in [0, 1]
    mask    (b, H, W)                  ball probability of the last frame, same resolution as the input
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


@dataclass(frozen=True)
class BaselineArgs:
    frames: int = 5
    widths: tuple[int, ...] = (32, 64, 64, 128)  # the three encoder levels and the bottleneck


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class BaselineUNet(nn.Module):
    def __init__(self, *, frames: int = 5, widths: tuple[int, ...] = (32, 64, 64, 128)):
        super().__init__()
        assert len(widths) == 4, "widths are the three encoder levels and the bottleneck"
        self.args = BaselineArgs(frames, tuple(widths))
        self.frames = frames
        c1, c2, c3, c4 = widths
        self.down = nn.ModuleList([double_conv(3 * frames, c1), double_conv(c1, c2), double_conv(c2, c3)])
        self.bottleneck = double_conv(c3, c4)
        self.up = nn.ModuleList([double_conv(c4 + c3, c3), double_conv(c3 + c2, c2), double_conv(c2 + c1, c1)])
        self.head = nn.Conv2d(c1, 1, 1)
        # Start near "no ball anywhere" rather than 0.5 everywhere, as our own heads do, so the short CPU budget is
        # not spent unlearning the initial mask.
        nn.init.constant_(self.head.bias, -4.0)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (b, t, 3, H, W) in [0, 1] -> mask logits (b, H, W) of the last frame."""
        b, t, c, height, width = frames.shape
        assert t == self.frames and c == 3, f"expected (b, {self.frames}, 3, H, W), got {tuple(frames.shape)}"
        assert height % 8 == 0 and width % 8 == 0, f"H and W must be multiples of 8, got {height}x{width}"
        x = rearrange(frames, "b t c h w -> b (t c) h w")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for block, skip in zip(self.up, reversed(skips)):
            x = block(torch.cat([F.interpolate(x, scale_factor=2, mode="nearest"), skip], dim=1))
        return self.head(x)[:, 0]


def build_baseline(args: BaselineArgs | dict) -> BaselineUNet:
    if isinstance(args, dict):
        args = BaselineArgs(**{**args, "widths": tuple(args["widths"])})
    return BaselineUNet(frames=args.frames, widths=args.widths)


def gaussian_masks(xy: torch.Tensor, present: torch.Tensor, shape: tuple[int, int], sigma: float) -> torch.Tensor:
    """Target masks: a Gaussian blob of peak 1 at each ball (the assignment's ``ball_gauss_template``).

    xy (b, 2) input pixels, present (b,) bool -> (b, h, w) float, all zero where there is no ball.
    """
    h, w = shape
    rows = torch.arange(h, dtype=xy.dtype, device=xy.device)[None, :, None]
    cols = torch.arange(w, dtype=xy.dtype, device=xy.device)[None, None, :]
    d2 = (cols - xy[:, 0, None, None]) ** 2 + (rows - xy[:, 1, None, None]) ** 2
    return torch.exp(-d2 / (2 * sigma ** 2)) * present[:, None, None]


def iou_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft IoU loss, mean over the batch: logits, target (b, h, w). An empty target pushes the mask to zero."""
    prob = logits.sigmoid()
    inter = (prob * target).flatten(1).sum(1)
    union = (prob + target).flatten(1).sum(1) - inter
    return (1 - (inter + eps) / (union + eps)).mean()


def mask_to_positions(mask: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Ball position of each mask from its row and column sums.

    mask (n, h, w) probabilities -> present (n,) bool, xy (n, 2) input pixels (-1 where absent). The column
    (row) whose sum of above-threshold probability is largest gives x (y).
    """
    kept = np.where(mask >= threshold, mask, 0.0)
    present = kept.reshape(len(mask), -1).max(axis=1, initial=0.0) > 0
    x = kept.sum(axis=1).argmax(axis=1)
    y = kept.sum(axis=2).argmax(axis=1)
    xy = np.stack([x, y], axis=1).astype(np.float64)
    return present, np.where(present[:, None], xy, -1.0)


