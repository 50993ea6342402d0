"""Stage 2: a ViT-style temporal transformer over crops stacked in time around one candidate.

The crops come from the full-resolution frames t-k .. t+k, all at the candidate's position in frame t. A ball
shows up as something at the centre of frame t that is elsewhere (or nowhere) in the other frames, while a court
mark, a head or a white shoe stays put or moves like a body; the transformer attends across space and time to
tell them apart, and reads the ball's exact position off the centre frame.

Shapes (t = 2k + 1 frames, crop P x P, patch p, g = P / p, n = t * g * g tokens)::

    crops   (b, t, 3, P, P) float in [0, 1]
    tokens  (b, 1 + n, d)             class token + one token per patch per frame
    logit   (b,)                      ball / no ball at the centre frame
    xy      (b, 2)                    ball centre in crop pixels of the centre frame (pixel centres at integers)
    code    (b, 3)                    visibility code logits for codes 1, 2, 3
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from einops import rearrange, repeat
from einops.layers.torch import Rearrange
from timm.layers import trunc_normal_
from timm.models.vision_transformer import Block
from torch import nn


@dataclass(frozen=True)
class RefineNetArgs:
    frames: int = 5
    crop: int = 32
    patch: int = 8
    dim: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0


class RefineNet(nn.Module):
    """Ball / no-ball, sub-pixel position and visibility code of a candidate from its crop stack."""

    def __init__(self, *, frames: int = 5, crop: int = 32, patch: int = 8, dim: int = 128, depth: int = 4,
                 heads: int = 4, mlp_ratio: float = 2.0):
        super().__init__()
        assert crop % patch == 0, f"crop {crop} must be a multiple of patch {patch}"
        assert frames % 2 == 1, f"frames must be odd (t-k .. t+k), got {frames}"
        self.args = RefineNetArgs(frames, crop, patch, dim, depth, heads, mlp_ratio)
        grid = crop // patch
        self.grid, self.frames = grid, frames
        # RGB plus the frame minus the stack's mean: what moves stands out from what stays.
        self.patch_embed = nn.Sequential(
            Rearrange("b t c (gh p1) (gw p2) -> b t (gh gw) (p1 p2 c)", p1=patch, p2=patch),
            nn.LayerNorm(patch * patch * 6), nn.Linear(patch * patch * 6, dim), nn.LayerNorm(dim))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_space = nn.Parameter(torch.zeros(1, 1, grid * grid, dim))
        self.pos_time = nn.Parameter(torch.zeros(1, frames, 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp_ratio, qkv_bias=True) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.ball_head = nn.Linear(dim, 1)
        self.code_head = nn.Linear(dim, 3)
        # Per patch of the centre frame: a vote (logit) and where in that patch the ball is (dx, dy).
        self.point_head = nn.Linear(dim, 3)
        centres = (torch.arange(grid, dtype=torch.float32) * patch + (patch - 1) / 2)
        cy, cx = torch.meshgrid(centres, centres, indexing="ij")
        self.register_buffer("patch_centres", rearrange(torch.stack([cx, cy], -1), "gh gw two -> (gh gw) two"),
                             persistent=False)
        for p in (self.cls_token, self.pos_space, self.pos_time):
            trunc_normal_(p, std=0.02)

    def forward_features(self, crops: torch.Tensor) -> torch.Tensor:
        """crops (b, t, 3, P, P) -> tokens (b, 1 + t * g * g, d) after the transformer."""
        b, t, c, height, width = crops.shape
        assert (t, c, height, width) == (self.frames, 3, self.args.crop, self.args.crop), (
            f"expected (b, {self.frames}, 3, {self.args.crop}, {self.args.crop}), got {tuple(crops.shape)}")
        x = torch.cat([crops - 0.5, (crops - crops.mean(dim=1, keepdim=True)) * 2], dim=2)
        tokens = self.patch_embed(x) + self.pos_space + self.pos_time  # (b, t, g*g, d)
        tokens = torch.cat([repeat(self.cls_token, "1 1 d -> b 1 d", b=b),
                            rearrange(tokens, "b t n d -> b (t n) d")], dim=1)
        return self.norm(self.blocks(tokens))

    def forward_head(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        cls = tokens[:, 0]
        per_frame = rearrange(tokens[:, 1:], "b (t n) d -> b t n d", t=self.frames)
        centre = per_frame[:, self.frames // 2]  # (b, g*g, d)
        vote, delta = self.point_head(centre).split([1, 2], dim=-1)
        weights = vote.squeeze(-1).softmax(dim=-1)  # (b, g*g)
        points = self.patch_centres + torch.tanh(delta) * self.args.patch  # (b, g*g, 2)
        xy = torch.einsum("bn,bnc->bc", weights, points)
        return {"logit": self.ball_head(cls).squeeze(-1), "xy": xy, "code": self.code_head(cls)}

    def forward(self, crops: torch.Tensor) -> dict[str, torch.Tensor]:
        """crops (b, t, 3, P, P) in [0, 1] -> logit (b,), xy (b, 2) crop pixels, code (b, 3)."""
        return self.forward_head(self.forward_features(crops))


def build_refine(args: RefineNetArgs | dict) -> RefineNet:
    """Rebuild a :class:`RefineNet` from its args (a dataclass or the dict stored in a checkpoint)."""
    return RefineNet(**(args if isinstance(args, dict) else asdict(args)))


class RefineLoss(nn.Module):
    """BCE on ball / no ball; smooth-L1 on the position and CE on the code, both for real balls only.

    targets: ball (b,) float 0/1, xy (b, 2) crop pixels, code (b,) int in 0..2 (codes 1..3), weight (b,)
    """

    def __init__(self, offset_weight: float = 1.0, code_weight: float = 0.2):
        super().__init__()
        self.offset_weight, self.code_weight = offset_weight, code_weight

    def forward(self, out: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {k: v.float() for k, v in out.items()}  # the losses in full precision under autocast
        ball = targets["ball"]
        cls_loss = nn.functional.binary_cross_entropy_with_logits(out["logit"], ball)
        n_pos = ball.sum().clamp(min=1)
        xy_loss = (nn.functional.smooth_l1_loss(out["xy"], targets["xy"], reduction="none", beta=1.0).sum(-1)
                   * ball).sum() / n_pos
        code_loss = (nn.functional.cross_entropy(out["code"], targets["code"], reduction="none") * ball).sum() / n_pos
        return {"loss": cls_loss + self.offset_weight * xy_loss + self.code_weight * code_loss,
                "ball": cls_loss, "xy": xy_loss, "code": code_loss}
