"""Candidates of a clip: the proposal network's top-K per frame, then the refiner's verdict on each of them.

Frames are read stack by stack (or crop by crop) from any array-like of frames (a memory map, a list), so a clip
is never loaded whole; each proposal stack predicts all of its frames at once.

Numpy only: the networks come in as the numpy nets of :mod:`tracking.nets` (an ``nn.Module`` is wrapped on the
way in), so the PyTorch and the ONNX runtimes share this code.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from data_prep.clips import scale_points
from data_prep.crops import CropSpec, crop_origin, crop_stack
from data_prep.stack_spec import clip_stacks
from model.peaks import extract_candidates, logit, sigmoid
from tracking.nets import proposal_net, refine_net


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


def stack_frames(frames, starts: list[int], t: int) -> np.ndarray:
    """The stacks of ``t`` frames beginning at ``starts``: (len(starts), t, h, w, 3) uint8."""
    return np.stack([np.asarray(frames[s:s + t]) for s in starts])


def propose_stacks(model, frames, batch: int = 4, device="cpu", ensemble: bool = False
                   ) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """Yield (frame indices, logits (m, h, w), offset (m, 2, h, w)) covering each frame of ``frames`` once.

    model: a proposal net (:func:`tracking.nets.proposal_net`; an ``nn.Module`` runs on ``device``).

    frames: array-like (n, H, W, 3) uint8 at the network's input size.
    ensemble: a stack starts at every frame, and a frame's heatmap and offset are the means over the ``t`` stacks
    that hold it, at each of its places in the stack (TrackNetV3's temporal ensemble): ``t`` times the compute.
    """
    model = proposal_net(model, device)
    if ensemble:
        yield from _ensemble_stacks(model, frames, batch)
        return
    t = model.frames
    starts = clip_stacks(len(frames), t)
    # Stacks overlap only at the clip's end; each frame is taken from the first stack that covers it.
    owned = [(s, s if j == 0 else max(s, starts[j - 1] + t)) for j, s in enumerate(starts)]
    for i in range(0, len(owned), batch):
        chunk = owned[i:i + batch]
        logits, offset = model(stack_frames(frames, [s for s, _ in chunk], t))
        rows, cols, indices = [], [], []
        for j, (s, first) in enumerate(chunk):
            for f in range(first - s, t):
                rows.append(j)
                cols.append(f)
                indices.append(s + f)
        yield indices, logits[rows, cols], offset[rows, cols]


def _ensemble_stacks(model, frames, batch: int) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """:func:`propose_stacks` with ``ensemble``: frames are yielded as soon as every stack holding them has run."""
    t, n = model.frames, len(frames)
    starts = list(range(n - t + 1))  # every frame that can begin a stack
    assert starts, f"clip of {n} frames is shorter than the stack of {t}"
    prob, offset, count = {}, {}, {}
    done = 0
    for i in range(0, len(starts), batch):
        chunk = starts[i:i + batch]
        logits, offsets = model(stack_frames(frames, chunk, t))
        logits = sigmoid(logits)
        for j, s in enumerate(chunk):
            for f in range(t):
                prob[s + f] = prob.get(s + f, 0) + logits[j, f]
                offset[s + f] = offset.get(s + f, 0) + offsets[j, f]
                count[s + f] = count.get(s + f, 0) + 1
        ready = list(range(done, n if chunk[-1] == starts[-1] else chunk[-1] + 1))  # no later stack holds these
        done += len(ready)
        mean_prob = np.stack([prob.pop(f) / count[f] for f in ready])
        mean_offset = np.stack([offset.pop(f) / count.pop(f) for f in ready])
        yield ready, logit(mean_prob), mean_offset


def propose_clip(model, frames, full_size: tuple[int, int], k: int = 5, batch: int = 4, device="cpu",
                 keep_maps: bool = False, ensemble: bool = False):
    """Candidates of every frame; with ``keep_maps`` also the (n, h, w) probability maps (float16).

    ``model``, ``ensemble``: see :func:`propose_stacks`.
    """
    model = proposal_net(model, device)
    n = len(frames)
    height, width = np.asarray(frames[0]).shape[:2]
    factor = (full_size[0] / width, full_size[1] / height)  # per axis: the input need not be 16:9
    xy, score = np.zeros((n, k, 2)), np.zeros((n, k))
    maps = [None] * n if keep_maps else None
    for indices, logits, offset in propose_stacks(model, frames, batch, ensemble=ensemble):
        cxy, cscore = extract_candidates(logits, offset, k, model.peak_radius)
        xy[indices] = scale_points(cxy, factor)
        score[indices] = cscore
        if keep_maps:
            for i, m in zip(indices, sigmoid(logits).astype(np.float16)):
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


def refine_clip(model, frames, candidates: Candidates, spec: CropSpec, batch: int = 256, device="cpu",
                min_score: float = 0.0, frame_offset: int = 0) -> Refined:
    """Run the refiner on every candidate whose proposal score reaches ``min_score`` (others get prob 0).

    frames: array-like of full-resolution (H, W, 3) uint8 frames; candidate frame t is ``frames[t + frame_offset]``
    (a streaming window holds context frames before the candidates' first frame); ``model``: a refine net
    (:func:`tracking.nets.refine_net`; an ``nn.Module`` runs on ``device``).
    """
    model = refine_net(model, device)
    n, k = candidates.score.shape
    prob, xy, code = np.zeros((n, k)), candidates.xy.copy(), np.ones((n, k), np.int64)
    todo = np.argwhere(candidates.score >= min_score)  # (m, 2) = (frame, candidate)
    for i in range(0, len(todo), batch):
        chunk = todo[i:i + batch]
        origins = crop_origin(candidates.xy[chunk[:, 0], chunk[:, 1]], spec.crop)
        stacks = np.stack([crop_stack(frames, t + frame_offset, o, spec.crop, spec.context)
                           for (t, _), o in zip(chunk, origins)])
        p, offset, c = model(stacks)
        prob[chunk[:, 0], chunk[:, 1]] = p
        xy[chunk[:, 0], chunk[:, 1]] = offset + origins
        code[chunk[:, 0], chunk[:, 1]] = c
    return Refined(prob, xy, code)
