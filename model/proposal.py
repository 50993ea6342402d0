"""Stage 1: a compact encoder-decoder over a short stack of low-resolution frames that proposes ball candidates.

Every frame of the stack gets its own heatmap in one pass (TrackNetV2's MIMO idea), so inference costs one forward
per T frames. The heatmap is at stride 4 of the input with a CenterNet-style sub-cell offset per frame, which keeps
the proposal accurate to a few full-resolution pixels at a quarter of the decoder cost of a stride-1 map.

Shapes (T frames, input H x W, heatmap h = H / 4, w = W / 4)::

    frames  (b, t, 3, H, W) float in [0, 1]
    logits  (b, t, h, w)              ball-centre heatmap logits
    offset  (b, t, 2, h, w)           sub-cell (dx, dy) of the centre within its cell, in cells
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

STRIDE = 4


@dataclass(frozen=True)
class ProposalNetArgs:
    """Everything needed to rebuild the network from a checkpoint."""

    frames: int = 3
    widths: tuple[int, ...] = (16, 32, 64, 96)  # stem (stride 2), then strides 4, 8, 16
    diffs: bool = True  # also feed |frame_t - frame_{t-1}|: motion without the network having to learn subtraction


def conv_bn(cin: int, cout: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class ProposalNet(nn.Module):
    """Heatmap + offset for each of ``frames`` stacked frames."""

    def __init__(self, *, frames: int = 3, widths: tuple[int, ...] = (16, 32, 64, 96), diffs: bool = True):
        super().__init__()
        assert len(widths) == 4, "widths are (stem, stride 4, stride 8, stride 16)"
        self.args = ProposalNetArgs(frames, tuple(widths), diffs)
        self.frames = frames
        c0, c1, c2, c3 = widths
        cin = 3 * frames + (frames - 1 if diffs else 0)
        self.stem = conv_bn(cin, c0, stride=2)
        self.enc1 = nn.Sequential(conv_bn(c0, c1, stride=2), conv_bn(c1, c1))
        self.enc2 = nn.Sequential(conv_bn(c1, c2, stride=2), conv_bn(c2, c2))
        self.enc3 = nn.Sequential(conv_bn(c2, c3, stride=2), conv_bn(c3, c3), conv_bn(c3, c3))
        self.lat2 = conv_bn(c3, c2, kernel=1)
        self.dec2 = conv_bn(c2, c2)
        self.lat1 = conv_bn(c2, c1, kernel=1)
        self.dec1 = nn.Sequential(conv_bn(c1, c1), conv_bn(c1, c1))
        self.heat = nn.Conv2d(c1, frames, 1)
        self.offset = nn.Conv2d(c1, 2 * frames, 1)
        # Start the heatmap near the ball prior (a ball is one cell in ~10^4) so early focal loss is sane.
        nn.init.constant_(self.heat.bias, -4.6)

    def forward_features(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (b, t, 3, H, W) in [0, 1] -> features (b, c1, H/4, W/4)."""
        b, t, c, height, width = frames.shape
        assert t == self.frames and c == 3, f"expected (b, {self.frames}, 3, H, W), got {tuple(frames.shape)}"
        assert height % 16 == 0 and width % 16 == 0, f"H and W must be multiples of 16, got {height}x{width}"
        x = frames - 0.5
        parts = [rearrange(x, "b t c h w -> b (t c) h w")]
        if self.args.diffs:
            gray = frames.mean(dim=2)  # (b, t, H, W)
            parts.append((gray[:, 1:] - gray[:, :-1]).abs() * 4)
        x = self.stem(torch.cat(parts, dim=1))
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(e2 + F.interpolate(self.lat2(e3), scale_factor=2, mode="nearest"))
        return self.dec1(e1 + F.interpolate(self.lat1(d2), scale_factor=2, mode="nearest"))

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """frames (b, t, 3, H, W) -> logits (b, t, H/4, W/4), offset (b, t, 2, H/4, W/4) in cells."""
        features = self.forward_features(frames)
        offset = rearrange(self.offset(features).sigmoid(), "b (t two) h w -> b t two h w", two=2)
        return self.heat(features), offset


def build_proposal(args: ProposalNetArgs | dict) -> ProposalNet:
    """Rebuild a :class:`ProposalNet` from its args (a dataclass or the dict stored in a checkpoint)."""
    if isinstance(args, dict):
        args = ProposalNetArgs(**{**args, "widths": tuple(args["widths"])})
    return ProposalNet(frames=args.frames, widths=args.widths, diffs=args.diffs)


@torch.no_grad()
def extract_candidates(logits: torch.Tensor, offset: torch.Tensor, k: int, nms_kernel: int = 3
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` local maxima per heatmap with sub-cell positions.

    logits (n, h, w), offset (n, 2, h, w) -> xy (n, k, 2) in input pixels, score (n, k) in [0, 1].
    Cell (row, col) with offset (dx, dy) is the point (col + dx, row + dy) in cell units. A peak is a cell equal
    to the max of its ``nms_kernel`` neighbourhood (CenterNet's max-pool NMS).
    """
    n, h, w = logits.shape
    prob = logits.sigmoid()
    pooled = F.max_pool2d(prob[:, None], nms_kernel, stride=1, padding=nms_kernel // 2)[:, 0]
    peaks = torch.where(prob == pooled, prob, torch.zeros_like(prob))
    score, index = rearrange(peaks, "n h w -> n (h w)").topk(min(k, h * w), dim=1)
    row, col = index // w, index % w
    flat_offset = rearrange(offset, "n two h w -> n (h w) two")
    sub = torch.gather(flat_offset, 1, index[..., None].expand(-1, -1, 2))  # (n, k, 2) as (dx, dy) in [0, 1]
    return cells_to_pixels(torch.stack([col, row], dim=-1).float() + sub), score


def pixels_to_cells(xy: torch.Tensor) -> torch.Tensor:
    """Input-pixel coordinates (pixel centres at integers) to continuous heatmap-cell coordinates.

    Cell j covers input pixels 4j .. 4j+3, so its left edge is at pixel 4j - 0.5.
    """
    return (xy + 0.5) / STRIDE


def cells_to_pixels(uv: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pixels_to_cells`."""
    return uv * STRIDE - 0.5


class ProposalLoss(nn.Module):
    """Heatmap loss (CenterNet focal, or TrackNetV2's weighted BCE) plus L1 on the sub-cell offset at the ball.

    logits (b, t, h, w), offset (b, t, 2, h, w); targets from ``data_prep.stacks.heatmap_targets``:
    heat (b, t, h, w), offset (b, t, 2), cell (b, t, 2) as (col, row), has_ball (b, t), weight (b, t).
    """

    def __init__(self, kind: str = "focal", offset_weight: float = 1.0):
        super().__init__()
        assert kind in ("focal", "wbce"), f"loss kind must be 'focal' or 'wbce', got {kind!r}"
        self.kind, self.offset_weight = kind, offset_weight

    def forward(self, logits: torch.Tensor, offset: torch.Tensor, targets: dict[str, torch.Tensor]
                ) -> dict[str, torch.Tensor]:
        heat, has_ball = targets["heat"], targets["has_ball"]
        weight = torch.where(has_ball, targets["weight"], torch.ones_like(targets["weight"]))[..., None, None]
        prob = logits.sigmoid().clamp(1e-4, 1 - 1e-4)
        num_pos = has_ball.sum().clamp(min=1)
        if self.kind == "focal":
            pos = (heat >= 1.0).float()
            pos_loss = -torch.log(prob) * (1 - prob) ** 2 * pos * weight
            neg_loss = -torch.log(1 - prob) * prob ** 2 * (1 - heat) ** 4 * (1 - pos)
            heat_loss = (pos_loss.sum() + neg_loss.sum()) / num_pos
        else:
            # TrackNetV2: BCE where each term is weighted by the squared error of the other class.
            bce = -(heat * (1 - prob) ** 2 * torch.log(prob) + (1 - heat) * prob ** 2 * torch.log(1 - prob))
            heat_loss = (bce * weight).sum() / num_pos
        b, t = has_ball.shape
        h, w = logits.shape[-2:]
        col, row = targets["cell"][..., 0].clamp(0, w - 1), targets["cell"][..., 1].clamp(0, h - 1)
        flat = rearrange(offset, "b t two h w -> b t (h w) two")
        at_ball = torch.gather(flat, 2, (row * w + col)[..., None, None].expand(b, t, 1, 2))[:, :, 0]  # (b, t, 2)
        offset_loss = ((at_ball - targets["offset"]).abs().sum(-1) * has_ball).sum() / num_pos
        return {"loss": heat_loss + self.offset_weight * offset_loss, "heat": heat_loss, "offset": offset_loss}
