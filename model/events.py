"""EventNet: per-frame hit / bounce logits from a ball track's features (``data_prep.events.features``).

A small temporal convolutional net: an input projection, residual blocks of dilated 1D convolutions (dilations
1, 2, 4, 8, ...: the receptive field spans about a second each side at 30 fps, the flight before and after an
event), and a per-frame 3-class head (none, hit, bounce). Non-causal: the track is decided after the fact.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class EventNetArgs:
    features: int = 7  # input channels per frame
    width: int = 64  # channels of the residual blocks
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16])  # one residual block each
    kernel: int = 3
    dropout: float = 0.1
    classes: int = 3  # none, hit, bounce


class _Block(nn.Module):
    def __init__(self, width: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.body = nn.Sequential(
            nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation), nn.GroupNorm(8, width), nn.GELU(),
            nn.Dropout(dropout), nn.Conv1d(width, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class EventNet(nn.Module):
    """Dilated residual 1D conv net over time; build with :func:`build_events`."""

    def __init__(self, *, args: EventNetArgs = EventNetArgs()):
        super().__init__()
        self.args = args
        self.stem = nn.Conv1d(args.features, args.width, 5, padding=2)
        self.blocks = nn.Sequential(*[_Block(args.width, args.kernel, d, args.dropout) for d in args.dilations])
        self.head = nn.Conv1d(args.width, args.classes, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features: (B, F, T) -> logits (B, classes, T)."""
        return self.head(self.blocks(self.stem(features)))


def build_events(model_args: dict) -> EventNet:
    """From a checkpoint's ``model_args``."""
    args = {**model_args, "dilations": list(model_args.get("dilations", EventNetArgs().dilations))}
    return EventNet(args=EventNetArgs(**args))
