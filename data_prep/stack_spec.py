"""How proposal inputs are laid out: the stack spec and the stacks that cover a clip (numpy only, no torch, so the
ONNX runtime shares them)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StackSpec:
    """How proposal inputs are built from clips."""

    frames: int = 3
    width: int = 512
    height: int = 288

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def clip_stacks(n_frames: int, stack: int) -> list[int]:
    """First frames of stacks covering frames 0..n-1 once each; the last stack is shifted back to fit."""
    assert n_frames >= stack, f"clip of {n_frames} frames is shorter than the stack of {stack}"
    starts = list(range(0, n_frames - stack + 1, stack))
    if starts[-1] + stack < n_frames:
        starts.append(n_frames - stack)
    return starts
