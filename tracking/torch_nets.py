"""PyTorch networks behind the numpy interface of :mod:`tracking.nets`, and the inference heads that
:mod:`tracking.export` writes to ONNX (the same modules, so both runtimes compute the same thing)."""
from __future__ import annotations

import numpy as np
import torch
from einops import rearrange
from torch import nn

from model.proposal import ProposalNet
from model.refine import RefineNet
from tracking.nets import NumpyNet


def frames_to_tensor(frames: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """(b, t, h, w, 3) uint8 RGB -> (b, t, 3, h, w) float in [0, 1] on ``device``."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    return rearrange(x, "b t h w c -> b t c h w").float() / 255


class ProposalInference(nn.Module):
    """stacks (b, t, h, w, 3) uint8 -> logits (b, t, h/4, w/4), offset (b, t, 2, h/4, w/4) float32."""

    def __init__(self, model: ProposalNet):
        super().__init__()
        self.model = model

    def forward(self, stacks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, offset = self.model(rearrange(stacks, "b t h w c -> b t c h w").float() / 255)
        return logits.float(), offset.float()


class RefineInference(nn.Module):
    """crops (b, t, P, P, 3) uint8 -> prob (b,), xy (b, 2) crop pixels, code (b,) int64 in 1..3."""

    def __init__(self, model: RefineNet):
        super().__init__()
        self.model = model

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.model(rearrange(crops, "b t h w c -> b t c h w").float() / 255)
        return out["logit"].float().sigmoid(), out["xy"].float(), out["code"].argmax(-1) + 1


class TorchProposal(NumpyNet):
    """A proposal ``nn.Module`` as a numpy net (see :mod:`tracking.nets`)."""

    def __init__(self, model: ProposalNet, device: torch.device | str = "cpu"):
        self.head, self.device = ProposalInference(model), device
        self.frames, self.peak_radius = model.frames, model.args.peak_radius

    @torch.inference_mode()
    def __call__(self, stacks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, offset = self.head(torch.from_numpy(np.ascontiguousarray(stacks)).to(self.device))
        return logits.cpu().numpy(), offset.cpu().numpy()


class TorchRefiner(NumpyNet):
    """A refine ``nn.Module`` as a numpy net (see :mod:`tracking.nets`)."""

    def __init__(self, model: RefineNet, device: torch.device | str = "cpu"):
        self.head, self.device = RefineInference(model), device

    @torch.inference_mode()
    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        prob, xy, code = self.head(torch.from_numpy(np.ascontiguousarray(crops)).to(self.device))
        return prob.cpu().numpy(), xy.cpu().numpy(), code.cpu().numpy()
