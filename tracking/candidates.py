"""Candidates of a clip: the proposal network's top-K per frame, then the refiner's verdict on each of them.

Frames are read stack by stack (or crop by crop) from any array-like of frames (a memory map, a list), so a clip
is never loaded whole; each proposal stack predicts all of its frames at once.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from einops import rearrange

from data_prep.clips import scale_points
from data_prep.crops import CropSpec, crop_origin, crop_stack
from data_prep.stacks import clip_stacks
from model.proposal import ProposalNet, extract_candidates
from model.refine import RefineNet


@dataclass
class Candidates:
    """Top-K proposals of every frame of a clip.

    xy:    (n, k, 2) float full-resolution pixels
    score: (n, k) heatmap peak probability, best first
    """

    xy: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.score)


def frames_to_tensor(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """(b, t, h, w, 3) uint8 RGB -> (b, t, 3, h, w) float in [0, 1] on ``device``."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    return rearrange(x, "b t h w c -> b t c h w").float() / 255


def stacks_tensor(frames, starts: list[int], t: int, device: torch.device | str) -> torch.Tensor:
    """The stacks of ``t`` frames beginning at ``starts``: (len(starts), t, 3, h, w) float in [0, 1]."""
    return frames_to_tensor(np.stack([np.asarray(frames[s:s + t]) for s in starts]), device)


@torch.inference_mode()
def propose_stacks(model: ProposalNet, frames, batch: int = 4, device: torch.device | str = "cpu",
                   ensemble: bool = False) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """Yield (frame indices, logits (m, h, w), offset (m, 2, h, w)) covering each frame of ``frames`` once.

    frames: array-like (n, H, W, 3) uint8 at the network's input size.
    ensemble: a stack starts at every frame, and a frame's heatmap and offset are the means over the ``t`` stacks
    that hold it, at each of its places in the stack (TrackNetV3's temporal ensemble): ``t`` times the compute.
    """
    if ensemble:
        yield from _ensemble_stacks(model, frames, batch, device)
        return
    t = model.frames
    starts = clip_stacks(len(frames), t)
    # Stacks overlap only at the clip's end; each frame is taken from the first stack that covers it.
    owned = [(s, s if j == 0 else max(s, starts[j - 1] + t)) for j, s in enumerate(starts)]
    for i in range(0, len(owned), batch):
        chunk = owned[i:i + batch]
        logits, offset = model(stacks_tensor(frames, [s for s, _ in chunk], t, device))
        rows, cols, indices = [], [], []
        for j, (s, first) in enumerate(chunk):
            for f in range(first - s, t):
                rows.append(j)
                cols.append(f)
                indices.append(s + f)
        yield indices, logits[rows, cols].float().cpu(), offset[rows, cols].float().cpu()


def _ensemble_stacks(model: ProposalNet, frames, batch: int, device: torch.device | str
                     ) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """:func:`propose_stacks` with ``ensemble``: frames are yielded as soon as every stack holding them has run."""
    t, n = model.frames, len(frames)
    starts = list(range(n - t + 1))  # every frame that can begin a stack
    assert starts, f"clip of {n} frames is shorter than the stack of {t}"
    prob, offset, count = {}, {}, {}
    done = 0
    for i in range(0, len(starts), batch):
        chunk = starts[i:i + batch]
        logits, offsets = model(stacks_tensor(frames, chunk, t, device))
        logits, offsets = logits.float().sigmoid().cpu(), offsets.float().cpu()
        for j, s in enumerate(chunk):
            for f in range(t):
                prob[s + f] = prob.get(s + f, 0) + logits[j, f]
                offset[s + f] = offset.get(s + f, 0) + offsets[j, f]
                count[s + f] = count.get(s + f, 0) + 1
        ready = list(range(done, n if chunk[-1] == starts[-1] else chunk[-1] + 1))  # no later stack holds these
        done += len(ready)
        mean_prob = torch.stack([prob.pop(f) / count[f] for f in ready])
        mean_offset = torch.stack([offset.pop(f) / count.pop(f) for f in ready])
        yield ready, torch.logit(mean_prob, eps=1e-6), mean_offset


def propose_clip(model: ProposalNet, frames, full_size: tuple[int, int], k: int = 5, batch: int = 4,
                 device: torch.device | str = "cpu", keep_maps: bool = False, ensemble: bool = False):
    """Candidates of every frame; with ``keep_maps`` also the (n, h, w) probability maps (float16).

    ``ensemble``: see :func:`propose_stacks`.
    """
    n = len(frames)
    height, width = np.asarray(frames[0]).shape[:2]
    factor = (full_size[0] / width, full_size[1] / height)  # per axis: the input need not be 16:9
    xy, score = np.zeros((n, k, 2)), np.zeros((n, k))
    maps = [None] * n if keep_maps else None
    for indices, logits, offset in propose_stacks(model, frames, batch, device, ensemble):
        cxy, cscore = extract_candidates(logits, offset, k, model.args.peak_radius)
        xy[indices] = scale_points(cxy.numpy(), factor)
        score[indices] = cscore.numpy()
        if keep_maps:
            for i, m in zip(indices, logits.sigmoid().half().numpy()):
                maps[i] = m
    candidates = Candidates(xy, score)
    return (candidates, maps) if keep_maps else candidates


@dataclass
class Refined:
    """The refiner's verdict on every candidate of a clip.

    prob: (n, k) ball probability; xy: (n, k, 2) refined full-resolution position; code: (n, k) in 1..3
    """

    prob: np.ndarray
    xy: np.ndarray
    code: np.ndarray


@torch.inference_mode()
def refine_clip(model: RefineNet, frames, candidates: Candidates, spec: CropSpec, batch: int = 256,
                device: torch.device | str = "cpu", min_score: float = 0.0, frame_offset: int = 0) -> Refined:
    """Run the refiner on every candidate whose proposal score reaches ``min_score`` (others get prob 0).

    frames: array-like of full-resolution (H, W, 3) uint8 frames; candidate frame t is ``frames[t + frame_offset]``
    (a streaming window holds context frames before the candidates' first frame).
    """
    n, k = candidates.score.shape
    prob, xy, code = np.zeros((n, k)), candidates.xy.copy(), np.ones((n, k), np.int64)
    todo = np.argwhere(candidates.score >= min_score)  # (m, 2) = (frame, candidate)
    for i in range(0, len(todo), batch):
        chunk = todo[i:i + batch]
        origins = crop_origin(candidates.xy[chunk[:, 0], chunk[:, 1]], spec.crop)
        stacks = np.stack([crop_stack(frames, t + frame_offset, o, spec.crop, spec.context)
                           for (t, _), o in zip(chunk, origins)])
        out = model(frames_to_tensor(stacks, device))
        prob[chunk[:, 0], chunk[:, 1]] = out["logit"].float().sigmoid().cpu().numpy()
        xy[chunk[:, 0], chunk[:, 1]] = out["xy"].float().cpu().numpy() + origins
        code[chunk[:, 0], chunk[:, 1]] = out["code"].argmax(-1).cpu().numpy() + 1
    return Refined(prob, xy, code)
