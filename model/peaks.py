"""Reading the proposal network's heatmaps: candidate points with sub-cell precision, in numpy.

Kept apart from :mod:`model.proposal` (and free of torch) so that the ONNX runtime (:mod:`tracking.onnx_nets`)
reads the heatmaps with the very code the PyTorch path uses.

Shapes (heatmap h x w, one cell = ``STRIDE`` input pixels)::

    logits  (n, h, w)       ball-centre heatmap logits
    offset  (n, 2, h, w)    (dx, dy) of the centre from the cell's top-left corner, in cells
"""
from __future__ import annotations

import numpy as np

STRIDE = 4


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function without overflow warnings for large negative logits."""
    return 0.5 * (1 + np.tanh(0.5 * x))


def logit(p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The inverse of :func:`sigmoid`, ``p`` clipped to [eps, 1 - eps] first (finite logits)."""
    p = np.clip(p, eps, 1 - eps)
    return np.log(p / (1 - p))


def pixels_to_cells(xy):
    """Input-pixel coordinates (pixel centres at integers) to continuous heatmap-cell coordinates.

    Cell j covers input pixels 4j .. 4j+3, so its left edge is at pixel 4j - 0.5. Works on arrays and tensors.
    """
    return (xy + 0.5) / STRIDE


def cells_to_pixels(uv):
    """Inverse of :func:`pixels_to_cells`."""
    return uv * STRIDE - 0.5


def _max_pool3(prob: np.ndarray) -> np.ndarray:
    """3x3 max over each cell's neighbourhood, (n, h, w) -> (n, h, w) (edges padded with -inf)."""
    h, w = prob.shape[1:]
    padded = np.pad(prob, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    return np.max([padded[:, r:r + h, c:c + w] for r in range(3) for c in range(3)], axis=0)


def extract_candidates(logits: np.ndarray, offset: np.ndarray, k: int, radius: float = 1.0, pool: int = 64
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` candidates per heatmap at sub-cell positions, no two within ``radius`` cells of each other.

    logits (n, h, w), offset (n, 2, h, w) -> xy (n, k, 2) in input pixels, score (n, k) in [0, 1] (float32).
    Cell (row, col) with offset (dx, dy) proposes the point (col + dx, row + dy) in cell units, scored by its
    probability. Among the points of the ``pool`` most probable cells the best is kept and every point within
    ``radius`` cells of it dropped, ``k`` times: non-maximum suppression between offset-refined points, not on the
    cell grid. The cells around a ball are trained to point at it (``offset_reach``), so they fall onto one
    candidate, while a ball one cell from a brighter distractor (a white letter on an advertising board) keeps its
    own, which CenterNet's 3x3 max-pool over cells suppresses (README: design choices). One cell is 8
    full-resolution px at the default 640-wide input, the metric's tolerance. Picks after the pool is used up
    score 0. ``radius`` 0: the 3x3 max-pool, for the older weights.
    """
    logits, offset = np.asarray(logits, np.float32), np.asarray(offset, np.float32)
    n, h, w = logits.shape
    prob = sigmoid(logits)
    if radius <= 0:
        prob = np.where(prob == _max_pool3(prob), prob, np.float32(0))
        pool = k
    flat = prob.reshape(n, h * w)
    m = min(pool, h * w)
    index = np.argpartition(-flat, m - 1, axis=1)[:, :m] if m < h * w else np.tile(np.arange(h * w), (n, 1))
    index = np.take_along_axis(index, np.argsort(-np.take_along_axis(flat, index, 1), axis=1, kind="stable"), 1)
    prob = np.take_along_axis(flat, index, 1)  # (n, m), best first
    row, col = index // w, index % w
    sub = np.take_along_axis(offset.reshape(n, 2, h * w), index[:, None], 2).transpose(0, 2, 1)  # (n, m, 2) cells
    points = np.stack([col, row], axis=-1).astype(np.float32) + sub  # (n, m, 2) in cells
    if radius <= 0:
        return cells_to_pixels(points), prob
    alive, frames = prob.copy(), np.arange(n)
    xy, score = [], []
    for _ in range(k):
        best = alive.argmax(axis=1)
        xy.append(points[frames, best])
        score.append(np.maximum(alive[frames, best], 0))
        alive[np.linalg.norm(points - xy[-1][:, None], axis=-1) <= radius] = -1.0
    return cells_to_pixels(np.stack(xy, axis=1)), np.stack(score, axis=1)
