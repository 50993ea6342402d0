"""Crop stacks for the refine stage: P x P windows of the full-resolution frames t-k .. t+k around a point of frame t.

Crops are cut at integer offsets (no resampling), so a crop pixel maps back to a frame pixel exactly:
``frame_xy = origin + crop_xy``. Windows that run past the image border are zero-padded; frames before the first
or after the last are the clip's edge frames repeated.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_prep.clips import Clip


def crop_origin(centre: np.ndarray, crop: int) -> np.ndarray:
    """Integer top-left corner of the P x P window whose centre pixel (P/2 - 0.5) is nearest ``centre``.

    centre (..., 2) float -> origin (..., 2) int64
    """
    return np.round(np.asarray(centre, np.float64) - (crop - 1) / 2).astype(np.int64)


def crop_stack(frames, t: int, origin: np.ndarray, crop: int, context: int) -> np.ndarray:
    """Crops of frames t-context .. t+context at the same window.

    frames: array-like (n, H, W, 3) uint8 (a memory map is fine: only the windows are read)
    origin: (2,) int top-left (x, y) -> (2 * context + 1, P, P, 3) uint8
    """
    n, height, width = len(frames), frames[0].shape[0], frames[0].shape[1]
    x0, y0 = int(origin[0]), int(origin[1])
    out = np.zeros((2 * context + 1, crop, crop, 3), np.uint8)
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + crop, width), min(y0 + crop, height)
    if fx0 >= fx1 or fy0 >= fy1:
        return out
    for i, s in enumerate(range(t - context, t + context + 1)):
        out[i, fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0] = frames[min(max(s, 0), n - 1)][fy0:fy1, fx0:fx1]
    return out


@dataclass(frozen=True)
class CropSpec:
    crop: int = 32
    context: int = 2

    @property
    def frames(self) -> int:
        return 2 * self.context + 1


MATCH_PX = 12.0  # a crop "holds the ball" when the ball is within this many px of its centre (training and validation)


def mined_path(folder: Path, clip: Clip, fingerprint: str) -> Path:
    """Where a clip's mined candidates are cached; the fingerprint tells apart clips of different data sets."""
    return Path(folder) / f"{clip.name}-{fingerprint}.npy"
