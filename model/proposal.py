"""Stage 1: a compact encoder-decoder over a short stack of low-resolution frames that proposes ball candidates.

Every frame of the stack gets its own heatmap in one pass (TrackNetV2's MIMO idea), so inference costs one forward
per T frames. The heatmap is at stride 4 of the input with a CenterNet-style sub-cell offset per frame, which keeps
the proposal accurate to a few full-resolution pixels at a quarter of the decoder cost of a stride-1 map.

Besides the colour frames the net sees the differences of consecutive frames, signed: a moving ball leaves a
positive blob where it arrived and a negative one where it left, so each frame's heatmap can tell its own ball
from its neighbours'. Absolute differences (weights before 1c15148, no longer built) show two equal blobs and
confused far, slow balls with their position one or two frames away.

The offset is trained not only at the ball's cell but at every cell within ``offset_reach`` cells of it, each
pointing at the ball centre (FCOS-style centre sampling). The focal loss barely penalises a peak one cell off the
ball (its target there is exp(-1/2)), so a peak often lands on a neighbour; with an offset trained only at the
ball's own cell that neighbour then reports a position 8-15 full-resolution pixels off, which SiBaTrAcc and recall
at 8 px count as wrong. A neighbour trained to point at the ball recovers it.

Shapes (T frames, input H x W, heatmap h = H / 4, w = W / 4)::

    frames  (b, t, 3, H, W) float in [0, 1]
    logits  (b, t, h, w)              ball-centre heatmap logits
    offset  (b, t, 2, h, w)           (dx, dy) of the centre from the cell's top-left corner, in cells,
                                      within [-reach, 1 + reach]
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from model.checkpoint import CheckpointError
from model.peaks import STRIDE, cells_to_pixels, pixels_to_cells  # noqa: F401 (their home before)


@dataclass(frozen=True)
class ProposalNetArgs:
    """Everything needed to rebuild the network from a checkpoint and to read its output."""

    # The defaults are the shipped network's (weights/tracker.pt).
    frames: int = 3
    widths: tuple[int, ...] = (16, 32, 64, 96)  # stem (stride 2), then strides 4, 8, 16
    diffs: bool = True  # also feed frame_t - frame_{t-1} (signed): motion without learning subtraction
    offset_reach: int = 1  # cells around the ball whose offset points at it; 0 = its own cell only
    # Candidates: no two within this many cells, after their sub-cell offsets (0 = CenterNet's 3x3 max-pool on the
    # cell grid); see :func:`model.peaks.extract_candidates`.
    peak_radius: float = 1.0


# What checkpoints from before a field existed were built with (their model_args lack it): 1c15148 added
# offset_reach, 5ea9b51 peak_radius.
EARLIER_ARGS = {"offset_reach": 0, "peak_radius": 0.0}


def conv_bn(cin: int, cout: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class ProposalNet(nn.Module):
    """Heatmap + offset for each of ``frames`` stacked frames."""

    def __init__(self, *, frames: int = 3, widths: tuple[int, ...] = (16, 32, 64, 96), diffs: bool = True,
                 offset_reach: int = 1, peak_radius: float = 1.0):
        super().__init__()
        assert len(widths) == 4, "widths are (stem, stride 4, stride 8, stride 16)"
        self.args = ProposalNetArgs(frames, tuple(widths), diffs, offset_reach, peak_radius)
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

    def input_channels(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (b, t, 3, H, W) in [0, 1] -> (b, 3t [+ t - 1], H, W): centred colour, then the frame differences.

        Built channels-last (a permuted view of (b, H, W, c)): the CPU convolutions want that layout, and converting
        a contiguous input cost a copy in the forward and another in the backward pass (~12% of a training step).
        """
        parts = [rearrange(frames, "b t c h w -> b h w (t c)") - 0.5]
        if self.args.diffs:
            gray = frames.mean(dim=2)  # (b, t, H, W)
            diff = gray[:, 1:] - gray[:, :-1]
            parts.append(rearrange(diff * 4, "b t h w -> b h w t"))
        return rearrange(torch.cat(parts, dim=-1), "b h w c -> b c h w")

    def forward_features(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (b, t, 3, H, W) in [0, 1] -> features (b, c1, H/4, W/4)."""
        b, t, c, height, width = frames.shape
        assert t == self.frames and c == 3, f"expected (b, {self.frames}, 3, H, W), got {tuple(frames.shape)}"
        assert height % 16 == 0 and width % 16 == 0, f"H and W must be multiples of 16, got {height}x{width}"
        x = self.input_channels(frames)
        e1 = self.enc1(self.stem(x))
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(e2 + F.interpolate(self.lat2(e3), scale_factor=2, mode="nearest"))
        return self.dec1(e1 + F.interpolate(self.lat1(d2), scale_factor=2, mode="nearest"))

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """frames (b, t, 3, H, W) -> logits (b, t, H/4, W/4), offset (b, t, 2, H/4, W/4) in cells."""
        features = self.forward_features(frames)
        reach = self.args.offset_reach
        offset = self.offset(features).sigmoid() * (1 + 2 * reach) - reach
        offset = rearrange(offset, "b (t two) h w -> b t two h w", two=2)
        return self.heat(features), offset


def build_proposal(args: ProposalNetArgs | dict) -> ProposalNet:
    """Rebuild a :class:`ProposalNet` from its args (a dataclass or the dict stored in a checkpoint)."""
    if isinstance(args, dict):
        # Checkpoints from before the compact encoder became the only one record backbone="compact". Networks fed
        # |frame differences| (before 1c15148, whose args lack offset_reach, or signed_diffs=False since) are built
        # only by that code; later checkpoints recorded signed_diffs=True, and those of today record nothing.
        assert args.get("backbone", "compact") == "compact", f"backbone {args['backbone']!r} is no longer supported"
        if args.get("diffs", True) and (args.get("signed_diffs") is False or "offset_reach" not in args):
            raise CheckpointError("a proposal network on absolute frame differences (before 1c15148) is no "
                                  "longer supported: use weights/tracker.pt, or that commit's code")
        kept = {**EARLIER_ARGS, **{name: value for name, value in args.items() if name not in ("backbone",
                                                                                               "signed_diffs")}}
        args = ProposalNetArgs(**{**kept, "widths": tuple(args["widths"])})
    return ProposalNet(**asdict(args))


class ProposalLoss(nn.Module):
    """CenterNet focal heatmap loss plus L1 on the offset to the ball centre, at the ball's cell and every cell
    within ``offset_reach`` of it (averaged over those inside the map).

    logits (b, t, h, w), offset (b, t, 2, h, w); targets from ``data_prep.stacks.heatmap_targets``:
    heat (b, t, h, w), offset (b, t, 2), cell (b, t, 2) as (col, row), has_ball (b, t), weight (b, t).
    """

    def __init__(self, offset_weight: float = 1.0, offset_reach: int = 1):
        super().__init__()
        self.offset_weight, self.offset_reach = offset_weight, offset_reach

    def forward(self, logits: torch.Tensor, offset: torch.Tensor, targets: dict[str, torch.Tensor]
                ) -> dict[str, torch.Tensor]:
        logits, offset = logits.float(), offset.float()  # under CPU autocast log() would run in bfloat16
        heat, has_ball = targets["heat"], targets["has_ball"]
        weight = torch.where(has_ball, targets["weight"], torch.ones_like(targets["weight"]))[..., None, None]
        prob = logits.sigmoid().clamp(1e-4, 1 - 1e-4)
        num_pos = has_ball.sum().clamp(min=1)
        pos = (heat >= 1.0).float()
        pos_loss = -torch.log(prob) * (1 - prob) ** 2 * pos * weight
        neg_loss = -torch.log(1 - prob) * prob ** 2 * (1 - heat) ** 4 * (1 - pos)
        heat_loss = (pos_loss.sum() + neg_loss.sum()) / num_pos
        h, w = logits.shape[-2:]
        steps = torch.arange(-self.offset_reach, self.offset_reach + 1, device=logits.device)
        shifts = torch.cartesian_prod(steps, steps).reshape(-1, 2)  # (m, 2) as (d col, d row)
        cells = targets["cell"][:, :, None] + shifts  # (b, t, m, 2) as (col, row)
        inside = (cells[..., 0] >= 0) & (cells[..., 0] < w) & (cells[..., 1] >= 0) & (cells[..., 1] < h)
        mask = (inside & has_ball[..., None]).float()  # (b, t, m)
        index = (cells[..., 1].clamp(0, h - 1) * w + cells[..., 0].clamp(0, w - 1))[..., None].expand(-1, -1, -1, 2)
        predicted = torch.gather(rearrange(offset, "b t two h w -> b t (h w) two"), 2, index)  # (b, t, m, 2)
        wanted = targets["offset"][:, :, None] - shifts  # the centre seen from each shifted cell
        per_ball = ((predicted - wanted).abs().sum(-1) * mask).sum(-1) / mask.sum(-1).clamp(min=1)  # (b, t)
        offset_loss = per_ball.sum() / num_pos
        return {"loss": heat_loss + self.offset_weight * offset_loss, "heat": heat_loss, "offset": offset_loss}
