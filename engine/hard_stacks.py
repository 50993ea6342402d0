"""Online hard-example mining for stage 1: stacks whose loss was high are drawn more often.

Which moments are hard is not known in advance on real footage (a ball in front of a shirt of its own colour, over
a white line, leaving a racket slowly), but the training loss says so as it goes. Every drawn stack's heatmap loss
is remembered; adjacent stacks of a clip share frames and situations, so a stack takes the highest loss recorded
within ``window`` frames of it (the median of all recorded losses where none is). Its odds of being drawn are that
loss over the median, clipped to [1 / cap, cap].

Shapes: index (m, 2) as (clip, first frame), sorted by clip then frame, one row per stack of the training set.
"""
from __future__ import annotations

import numpy as np


class HardStacks:
    """Remembered losses of the training stacks and the drawing odds they give."""

    def __init__(self, index: np.ndarray, cap: float, window: int = 4):
        assert cap >= 1, f"cap must be >= 1, got {cap}"
        self.index, self.cap, self.window = np.asarray(index), cap, window
        self.loss = np.full(len(self.index), np.nan)

    def record(self, items: np.ndarray, losses: np.ndarray) -> None:
        """items (b,) rows of ``index``, losses (b,) their heatmap losses at this step."""
        self.loss[np.asarray(items)] = np.asarray(losses, np.float64)

    def odds(self) -> np.ndarray:
        """(m,) relative odds of drawing each stack; all 1 before any loss is recorded."""
        seen = ~np.isnan(self.loss)
        if not seen.any():
            return np.ones(len(self.loss))
        median = max(float(np.median(self.loss[seen])), 1e-12)
        nearby = np.full(len(self.loss), np.nan)
        clips = self.index[:, 0]
        filled = np.where(seen, self.loss, -np.inf)
        for shift in range(-self.window, self.window + 1):  # sliding max within a clip, in index order
            source = np.arange(len(filled)) + shift
            valid = (source >= 0) & (source < len(filled))
            source = np.clip(source, 0, len(filled) - 1)
            same = valid & (clips[source] == clips)
            nearby = np.fmax(nearby, np.where(same & np.isfinite(filled[source]), filled[source], np.nan))
        nearby = np.where(np.isnan(nearby), median, nearby)
        return np.clip(nearby / median, 1 / self.cap, self.cap)
