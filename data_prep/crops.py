"""Crop stacks for the refine stage: P x P windows of the full-resolution frames t-k .. t+k around a point of frame t.

Crops are cut at integer offsets (no resampling), so a crop pixel maps back to a frame pixel exactly:
``frame_xy = origin + crop_xy``. Windows that run past the image border are zero-padded; frames before the first
or after the last are the clip's edge frames repeated.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from torch.utils.data import Dataset

from data_prep.augment import augment_stack
from data_prep.clips import Clip
from data_prep.frame_cache import FrameCache


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


KIND_CANDIDATE, KIND_POSITIVE, KIND_RANDOM = 0, 1, 2
MATCH_PX = 12.0  # a crop "holds the ball" when the ball is within this many px of its centre (training and validation)


class RefineSamples(Dataset):
    """Crop stacks with ball / position / code targets.

    Every frame yields jittered positives around its ball (when present), the proposal's candidates (hard
    negatives unless they sit on the ball) and random background windows. Drawing is balanced: ``positive_share``
    of the items are positives. A crop is a positive exactly when the ball lies within ``MATCH_PX`` of its centre
    (after augmentation), whatever its kind: a candidate that close is a positive whose position target is the
    ball (the refiner learns to fix the proposal's error); one farther away is a negative even if the ball shows
    at the crop's edge.

    Item: crops (t, 3, P, P) float in [0, 1], ball () float, xy (2,) ball in crop pixels, code () int in 0..2,
    origin (2,) int, index (2,) = (clip, frame).
    """

    def __init__(self, clips: list[Clip], mined: list[np.ndarray], spec: CropSpec, cache: FrameCache,
                 transform=None, jitter: float = MATCH_PX, random_per_frame: float = 0.5,
                 positive_share: float = 0.5, seed: int = 0):
        """mined: per clip, (n, k, 2) candidate positions of every frame (full-res pixels)."""
        self.clips, self.spec, self.transform = clips, spec, transform
        assert jitter <= MATCH_PX, f"jittered positives must stay within MATCH_PX={MATCH_PX} of the ball"
        self.jitter, self.seed, self.epoch = jitter, seed, 0
        self.frames = [cache.frames(clip, None) for clip in clips]
        rng = np.random.default_rng(seed)
        positives, negatives = [], []
        for c, (clip, candidates) in enumerate(zip(clips, mined)):
            codes, xy = clip.labels.codes, clip.labels.xy
            for t in range(len(clip)):
                if codes[t] > 0:
                    positives.append((c, t, KIND_POSITIVE, *xy[t]))
                for cand in candidates[t]:
                    close = codes[t] > 0 and np.linalg.norm(cand - xy[t]) <= MATCH_PX
                    (positives if close else negatives).append((c, t, KIND_CANDIDATE, *cand))
                if rng.random() < random_per_frame:
                    w, h = clip.size
                    negatives.append((c, t, KIND_RANDOM, rng.uniform(0, w), rng.uniform(0, h)))
        assert positives and negatives, "refine training needs frames with and without a ball near the candidates"
        self.positives, self.negatives = np.array(positives), np.array(negatives)
        self.positive_share = positive_share

    def __len__(self) -> int:
        return len(self.positives) + len(self.negatives)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, item))
        pool = self.positives if rng.random() < self.positive_share else self.negatives
        c, t, kind, x, y = pool[rng.integers(len(pool))]
        c, t, kind = int(c), int(t), int(kind)
        clip = self.clips[c]
        code, ball = int(clip.labels.codes[t]), clip.labels.xy[t]
        centre = np.array([x, y])
        if kind == KIND_POSITIVE:
            angle, radius = rng.uniform(0, 2 * np.pi), self.jitter * np.sqrt(rng.random())
            centre = ball + radius * np.array([np.cos(angle), np.sin(angle)])
        origin = crop_origin(centre, self.spec.crop)
        crops = crop_stack(self.frames[c], t, origin, self.spec.crop, self.spec.context)
        present = code > 0
        local = ball - origin if present else np.array([-1.0, -1.0])
        frames_xy = np.repeat(local[None], self.spec.frames, axis=0)
        frames_present = np.full(self.spec.frames, present)
        crops, frames_xy, frames_present = augment_stack(self.transform, crops, frames_xy, frames_present,
                                                                 int(rng.integers(2 ** 31)))
        mid = self.spec.frames // 2
        centre_px = (self.spec.crop - 1) / 2
        is_ball = bool(frames_present[mid]) and np.linalg.norm(frames_xy[mid] - centre_px) <= MATCH_PX
        return {"crops": rearrange(torch.from_numpy(np.ascontiguousarray(crops)), "t h w c -> t c h w").float() / 255,
                "ball": torch.tensor(float(is_ball)),
                "xy": torch.from_numpy(np.where(is_ball, frames_xy[mid], 0.0).astype(np.float32)),
                "code": torch.tensor(max(code - 1, 0)), "origin": torch.from_numpy(origin),
                "index": torch.tensor([c, t])}


def mined_path(folder: Path, clip: Clip, fingerprint: str) -> Path:
    """Where a clip's mined candidates are cached; the fingerprint tells apart clips of different data sets."""
    return Path(folder) / f"{clip.name}-{fingerprint}.npy"
