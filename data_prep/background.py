"""The static scene behind the ball: a per-pixel median over frames around each segment of a clip.

Frame differences show a ball only while it moves. At the top of a toss, or in the server's hand, a far ball
hardly moves for several frames, and against a pale advertising board it is a faint 1-2 px dot: a network that
leans on motion loses it (the "ball at its apex" failure). The median of frames spread over a few seconds is the
scene without anything that moves through it (TrackNetV3's background input), so a frame minus it shows the ball
wherever the ball does not stay put for most of the window, still or not.

A clip is cut into segments of ``segment`` frames; the background of segment k is the median of ``samples``
frames evenly spread over segments k-1 .. k+1 (what a streaming tracker holds anyway: the previous chunk, the
current one and the look-ahead). A camera that pans or zooms blurs the median; the network also learns with a
background that does not fit (``data_prep.stacks``), so it trusts the difference only where it looks right.

Shapes::

    frames       (n, H, W, 3) uint8, any array-like (a memory map, a list of frames)
    backgrounds  (ceil(n / segment), H, W, 3) uint8
"""
from __future__ import annotations

import numpy as np
import torch

SEGMENT = 48  # frames per background: also the tracker's default chunk
SAMPLES = 16  # frames in each median


def median_background(frames, samples: int = SAMPLES) -> np.ndarray:
    """(H, W, 3) uint8 per-pixel median of ``samples`` frames evenly spread over ``frames`` (all of them if fewer)."""
    indices = np.unique(np.linspace(0, len(frames) - 1, samples).round().astype(int))
    stack = torch.from_numpy(np.stack([np.asarray(frames[i]) for i in indices]))
    return stack.median(dim=0).values.numpy()  # ~1.5x faster than numpy's median here


def segment_backgrounds(frames, segment: int = SEGMENT, samples: int = SAMPLES) -> np.ndarray:
    """The background of each segment of ``segment`` frames: median over the segment and its two neighbours."""
    n = len(frames)
    assert n > 0, "no frames to take a background from"
    return np.stack([median_background(frames[max(0, (k - 1) * segment):(k + 2) * segment], samples)
                     for k in range(-(-n // segment))])


def background_index(first: int, frames: int, segment: int = SEGMENT) -> int:
    """Which segment's background a stack of ``frames`` beginning at frame ``first`` uses: its middle frame's."""
    return (first + frames // 2) // segment
