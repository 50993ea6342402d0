"""Training samples of the proposal stage: random stacks of consecutive low-resolution frames with heatmap targets.

Every (clip, first frame) pair is one sample, so drawing samples uniformly draws clips in proportion to their length
(the assignment's pool idea) while frames come from the compressed frame cache, decoded on access: memory stays bounded whatever the size
of the data set. Training crops a window of the stack (the network is fully convolutional), centred near the ball
most of the time so that positives are not starved, and then augments the crop.
"""
from __future__ import annotations

import numpy as np
import torch
from einops import rearrange
from torch.utils.data import Dataset

from data_prep.augment import augment_stack
from data_prep.clips import Clip, check_stack_length
from data_prep.frame_cache import FrameCache
from data_prep.stack_spec import StackSpec, clip_stacks  # noqa: F401 (their home before)

HEATMAP_STRIDE = 4  # must match model.proposal.STRIDE (data_prep does not import model/)


def heatmap_targets(xy: np.ndarray, present: np.ndarray, weight: np.ndarray, shape: tuple[int, int],
                    sigma: float = 1.0) -> dict[str, np.ndarray]:
    """Gaussian heatmaps and sub-cell offsets for the balls of a stack.

    xy (t, 2) input pixels, present (t,), weight (t,) positive weight per frame, shape (h, w) of the heatmap
    -> heat (t, h, w) with 1 at the ball's cell, offset (t, 2) in [0, 1), cell (t, 2) int (col, row),
       has_ball (t,) bool, weight (t,)
    """
    t = len(xy)
    h, w = shape
    heat = np.zeros((t, h, w), np.float32)
    cell = np.zeros((t, 2), np.int64)
    offset = np.zeros((t, 2), np.float32)
    has_ball = present.copy()
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    for i in np.flatnonzero(present):
        u = (xy[i] + 0.5) / HEATMAP_STRIDE  # continuous cell coordinates, see model.proposal.pixels_to_cells
        c = np.floor(u).astype(np.int64)
        if not (0 <= c[0] < w and 0 <= c[1] < h):
            has_ball[i] = False
            continue
        cell[i], offset[i] = c, u - c
        heat[i] = np.exp(-((cols - c[0]) ** 2 + (rows - c[1]) ** 2) / (2 * sigma ** 2))
    return {"heat": heat, "offset": offset, "cell": cell, "has_ball": has_ball, "weight": weight.astype(np.float32)}


class ProposalStacks(Dataset):
    """Stacks of ``spec.frames`` consecutive frames with heatmap targets.

    Item: frames (t, 3, h, w) float in [0, 1]; heat (t, h/4, w/4); offset (t, 2); cell (t, 2); has_ball (t,);
    weight (t,) (``occluded_weight`` for code 3 balls, 1 otherwise); index (2,) = (clip, first frame).
    A stack holding a frame that does not train (``Labels.trains``: confidence 0) is never drawn.
    """

    def __init__(self, clips: list[Clip], spec: StackSpec, cache: FrameCache, transform=None,
                 crop: tuple[int, int] | None = None, ball_crop_prob: float = 0.8, occluded_weight: float = 1.0,
                 reverse_prob: float = 0.0, heat_sigma: float = 1.0, seed: int = 0):
        assert crop is None or (crop[0] % 16 == 0 and crop[1] % 16 == 0), "crop (w, h) must be multiples of 16"
        for clip in clips:
            check_stack_length(clip, spec.frames)
            assert clip.labels is not None, f"{clip.path}: training needs labels"
        self.clips, self.spec, self.cache, self.transform = clips, spec, cache, transform
        self.crop, self.ball_crop_prob, self.occluded_weight = crop, ball_crop_prob, occluded_weight
        self.reverse_prob, self.heat_sigma, self.seed = reverse_prob, heat_sigma, seed
        # Only stacks whose every frame trains: a frame of confidence 0 (an uncertain pseudo-label) adds no loss.
        self.index = np.array([(c, t) for c, clip in enumerate(clips) for t in range(len(clip) - spec.frames + 1)
                               if clip.labels.trains[t:t + spec.frames].all()]).reshape(-1, 2)
        self.frames = [cache.frames(clip, spec.size) for clip in clips]  # memory maps: opening costs nothing
        self.labels = [clip.labels.scaled((spec.width / clip.size[0], spec.height / clip.size[1]))
                       for clip in clips]
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.index)

    def set_epoch(self, epoch: int) -> None:
        """Draws depend on (seed, epoch, item): a resumed run repeats the uninterrupted run's samples."""
        self.epoch = epoch

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, item))
        c, start = self.index[item]
        stop = start + self.spec.frames
        frames = np.asarray(self.frames[c][start:stop])
        labels = self.labels[c]
        codes, xy = labels.codes[start:stop], labels.xy[start:stop].copy()
        present = codes > 0
        weight = np.where(codes == 3, self.occluded_weight, 1.0)
        if rng.random() < self.reverse_prob:  # a ball's flight played backwards is still a plausible flight
            frames, xy, present, weight = frames[::-1], xy[::-1], present[::-1], weight[::-1]
        if self.crop is not None:  # before augmenting: the augmentation then costs a crop's pixels, not a frame's
            frames, xy, present = self._crop(rng, frames, xy, present)
        frames, xy, present = augment_stack(self.transform, np.ascontiguousarray(frames), xy, present,
                                            int(rng.integers(2 ** 31)))
        height, width = frames.shape[1:3]
        targets = heatmap_targets(xy, present, weight, (height // HEATMAP_STRIDE, width // HEATMAP_STRIDE),
                                  self.heat_sigma)
        sample = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in targets.items()}
        sample["frames"] = rearrange(torch.from_numpy(np.ascontiguousarray(frames)), "t h w c -> t c h w").float() / 255
        sample["index"] = torch.tensor([c, start])
        return sample

    def _crop(self, rng: np.random.Generator, frames: np.ndarray, xy: np.ndarray, present: np.ndarray):
        height, width = frames.shape[1:3]
        cw, ch = self.crop
        if present.any() and rng.random() < self.ball_crop_prob:
            cx, cy = xy[rng.choice(np.flatnonzero(present))]
            x0 = int(np.clip(cx - rng.uniform(0.1, 0.9) * cw, 0, width - cw))
            y0 = int(np.clip(cy - rng.uniform(0.1, 0.9) * ch, 0, height - ch))
        else:
            x0, y0 = int(rng.integers(0, width - cw + 1)), int(rng.integers(0, height - ch + 1))
        frames = frames[:, y0:y0 + ch, x0:x0 + cw]
        xy = xy - [x0, y0]
        present = present & (xy[:, 0] >= 0) & (xy[:, 0] <= cw - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= ch - 1)
        return frames, np.where(present[:, None], xy, -1.0), present



