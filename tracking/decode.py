"""Temporal decoding: one ball (or none) per frame from the refined candidates, optimised over the whole clip.

A second-order Viterbi: the state of frame t is (candidate at t, candidate at t-1), each a candidate index or
NONE, so every transition sees three consecutive positions and can price the ball's acceleration. Costs, all in
full-resolution pixels and frames:

* emission: choosing candidate i costs ``-(logit(p_i) + proposal_weight * logit(s_i)) + presence_bias``, p_i the
  refiner's ball probability and s_i the proposal's heatmap score of the candidate (two views of the same evidence:
  the refiner sees full-resolution crops, the proposal the whole low-resolution frame); NONE costs 0 (its evidence
  is the candidates' low probabilities);
* start: a track that begins after NONE pays ``start_cost``, so an isolated detection survives only when the
  refiner is sure of it;
* motion: a jump over ``max_jump`` px between consecutive frames is impossible; with three points the deviation of
  the acceleration from a gravity-like ``gravity`` (px / frame^2, image y) costs ``|a - g|^2 / (2 sigma^2)`` capped
  at ``break_cost``: hits and bounces are allowed breaks, not impossibilities; a ball that moves less than
  ``static_px`` in a frame pays ``static_cost`` (court marks and shoes stand still, a ball in play seldom does; a
  shuttle held before the serve, which badminton labels call "no shuttle", barely moves);
* lead: each chosen position moves ``lead`` times the track's velocity (px / frame, from the detected neighbours)
  forward. The refiner places a blurred fast ball at its streak's centre, where the shipped networks learnt it
  from synthetic frames; real labels (TrackNet's) put it about 0.15 of a frame's motion further on (measured on
  two matches with fast balls, none on synthetic frames): 8-16 px off a ball crossing the court in 2-3 frames.

Short NONE gaps between two detections consistent with each other (occlusion by a player or the net) are filled
from the motion on both sides: occluded balls count as present in SiBaTrAcc. Given the frame's size, no position
leaves the frame: a fill that would (a lob or a toss above the top edge) leaves those frames without a ball, as the
labels do, and a refined position a pixel or two beyond the edge is moved onto it. The streaming decoder re-runs
the same optimisation over a sliding window and commits each frame after a fixed lag.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from evaluation.predictions import Track
from model.peaks import logit

INF = 1e9
OCCLUDED = 3  # code reported for positions filled across a gap


@dataclass(frozen=True)
class DecodeParams:
    presence_bias: float = 0.0
    start_cost: float = 3.0
    max_jump: float = 120.0
    gravity: float = 0.8
    sigma: float = 6.0
    break_cost: float = 3.0
    static_cost: float = 0.5
    static_px: float = 1.0
    max_gap: int = 5
    logit_clip: float = 8.0
    proposal_weight: float = 0.0  # weight of the proposal's score beside the refiner's probability (0: refiner only)
    lead: float = 0.15  # fraction of the per-frame motion a chosen position moves forward (bundles before it: 0.15)


def _logit(p: np.ndarray, clip: float) -> np.ndarray:
    return np.clip(logit(p), -clip, clip)


def evidence(prob: np.ndarray, score: np.ndarray | None, params: DecodeParams) -> np.ndarray:
    """Log-odds that each candidate is the ball: the refiner's, plus ``proposal_weight`` times the proposal's.

    prob, score: (n, K) -> (n, K), clipped to +-``logit_clip``; a candidate the refiner skipped (prob 0, its
    proposal score under the tracker's ``min_score``) stays at the floor.
    """
    odds = _logit(prob, params.logit_clip)
    if score is None or params.proposal_weight == 0:
        return odds
    combined = np.clip(odds + params.proposal_weight * _logit(score, params.logit_clip), -params.logit_clip,
                       params.logit_clip)
    return np.where(prob > 0, combined, odds)


def _transition(cur: np.ndarray, prev: np.ndarray, prev2: np.ndarray, params: DecodeParams) -> np.ndarray:
    """Cost of moving through candidates (k at t-2) -> (j at t-1) -> (i at t), shape (K+1, K+1, K+1) as [i, j, k].

    cur, prev, prev2: (K, 2) positions; index K is NONE.
    """
    k = len(cur)
    cost = np.zeros((k + 1, k + 1, k + 1))
    step = np.linalg.norm(cur[:, None] - prev[None], axis=-1)  # (K, K) [i, j]
    move = np.where(step > params.max_jump, INF, np.where(step < params.static_px, params.static_cost, 0.0))
    cost[:k, :k, :] += move[:, :, None]
    accel = cur[:, None, None] - 2 * prev[None, :, None] + prev2[None, None]  # (K, K, K, 2)
    accel[..., 1] -= params.gravity
    bend = np.minimum((accel ** 2).sum(-1) / (2 * params.sigma ** 2), params.break_cost)
    cost[:k, :k, :k] += bend
    cost[:k, k, :] += params.start_cost  # a track (re)starts after NONE
    return cost


def viterbi(xy: np.ndarray, prob: np.ndarray, params: DecodeParams = DecodeParams(),
            score: np.ndarray | None = None) -> np.ndarray:
    """Best candidate index per frame, or -1 for no ball.

    xy: (n, K, 2) candidate positions, prob: (n, K) ball probabilities, score: (n, K) proposal scores (weighed in
    by ``params.proposal_weight``; None: the refiner alone) -> (n,) int in -1..K-1
    """
    return viterbi_batch(xy, emission_costs(prob, score, params)[None], params)[0]


def emission_costs(prob: np.ndarray, score: np.ndarray | None, params: DecodeParams) -> np.ndarray:
    """Cost of each choice per frame: (n, K) probabilities and scores -> (n, K + 1), the last column "no ball"."""
    return np.concatenate([-evidence(prob, score, params) + params.presence_bias, np.zeros((len(prob), 1))], axis=1)


def viterbi_batch(xy: np.ndarray, emission: np.ndarray, params: DecodeParams) -> np.ndarray:
    """Best paths for several sets of emission costs that share the motion costs of ``params`` (a calibration
    decodes every presence setting in one pass).

    xy: (n, K, 2), emission: (b, n, K + 1) from :func:`emission_costs` -> (b, n) int in -1..K-1
    """
    b, n, choices = emission.shape
    none = choices - 1
    if n == 0:
        return np.zeros((b, 0), np.int64)
    # cost[:, i, j]: best total cost with choice i at t and j at t-1
    cost = np.full((b, choices, choices), INF)
    cost[:, :, none] = emission[:, 0]
    cost[:, :none, none] += params.start_cost
    back = np.zeros((n, b, choices, choices), np.int64)
    far = np.full((none, 2), 1e6)  # positions before the clip: never within a jump
    for t in range(1, n):
        prev2 = xy[t - 2] if t >= 2 else far
        total = cost[:, None] + _transition(xy[t], xy[t - 1], prev2, params)[None]  # [b, i, j, k]
        back[t] = total.argmin(axis=3)
        cost = np.take_along_axis(total, back[t][..., None], axis=3)[..., 0] + emission[:, t, :, None]
    rows = np.arange(b)
    i, j = np.unravel_index(cost.reshape(b, -1).argmin(axis=1), (choices, choices))
    path = np.zeros((b, n), np.int64)
    path[:, n - 1] = i
    for t in range(n - 1, 0, -1):
        path[:, t - 1] = j
        i, j = j, back[t, rows, i, j]
    return np.where(path == none, -1, path)


def in_frame(xy: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """(m, 2) positions -> (m,) bool: inside a frame of ``size`` (width, height) pixels; None: every one."""
    if size is None:
        return np.ones(len(xy), bool)
    return (xy >= 0).all(axis=1) & (xy[:, 0] <= size[0] - 1) & (xy[:, 1] <= size[1] - 1)


def fill_gaps(codes: np.ndarray, xy: np.ndarray, params: DecodeParams, size: tuple[int, int] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Fill runs of "no ball" up to ``max_gap`` frames between two detections from a fit of both sides.

    codes (n,), xy (n, 2) -> new codes (filled frames get code 3, occluded) and positions. With the frame's
    ``size`` (width, height), a filled position outside the frame is left out: the ball is out of the picture.
    """
    codes, xy = codes.copy(), xy.copy()
    present = np.flatnonzero(codes > 0)
    for a, b in zip(present[:-1], present[1:]):
        gap = b - a - 1
        if gap == 0 or gap > params.max_gap or np.linalg.norm(xy[b] - xy[a]) > params.max_jump * (b - a):
            continue
        left = [s for s in range(a - 2, a + 1) if s >= 0 and codes[s] > 0]
        right = [s for s in range(b, b + 3) if s < len(codes) and codes[s] > 0]
        known = np.array(left + right)
        degree = 2 if len(known) >= 4 else 1
        frames = np.arange(a + 1, b)
        arc = np.stack([np.polyval(np.polyfit(known, xy[known, axis], degree), frames) for axis in (0, 1)], axis=1)
        inside = in_frame(arc, size)
        xy[frames[inside]] = arc[inside]
        codes[frames[inside]] = OCCLUDED
    return codes, xy


def decode_track(xy: np.ndarray, prob: np.ndarray, code: np.ndarray, params: DecodeParams = DecodeParams(),
                 score: np.ndarray | None = None, size: tuple[int, int] | None = None) -> Track:
    """The clip's track: Viterbi choice, refiner's code for chosen candidates, gaps filled; -1 where no ball.

    xy (n, K, 2), prob (n, K), code (n, K) in 1..3, score (n, K) proposal scores or None, size: the frame's
    (width, height) in the same pixels, which no position leaves (None: unchecked) -> Track
    """
    return fill_track(*chosen_track(xy, code, viterbi(xy, prob, params, score)), params, size)


def chosen_track(xy: np.ndarray, code: np.ndarray, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A Viterbi choice (n,) as codes (n,) (0: no ball) and positions (n, 2), before gap filling."""
    rows = np.arange(len(choice))
    chosen = choice >= 0
    codes = np.where(chosen, code[rows, np.maximum(choice, 0)], 0)
    return codes, np.where(chosen[:, None], xy[rows, np.maximum(choice, 0)], -1.0)


def lead_positions(codes: np.ndarray, positions: np.ndarray, lead: float) -> np.ndarray:
    """Positions (n, 2) of the detected frames (codes (n,) > 0) moved ``lead`` times their velocity forward: the
    central difference between the two neighbours, one side's step where only one is detected, none alone."""
    present = codes > 0
    both = present[1:] & present[:-1]  # (n - 1,) steps t -> t + 1 between two detections
    step = np.where(both[:, None], positions[1:] - positions[:-1], 0.0)
    total, count = np.zeros(positions.shape), np.zeros(len(codes))
    total[1:] += step  # the step in
    total[:-1] += step  # the step out
    count[1:] += both
    count[:-1] += both
    velocity = total / np.maximum(count, 1)[:, None]
    return np.where(present[:, None], positions + lead * velocity, positions)


def fill_track(codes: np.ndarray, positions: np.ndarray, params: DecodeParams,
               size: tuple[int, int] | None = None) -> Track:
    """The track of a Viterbi choice (:func:`chosen_track`) led by ``params.lead``, gaps filled, inside a frame of
    ``size``."""
    if params.lead:
        positions = lead_positions(codes, positions, params.lead)
    if size is not None:  # a refined position just beyond the edge: the ball is at the edge
        positions = np.where(codes[:, None] > 0, np.clip(positions, 0, np.array(size) - 1.0), positions)
    codes, positions = fill_gaps(codes, positions, params, size)
    return Track(codes.astype(np.int64), np.where(codes[:, None] > 0, positions, -1.0))


class StreamingDecoder:
    """Fixed-latency decoding for live use: frame t is committed once frame t + ``lag`` has arrived.

    Each push re-optimises the last ``window`` frames (the committed past enters only through its candidates), so
    the cost per frame is constant and the answer for a frame never changes once emitted.
    """

    def __init__(self, params: DecodeParams = DecodeParams(), lag: int = 8, window: int = 48,
                 size: tuple[int, int] | None = None):
        assert window > lag >= 0, "window must exceed lag"
        self.params, self.lag, self.window = params, lag, window
        self.size = size  # the frame's (width, height): no position outside it
        self.buffer: deque = deque(maxlen=window)
        self.pushed = 0

    def push(self, xy: np.ndarray, prob: np.ndarray, code: np.ndarray, score: np.ndarray | None = None
             ) -> list[tuple[int, int, np.ndarray]]:
        """Add one frame's candidates (K, 2), (K,), (K,) and proposal scores (K,) (None: the refiner alone);
        return committed frames as (frame, code, (x, y))."""
        self.buffer.append((xy, prob, code, score))
        self.pushed += 1
        if self.pushed <= self.lag:
            return []
        return [self._decide(len(self.buffer) - 1 - self.lag)]

    def flush(self) -> list[tuple[int, int, np.ndarray]]:
        """Commit the last ``lag`` frames at the end of the stream."""
        count = min(self.lag, self.pushed)
        return [self._decide(len(self.buffer) - count + i) for i in range(count)]

    def _decide(self, position: int) -> tuple[int, int, np.ndarray]:
        xy, prob, code, score = zip(*self.buffer)
        score = None if any(s is None for s in score) else np.stack(score)
        track = decode_track(np.stack(xy), np.stack(prob), np.stack(code), self.params, score, self.size)
        frame = self.pushed - len(self.buffer) + position
        return frame, int(track.codes[position]), track.xy[position]
