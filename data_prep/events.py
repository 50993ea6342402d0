"""Moments of a ball's flight that a detector finds hard, read from the labels alone: hits, bounces, and the ball
appearing or disappearing.

At a hit the ball leaves the racket slowly, in front of the player's body, for several frames; at a bounce it
changes direction over the court lines; where it appears or vanishes there is half a motion cue. These moments
are a small share of a clip's frames, so a sampler that draws every stack equally sees them rarely. The labels
say where they are, on any footage: a hit or a bounce is a jump in the ball's acceleration (its second difference),
judged against the clip's own typical acceleration so that the jitter of hand labels (badminton's is ~5x the
synthetic set's) does not make every frame an event.

Shapes: codes (n,) int, xy (n, 2) float full-resolution pixels -> (n,) bool per frame.
"""
from __future__ import annotations

import numpy as np


def flight_events(codes: np.ndarray, xy: np.ndarray, factor: float = 4.0, floor_px: float = 2.0) -> np.ndarray:
    """Frames where the ball's acceleration exceeds ``factor`` times the clip's median (and ``floor_px``), or the
    ball appears or disappears (a change between code 0 and a present code)."""
    present = np.asarray(codes) > 0
    events = np.zeros(len(present), bool)
    events[1:] |= present[1:] != present[:-1]
    if len(present) < 3:
        return events
    steady = present[:-2] & present[1:-1] & present[2:]  # the middle frame's second difference is defined
    accel = np.linalg.norm(xy[2:] - 2 * xy[1:-1] + xy[:-2], axis=1)
    accel = np.where(steady, accel, np.nan)
    if np.isnan(accel).all():
        return events
    threshold = max(factor * float(np.nanmedian(accel)), floor_px)
    events[1:-1] |= np.nan_to_num(accel, nan=0.0) > threshold
    return events


def near_events(events: np.ndarray, window: int) -> np.ndarray:
    """(n,) bool: frames within ``window`` frames of an event."""
    if window <= 0 or not events.any():
        return events.copy()
    kernel = np.ones(2 * window + 1)
    return np.convolve(events.astype(float), kernel, mode="same") > 0
