"""The refine stage's training samples: crop stacks around balls, proposal candidates and random windows, and
rendered balls pasted into windows away from the ball (:mod:`data_prep.composites`).

The windows are fixed when the data set is built (a positive's within ``jitter`` of its ball), so their pixels are
cut once per clip by :func:`data_prep.crop_cache.stored_crops` and every draw slices its crop out of them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from torch.utils.data import Dataset
from tqdm import tqdm

from data_prep.augment import augment_stack
from data_prep.clips import Clip
from data_prep.composites import paste_ball, random_flight, random_look
from data_prep.crop_cache import stored_crops
from data_prep.crops import MATCH_PX, CropSpec, crop_origin

KIND_CANDIDATE, KIND_POSITIVE, KIND_RANDOM = 0, 1, 2
COMPOSITE_CLEARANCE_PX = 64.0  # a composite's window is at least this far from the frame's own ball


class RefineSamples(Dataset):
    """Crop stacks with ball / position / code targets.

    Every frame yields jittered positives around its ball (when present), the proposal's candidates (hard
    negatives unless they sit on the ball) and random background windows. Drawing is balanced: ``positive_share``
    of the items are positives. A crop is a positive exactly when the ball lies within ``MATCH_PX`` of its centre
    (after augmentation), whatever its kind: a candidate that close is a positive whose position target is the
    ball (the refiner learns to fix the proposal's error); one farther away is a negative even if the ball shows
    at the crop's edge. A frame that does not train (``Labels.trains``: confidence 0) yields no sample.

    ``composite_share`` of the positive draws are composites instead: a negative window at least
    ``COMPOSITE_CLEARANCE_PX`` from the frame's own ball (or of a ball-less frame) with a rendered ball pasted within
    ``jitter`` of its centre, labelled where it was drawn.

    Item: crops (t, 3, P, P) float in [0, 1], ball () float, xy (2,) ball in crop pixels, code () int in 0..2,
    origin (2,) int, index (2,) = (clip, frame).
    """

    def __init__(self, clips: list[Clip], mined: list[np.ndarray], spec: CropSpec, crops_root: Path,
                 transform=None, jitter: float = MATCH_PX, random_per_frame: float = 0.5,
                 positive_share: float = 0.5, composite_share: float = 0.0, seed: int = 0):
        """mined: per clip, (n, k, 2) candidate positions of every frame (full-res pixels); crops_root: where the
        cut windows are stored."""
        self.clips, self.spec, self.transform = clips, spec, transform
        assert jitter <= MATCH_PX, f"jittered positives must stay within MATCH_PX={MATCH_PX} of the ball"
        self.jitter, self.seed, self.epoch = jitter, seed, 0
        self.margin = int(np.ceil(jitter)) + 1  # a jittered window's origin moves at most this far from the ball's
        positives, negatives, self.windows = [], [], []
        for c, (clip, candidates) in enumerate(tqdm(list(zip(clips, mined)), desc="refine crops", leave=False)):
            rng = np.random.default_rng((seed, c))
            codes, xy, trains = clip.labels.codes, clip.labels.xy, clip.labels.trains
            jittered, exact = [], []  # (frame, x, y) of the clip's windows; rows below index into them
            for t in np.flatnonzero(trains):  # a frame of confidence 0 yields no sample at all
                if codes[t] > 0:
                    positives.append((c, t, KIND_POSITIVE, *xy[t], len(jittered)))
                    jittered.append((t, *xy[t]))
                for cand in candidates[t]:
                    close = codes[t] > 0 and np.linalg.norm(cand - xy[t]) <= MATCH_PX
                    (positives if close else negatives).append((c, t, KIND_CANDIDATE, *cand, len(exact)))
                    exact.append((t, *cand))
                if rng.random() < random_per_frame:
                    point = (rng.uniform(0, clip.size[0]), rng.uniform(0, clip.size[1]))
                    negatives.append((c, t, KIND_RANDOM, *point, len(exact)))
                    exact.append((t, *point))
            self.windows.append((self._cut(clip, jittered, crops_root, self.margin),
                                 self._cut(clip, exact, crops_root, 0)))
        assert positives and negatives, "refine training needs frames with and without a ball near the candidates"
        self.positives, self.negatives = np.array(positives), np.array(negatives)
        self.positive_share, self.composite_share = positive_share, composite_share
        self.backgrounds = np.flatnonzero([self._clear(int(c), int(t), np.array([x, y]))
                                           for c, t, _, x, y, _ in self.negatives])
        assert self.backgrounds.size or not composite_share, "no window away from a ball to paste composites into"

    def _clear(self, c: int, t: int, point: np.ndarray) -> bool:
        labels = self.clips[c].labels
        return labels.codes[t] == 0 or np.linalg.norm(labels.xy[t] - point) > COMPOSITE_CLEARANCE_PX

    def _cut(self, clip: Clip, windows: list[tuple], root: Path, margin: int) -> np.ndarray:
        """(m, t, P + 2 margin, P + 2 margin, 3) stored crops of the windows centred at (frame, x, y) +- margin."""
        side = self.spec.crop + 2 * margin
        rows = np.array(windows, np.float64).reshape(-1, 3)
        if not len(rows):
            return np.zeros((0, self.spec.frames, side, side, 3), np.uint8)
        origins = crop_origin(rows[:, 1:], self.spec.crop) - margin
        return stored_crops(root, clip, rows[:, 0].astype(np.int64), origins, side, self.spec.context)

    def __len__(self) -> int:
        return len(self.positives) + len(self.negatives)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, item))
        positive = rng.random() < self.positive_share
        if positive and rng.random() < self.composite_share:
            return self._composite(rng)
        pool = self.positives if positive else self.negatives
        c, t, kind, x, y, window = pool[rng.integers(len(pool))]
        c, t, kind, window = int(c), int(t), int(kind), int(window)
        clip, crop = self.clips[c], self.spec.crop
        code, ball = int(clip.labels.codes[t]), clip.labels.xy[t]
        if kind == KIND_POSITIVE:
            angle, radius = rng.uniform(0, 2 * np.pi), self.jitter * np.sqrt(rng.random())
            origin = crop_origin(ball + radius * np.array([np.cos(angle), np.sin(angle)]), crop)
            dx, dy = origin - (crop_origin(ball, crop) - self.margin)
            assert 0 <= dx <= 2 * self.margin and 0 <= dy <= 2 * self.margin, "jittered window outside its margin"
            crops = np.array(self.windows[c][0][window][:, dy:dy + crop, dx:dx + crop])
        else:
            origin = crop_origin(np.array([x, y]), crop)
            crops = np.array(self.windows[c][1][window])
        present = code > 0
        local = ball - origin if present else np.array([-1.0, -1.0])
        frames_xy = np.repeat(local[None], self.spec.frames, axis=0)
        frames_present = np.full(self.spec.frames, present)
        return self._item(rng, crops, frames_xy, frames_present, code, origin, c, t)

    def _composite(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """A rendered ball pasted within ``jitter`` of the centre of a window away from the frame's ball."""
        c, t, _, x, y, window = self.negatives[self.backgrounds[rng.integers(len(self.backgrounds))]]
        c, t, window, crop = int(c), int(t), int(window), self.spec.crop
        origin = crop_origin(np.array([x, y]), crop)
        crops = np.array(self.windows[c][1][window])
        angle, radius = rng.uniform(0, 2 * np.pi), self.jitter * np.sqrt(rng.random())
        centre = (crop - 1) / 2 + radius * np.array([np.cos(angle), np.sin(angle)])
        frames_xy, frames_present = paste_ball(crops, origin, self.clips[c].size[1], random_flight(rng, centre),
                                               random_look(rng))
        return self._item(rng, crops, np.where(frames_present[:, None], frames_xy, -1.0), frames_present, 1,
                          origin, c, t)

    def _item(self, rng: np.random.Generator, crops: np.ndarray, frames_xy: np.ndarray, frames_present: np.ndarray,
              code: int, origin: np.ndarray, c: int, t: int) -> dict[str, torch.Tensor]:
        """The augmented sample of a crop stack with its ball in each frame (crop pixels, -1 where absent)."""
        crop = self.spec.crop
        crops, frames_xy, frames_present = augment_stack(self.transform, crops, frames_xy, frames_present,
                                                         int(rng.integers(2 ** 31)))
        mid = self.spec.frames // 2
        centre_px = (crop - 1) / 2
        is_ball = bool(frames_present[mid]) and np.linalg.norm(frames_xy[mid] - centre_px) <= MATCH_PX
        return {"crops": rearrange(torch.from_numpy(np.ascontiguousarray(crops)), "t h w c -> t c h w").float() / 255,
                "ball": torch.tensor(float(is_ball)),
                "xy": torch.from_numpy(np.where(is_ball, frames_xy[mid], 0.0).astype(np.float32)),
                "code": torch.tensor(max(code - 1, 0)), "origin": torch.from_numpy(origin),
                "index": torch.tensor([c, t])}
