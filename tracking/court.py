"""Find the tennis court in a frame: the 14 keypoints and the court-to-image homography, or ``None`` ("no court")
when the frame is not a main-camera view of a court (close-ups, crowd, graphics).

No learning, so nothing is tied to the venues seen in development:

1. **Line pixels**: thin bright ridges. A pixel is on a line when it is brighter (in the smallest of its R, G, B:
   white lines are bright in all three, coloured courts are not) than the pixels ``tau`` to both its sides,
   horizontally or vertically (Farin et al.'s court-line test).
2. **Line candidates**: probabilistic Hough segments on a 640-wide mask, merged into infinite lines and split into
   near-horizontal ones (baselines, service lines) and the others (sidelines, centre line).
3. **Hypotheses**: every pair of horizontal and every pair of other candidates, assigned to every ordered pair of the
   model's 4 horizontal and 5 other lines, gives a homography from 4 intersections; implausible ones are dropped
   (mirrored, a far side wider than the near one, a court too small) and the rest scored by how many points sampled
   along the model's 9 lines land on line pixels, less a share of those that land in view but miss. The 5
   strongest horizontal and 4 strongest other candidates first (3,600 hypotheses); all of them (up to 25,200) only
   when those give no near-perfect fit. A hypothesis with under ``MIN_SHARE`` of its samples on the mask is not
   refined (a close-up's best reach 0.7, a court view's 0.85-1.0).
4. **Refinement**: at 1280 wide, each model line is searched across its projection for the ridge's centre
   (sub-pixel, a brightness-weighted centroid), and the homography refitted to those points by robust least
   squares (point-to-line distances) with a radial lens term, four rounds with a shrinking search window.
5. **No court**: the refined fit must find the ridge at most of its in-view samples, on enough lines of both
   directions, and the court must be seen large enough.

:func:`refine_court` is step 4 alone, from an earlier frame's court (``tracking.rally`` uses it when the camera
pans or cuts back to the main view).

Command line::

    python -m tracking.court SOURCE [--frame N] --out OUT.json

SOURCE an image or a video (N its frame, default 0); OUT.json holds ``{"keypoints": {name: [x, y]},
"homography": [[...], [...], [...]], "size": [w, h]}`` in the frame's own pixels, or ``{"court": null}``.
"""
from __future__ import annotations

import itertools
import logging
import sys
from dataclasses import dataclass

import cv2
import numpy as np

from data_prep.court import HORIZONTAL_Y, KEYPOINT_NAMES, KEYPOINT_XY, LINES, VERTICAL_X, to_pixels

log = logging.getLogger(__name__)

DETECT_WIDTH = 640  # line candidates and hypotheses
REFINE_WIDTH = 1280  # ridge search and the final fit
MIN_SHARE = 0.75  # of a hypothesis's in-view samples on the (dilated, 640-wide) line mask, to be refined
MAX_LINES = 8  # strongest candidates kept per direction
MAX_VERTICAL = 6  # of the others, those meeting at the sidelines' vanishing point
HOUGH_BINS = 360  # angle bins over 180 degrees
HORIZONTAL_DEG = 25.0  # a line within this of horizontal is a baseline or service line candidate


@dataclass(frozen=True)
class CourtFit:
    """A detected court.

    homography: (3, 3) court metres -> the frame's pixels
    size:       (w, h) of the frame
    score:      share of in-view model samples with a line ridge at the fitted position
    lines_seen: model lines (of 9) with at least a quarter of their in-view samples on a ridge
    distortion: the lens's radial term k (:func:`undistort`): the homography maps metres to the undistorted image,
                the keypoints are where the lens puts them
    """

    homography: np.ndarray
    size: tuple[int, int]
    score: float
    lines_seen: int
    distortion: float = 0.0

    def keypoints(self) -> dict[str, list[float]]:
        uv = distort(to_pixels(self.homography, KEYPOINT_XY), self.distortion, self.size)
        return {name: [float(u), float(v)] for name, (u, v) in zip(KEYPOINT_NAMES, uv)}

    def undistort(self, uv: np.ndarray) -> np.ndarray:
        """The frame's pixels (..., 2) to the undistorted image the homography maps to."""
        return undistort(uv, self.distortion, self.size)

    def to_json(self) -> dict:
        return {"keypoints": self.keypoints(), "homography": self.homography.tolist(), "size": list(self.size),
                "distortion": self.distortion}


# ------------------------------------------------------------------------------------------------ line pixels


def _whiteness(rgb: np.ndarray, width: int | None = None) -> np.ndarray:
    """(H', W') float32: the smallest of R, G, B (white lines are bright in all three channels, coloured courts not),
    resized to ``width`` (the frame's own by default). Taken before the resize: one channel to shrink, not three."""
    r, g, b = cv2.split(rgb)
    white = cv2.min(cv2.min(r, g), b)
    hgt, wid = white.shape
    if width is not None and width != wid:
        # Bilinear is as exact as area averaging here (the same fits on the references) at a fifth of the cost, as
        # long as it skips no pixel.
        method = cv2.INTER_LINEAR if wid <= 2 * width else cv2.INTER_AREA
        white = cv2.resize(white, (width, round(hgt * width / wid)), interpolation=method)
    return white.astype(np.float32)


def line_mask(white: np.ndarray, tau: int, contrast: float = 10.0) -> np.ndarray:
    """(H, W) bool: pixels brighter by ``contrast`` than both pixels ``tau`` away horizontally or vertically."""
    w8 = np.clip(white, 0, 255).astype(np.uint8)
    pad = cv2.copyMakeBorder(w8, tau, tau, tau, tau, cv2.BORDER_REPLICATE)
    h, w = w8.shape
    # Saturating differences: brighter than the left and the right neighbour (or the upper and the lower one).
    across = cv2.min(cv2.subtract(w8, pad[tau:tau + h, :w]), cv2.subtract(w8, pad[tau:tau + h, 2 * tau:]))
    along = cv2.min(cv2.subtract(w8, pad[:h, tau:tau + w]), cv2.subtract(w8, pad[2 * tau:, tau:tau + w]))
    return cv2.max(across, along) > contrast


# ------------------------------------------------------------------------------------------- line candidates


def _candidate_lines(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merged Hough lines as homogeneous (a, b, c) with a^2 + b^2 = 1 (a x + b y + c = 0): (Nh, 3) near-horizontal,
    (Nv, 3) the others, each sorted by support (strongest first), at most ``MAX_LINES`` each."""
    h, w = mask.shape
    segments = cv2.HoughLinesP(mask.astype(np.uint8) * 255, 1, np.pi / HOUGH_BINS, threshold=30,
                               minLineLength=w // 16, maxLineGap=6)
    if segments is None:
        return np.zeros((0, 3)), np.zeros((0, 3))
    segments = segments[:, 0].astype(np.float64)
    d = segments[:, 2:] - segments[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    order = np.argsort(-length)
    merged: list[list] = []  # [line (3,), support, points list]
    for i in order:
        x1, y1, x2, y2 = segments[i]
        n = np.array([-(y2 - y1), x2 - x1]) / length[i]
        line = np.array([n[0], n[1], -(n[0] * x1 + n[1] * y1)])
        for m in merged:
            ref = m[0]
            # Same line when both endpoints lie within 4 px of it and the directions agree within 2 degrees.
            if abs(ref[0] * n[1] - ref[1] * n[0]) < 0.035 and max(abs(ref @ [x1, y1, 1]), abs(ref @ [x2, y2, 1])) < 4:
                m[1] += length[i]
                m[2].extend([(x1, y1), (x2, y2)])
                break
        else:
            merged.append([line, length[i], [(x1, y1), (x2, y2)]])
    lines, support = [], []
    for line, s, points in merged:
        lines.append(_fit_line(np.array(points)) if len(points) > 2 else line)
        support.append(s)
    lines, support = np.array(lines), np.array(support)
    lines = lines[np.argsort(-support)]
    # Normal (a, b): a near-horizontal line has |b| large.
    horizontal = np.abs(lines[:, 1]) > np.cos(np.radians(HORIZONTAL_DEG))
    return lines[horizontal][:3 * MAX_LINES], lines[~horizontal][:MAX_LINES]


def _fit_line(points: np.ndarray) -> np.ndarray:
    """Total least squares line (a, b, c), unit normal, through (N, 2) points."""
    centre = points.mean(0)
    _, _, vt = np.linalg.svd(points - centre)
    a, b = vt[1]
    return np.array([a, b, -(a * centre[0] + b * centre[1])])


# ------------------------------------------------------------------------------------------------ hypotheses


def _samples(step: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` metres along the 9 model lines: (N, 2) court metres and (N,) line index."""
    points, index = [], []
    for k, (a, b) in enumerate(LINES):
        n = max(int(np.linalg.norm(b - a) / step), 2)
        t = np.linspace(0, 1, n)[:, None]
        points.append(a + t * (b - a))
        index.append(np.full(n, k))
    return np.concatenate(points), np.concatenate(index)


COARSE_XY, COARSE_LINE = _samples(0.5)


def _homographies(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(B, 3, 3) homographies mapping (B, 4, 2) src points to (B, 4, 2) dst points (DLT, h33 = 1); NaN if singular."""
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    zero, one = np.zeros_like(x), np.ones_like(x)
    rows_u = np.stack([x, y, one, zero, zero, zero, -u * x, -u * y], -1)
    rows_v = np.stack([zero, zero, zero, x, y, one, -v * x, -v * y], -1)
    a = np.concatenate([rows_u, rows_v], 1)  # (B, 8, 8)
    b = np.concatenate([u, v], 1)
    good = np.abs(np.linalg.det(a)) > 1e-9
    h = np.full((len(src), 9), np.nan)
    if good.any():
        h[good, :8] = np.linalg.solve(a[good], b[good][..., None])[..., 0]
        h[good, 8] = 1.0
    return h.reshape(-1, 3, 3)


def _project(hs: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, 3, 3) homographies applied to (N, 2) points: (B, N, 2) pixels and (B, N) homogeneous w."""
    p = np.matmul(hs, np.concatenate([xy, np.ones((len(xy), 1))], 1).T)  # (B, 3, N)
    return np.stack([p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]], -1), p[:, 2]


def _plausible(hs: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(B,) bool: the court is in front of the camera, not mirrored, its near side at least as wide as its far one,
    its doubles rectangle covers a fair part of the frame and is not flattened to a line."""
    w, h = size
    corners = np.array([[0, 0], [10.97, 0], [10.97, 23.77], [0, 23.77]], np.float64)
    with np.errstate(all="ignore"):
        uv, depth = _project(hs, corners)
        fl, fr, nr, nl = uv[:, 0], uv[:, 1], uv[:, 2], uv[:, 3]
        ok = np.isfinite(uv).all((1, 2)) & (np.sign(depth) == np.sign(depth[:, :1])).all(1)
        ok &= (fr[:, 0] > fl[:, 0]) & (nr[:, 0] > nl[:, 0]) & (nl[:, 1] > fl[:, 1]) & (nr[:, 1] > fr[:, 1])
        far_w, near_w = fr[:, 0] - fl[:, 0], nr[:, 0] - nl[:, 0]
        ok &= (near_w > 0.9 * far_w) & (near_w < 6 * far_w)
        x, y = uv[..., 0], uv[..., 1]
        area = 0.5 * np.abs((x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y).sum(1))
        ok &= (area > 0.08 * w * h) & (area < 4.0 * w * h)
        ok &= (far_w > 0.15 * w) & (near_w < 3 * w) & (np.abs(fl[:, 1] - fr[:, 1]) < 0.3 * h)
        ok &= (nl[:, 1] - fl[:, 1] > 0.1 * h) & (nr[:, 1] - fr[:, 1] > 0.1 * h)  # not flattened to a line
    return ok


def _score(hs: np.ndarray, hit_map: np.ndarray, xy: np.ndarray, miss_cost: float = 0.5,
           share: bool = False) -> np.ndarray:
    """(B,) hits minus ``miss_cost`` x misses of the projected samples ``xy`` (N, 2) on the dilated line mask; with
    ``share`` also (B,) the share of the in-view samples that hit."""
    h, w = hit_map.shape
    p = np.matmul(hs.astype(np.float32), np.concatenate([xy, np.ones((len(xy), 1))], 1).T.astype(np.float32))
    with np.errstate(all="ignore"):
        u, v = p[:, 0] / p[:, 2] + 0.5, p[:, 1] / p[:, 2] + 0.5
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)  # NaN compares False
    index = np.where(inside, v.astype(np.int32) * w + u.astype(np.int32), 0)
    hit = hit_map.ravel()[index] & inside
    hits, seen = hit.sum(1), inside.sum(1)
    scores = hits - miss_cost * (seen - hits)
    return (scores, hits / np.maximum(seen, 1)) if share else scores


def _intersections(l1: np.ndarray, l2: np.ndarray) -> np.ndarray:
    """Intersections (..., 2) of homogeneous lines (..., 3)."""
    p = np.cross(l1, l2)
    return p[..., :2] / p[..., 2:]


def _vanishing_filter(ver: np.ndarray, size: tuple[int, int], tolerance_deg: float = 1.0) -> np.ndarray:
    """The non-horizontal candidates that meet near one point (the court's sidelines and centre line converge on a
    vanishing point; lines in the stands mostly do not), strongest first; all of them when none is shared by 3."""
    if len(ver) < 3:
        return ver
    centre = np.array([size[0] / 2, size[1] / 2])
    foot = centre - (ver[:, :2] @ centre + ver[:, 2])[:, None] * ver[:, :2]  # each line's point nearest the centre
    best, best_support = None, 0.0
    for i, j in itertools.combinations(range(len(ver)), 2):
        p = np.cross(ver[i], ver[j])
        if abs(p[2]) < 1e-12:
            continue
        p = p[:2] / p[2]
        to_p = p - foot
        along = np.stack([ver[:, 1], -ver[:, 0]], 1)  # line directions
        cos = np.abs((to_p * along).sum(1)) / np.maximum(np.linalg.norm(to_p, axis=1), 1e-9)
        agree = cos > np.cos(np.radians(tolerance_deg))
        support = agree.sum() + 1e-3 * (len(ver) - np.flatnonzero(agree)).sum()  # ties: the stronger lines
        if agree.sum() >= 3 and support > best_support:
            best, best_support = agree, support
    return ver if best is None else ver[best]


def _between_support(hor: np.ndarray, ver: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(Nh,) line pixels along each horizontal candidate between the leftmost and rightmost of the ``ver`` lines
    (where a baseline or service line lies), so that long stripes in the stands rank below the court's lines;
    none above where the two strongest of them end (a sideline ends at the far baseline; the stands are above it)."""
    h, w = mask.shape
    u = np.arange(w, dtype=np.float64)
    v = -(hor[:, 2:3] + hor[:, 0:1] * u) / hor[:, 1:2]  # (Nh, W)
    x_at = -(ver[:, 2][:, None, None] + ver[:, 1][:, None, None] * v[None]) / ver[:, 0][:, None, None]  # (Nv, Nh, W)
    between = (u >= x_at.min(0) - 2) & (u <= x_at.max(0) + 2) & (v >= 0) & (v < h)
    vi = np.clip(np.round(v), 0, h - 1).astype(np.int64)
    support = (mask[vi, np.broadcast_to(u.astype(np.int64), vi.shape)] & between).sum(1)
    top = min(_top_end(line, mask) for line in ver[:2])
    return np.where(v[:, w // 2] < top - 6, 0, support)


def _top_end(line: np.ndarray, mask: np.ndarray, run: int = 15) -> float:
    """The highest row where a non-horizontal ``line`` still has line pixels along most of the ``run`` rows below."""
    h, w = mask.shape
    y = np.arange(h)
    x = np.round(-(line[2] + line[1] * y) / line[0]).astype(np.int64)
    inside = (x >= 1) & (x < w - 1)
    xc = np.clip(x, 2, w - 3)
    # Within 2 px: a straight candidate drifts off a sideline that the lens bends.
    on = (mask[y, xc] | mask[y, xc - 1] | mask[y, xc + 1] | mask[y, xc - 2] | mask[y, xc + 2]) & inside
    density = np.convolve(on.astype(float), np.ones(run) / run)[run - 1:]  # share of rows y .. y + run - 1 on it
    dense = np.flatnonzero(density >= 0.5)
    return float(dense[0]) if len(dense) else 0.0


def _distinct(hor: np.ndarray, width: int, gap: float = 5.0) -> np.ndarray:
    """Horizontal candidates, strongest first, leaving out those within ``gap`` px (at mid-width) of a stronger one:
    the net's band and mesh give many near-copies that would crowd out a faint far baseline."""
    mid = -(hor[:, 2] + hor[:, 0] * width / 2) / hor[:, 1]
    kept: list[int] = []
    for i in range(len(hor)):
        if all(abs(mid[i] - mid[k]) >= gap for k in kept):
            kept.append(i)
    return hor[kept]


def _square_homographies(quads: np.ndarray) -> np.ndarray:
    """(B, 3, 3) homographies mapping the unit square's corners (0,0), (1,0), (0,1), (1,1) to (B, 4, 2) points."""
    square = np.broadcast_to(np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float64), quads.shape)
    return _homographies(square, quads)


def _hypotheses(hor: np.ndarray, ver: np.ndarray, hit_map: np.ndarray, top: int = 5) -> list[np.ndarray]:
    """The ``top`` best-scoring plausible homographies (court metres -> mask pixels) from candidate lines."""
    size = hit_map.shape[::-1]
    # Image lines ordered: horizontal ones top to bottom, the others left to right (where they cross mid-height).
    hor = hor[np.argsort(-hor[:, 2] / hor[:, 1])]
    ver = ver[np.argsort(-(ver[:, 2] + ver[:, 1] * size[1] / 2) / ver[:, 0])]
    ha, hb = np.array(list(itertools.combinations(range(len(hor)), 2))).T
    vc, vd = np.array(list(itertools.combinations(range(len(ver)), 2))).T
    ha, hb = np.repeat(ha, len(vc)), np.repeat(hb, len(vc))
    vc, vd = np.tile(vc, len(hor) * (len(hor) - 1) // 2), np.tile(vd, len(hor) * (len(hor) - 1) // 2)
    with np.errstate(all="ignore"):
        quads = np.stack([_intersections(hor[ha], ver[vc]), _intersections(hor[ha], ver[vd]),
                          _intersections(hor[hb], ver[vc]), _intersections(hor[hb], ver[vd])], 1)
    quads = quads[np.isfinite(quads).all((1, 2))]
    if not len(quads):
        return []
    image = _square_homographies(quads)  # square -> image
    hs = np.matmul(image[:, None], MODEL_FROM_ASSIGNMENT[None]).reshape(-1, 3, 3)
    hs = hs[np.isfinite(hs).all((1, 2))]
    hs = hs[_plausible(hs, size)]
    if not len(hs):
        return []
    scores = _score(hs, hit_map, SPARSE_XY)
    hs = hs[np.argsort(-scores)[:200]]  # a cheap first cut on a sample every 2 m
    scores, share = _score(hs, hit_map, COARSE_XY, share=True)
    best = np.argsort(-scores)[:top]
    # Only a hypothesis with most of its lines on the mask is refined: a court view's best has 0.85-1.0 of them,
    # a close-up's 0.7 at most (its refinement was the slow part of a "no court").
    return [hs[i] for i in best if scores[i] > 0 and share[i] >= MIN_SHARE]


def _model_from_assignment() -> np.ndarray:
    """(60, 3, 3) for each ordered pair of model horizontals and of model verticals, the homography from the court's
    metres to the unit square whose corners are their 4 crossings."""
    out = []
    for (i, j), (k, m) in itertools.product(itertools.combinations(range(4), 2), itertools.combinations(range(5), 2)):
        quad = np.array([[VERTICAL_X[k], HORIZONTAL_Y[i]], [VERTICAL_X[m], HORIZONTAL_Y[i]],
                         [VERTICAL_X[k], HORIZONTAL_Y[j]], [VERTICAL_X[m], HORIZONTAL_Y[j]]])
        out.append(np.linalg.inv(_square_homographies(quad[None])[0]))
    return np.array(out)


MODEL_FROM_ASSIGNMENT = _model_from_assignment()
SPARSE_XY = COARSE_XY[::4]


# ------------------------------------------------------------------------------------------------ refinement


def distort(uv: np.ndarray, k: float, size: tuple[int, int]) -> np.ndarray:
    """Pixels (..., 2) of an ideal pinhole image to the lens's (barrel for ``k > 0``): the inverse of
    :func:`undistort`, by fixed-point iteration."""
    if k == 0:
        return uv
    centre = (np.asarray(size, np.float64) - 1) / 2
    ideal = uv - centre
    d = ideal
    for _ in range(4):
        d = ideal / (1 + k * ((d / size[0]) ** 2).sum(-1, keepdims=True))
    return centre + d


def undistort(uv: np.ndarray, k: float, size: tuple[int, int]) -> np.ndarray:
    """The lens's pixels (..., 2) to an ideal pinhole image's: one radial term about the image centre,
    ``u = c + d (1 + k (|d| / width)^2)`` with ``d`` the offset from the centre."""
    if k == 0:
        return np.asarray(uv, np.float64)
    centre = (np.asarray(size, np.float64) - 1) / 2
    d = np.asarray(uv, np.float64) - centre
    return centre + d * (1 + k * ((d / size[0]) ** 2).sum(-1, keepdims=True))


def _ridge_points(white: np.ndarray, h: np.ndarray, radius: float, spacing: float = 6.0, k: float = 0.0):
    """Search across each projected model line (bent by the lens term ``k``) for the ridge's centre.

    Returns (M, 2) found pixels, (M,) their model line index, and per model line the in-view sample count and the
    found count. All 9 lines in one batch (one ``remap``).
    """
    hgt, wid = white.shape
    size = (wid, hgt)
    offsets = np.arange(-radius, radius + 0.25, 0.5)
    ends = to_pixels(h, LINES.reshape(-1, 2)).reshape(-1, 2, 2)
    with np.errstate(all="ignore"):
        length = np.linalg.norm(ends[:, 1] - ends[:, 0], axis=1)
        usable = np.isfinite(length) & (length >= 1) & (length <= 20 * wid)
    counts = np.where(usable, np.maximum((np.where(usable, length, 0) / spacing).astype(int), 2), 0)
    line = np.repeat(np.arange(len(LINES)), counts)
    # Sample in court metres (perspective-correct), then step across the image line.
    t = np.concatenate([np.linspace(0.02, 0.98, n) for n in counts if n])[:, None] if counts.any() else np.zeros((0, 1))
    a, b = LINES[line, 0], LINES[line, 1]
    uv = distort(to_pixels(h, a + t * (b - a)), k, size)
    ahead = distort(to_pixels(h, a + (t + 0.01) * (b - a)), k, size)  # the local direction of a bent line
    direction = (ahead - uv) / np.maximum(np.linalg.norm(ahead - uv, axis=1, keepdims=True), 1e-9)
    normal = np.stack([-direction[:, 1], direction[:, 0]], 1)
    keep = (uv[:, 0] > radius) & (uv[:, 0] < wid - 1 - radius) & (uv[:, 1] > radius) & (uv[:, 1] < hgt - 1 - radius)
    uv, normal, line = uv[keep], normal[keep], line[keep]
    in_view = np.bincount(line, minlength=len(LINES)).astype(float)
    if not len(uv):
        return np.zeros((0, 2)), np.zeros(0, int), in_view, np.zeros(len(LINES))
    probe = uv[:, None, :] + offsets[None, :, None] * normal[:, None, :]  # (S, O, 2)
    profile = cv2.remap(white, probe[..., 0].astype(np.float32), probe[..., 1].astype(np.float32), cv2.INTER_LINEAR)
    base = np.minimum(profile[:, :3].mean(1), profile[:, -3:].mean(1))[:, None]
    lift = profile - base
    peak = lift.max(1)
    arg = lift.argmax(1)
    # A ridge: clearly brighter than both ends of the profile, its peak not at the window's edge.
    ok = (peak > 15) & (arg > 1) & (arg < len(offsets) - 2)
    weights = np.clip(lift - 0.5 * peak[:, None], 0, None)
    # Keep only the peak's own lobe: offsets within 4 px of it.
    weights *= np.abs(offsets[None, :] - offsets[arg][:, None]) <= 4
    centre = (weights * offsets).sum(1) / np.maximum(weights.sum(1), 1e-9)
    points = uv + centre[:, None] * normal
    hits = np.bincount(line[ok], minlength=len(LINES)).astype(float)
    return points[ok], line[ok], in_view, hits


def _model_line_coeffs() -> np.ndarray:
    """(9, 3) homogeneous model lines in court metres."""
    a, b = LINES[:, 0], LINES[:, 1]
    return np.cross(np.concatenate([a, np.ones((9, 1))], 1), np.concatenate([b, np.ones((9, 1))], 1))


MODEL_LINES = _model_line_coeffs()


def _fit_to_ridges(h: np.ndarray, points: np.ndarray, index: np.ndarray, iterations: int = 6) -> np.ndarray:
    """The homography refitted to ridge points, minimising their pixel distances to the projected model lines.

    Iteratively reweighted linear least squares on the inverse homography G (pixels -> metres): a point q on model
    line L has ``L . G q = 0``, linear in G; each iteration scales that algebraic residual to pixels with the current
    fit (divided by ``g3 . q``, times the pixels per metre across the line there) and reweights it (Huber, 1.5 px)
    so that a player's arm or the net's band does not pull the court.
    """
    scale = np.diag([1 / 1000, 1 / 1000, 1.0])  # condition pixels near unit size
    q = np.concatenate([points / 1000, np.ones((len(points), 1))], 1)
    lines = MODEL_LINES[index] / np.hypot(MODEL_LINES[index, 0], MODEL_LINES[index, 1])[:, None]
    design = (lines[:, :, None] * q[:, None, :]).reshape(-1, 9)  # L_j q_k: L . G q = design . vec(G)
    hs = scale @ h
    g = np.linalg.inv(hs)
    g = g / g[2, 2]
    for _ in range(iterations):
        court = q @ g.T
        court = court[:, :2] / court[:, 2:]
        across = to_pixels(hs, court + 0.01 * lines[:, :2]) - to_pixels(hs, court)
        px_per_m = np.linalg.norm(across, axis=1) / 0.01 * 1000  # pixels per metre across the line, full scale
        c = px_per_m / (q @ g[2])
        residual = c * (design @ g.ravel())
        weight = np.minimum(1.0, 1.5 / np.maximum(np.abs(residual), 1e-9))  # Huber
        a = design[:, :8] * c[:, None]
        b = -c * design[:, 8]
        new = np.linalg.solve(a.T @ (weight[:, None] * a) + 1e-12 * np.eye(8), a.T @ (weight * b))
        step = np.abs(new - g.ravel()[:8]).max()
        g = np.append(new, 1.0).reshape(3, 3)
        hs = np.linalg.inv(g)
        if step < 1e-9:
            break
    out = np.linalg.inv(scale) @ hs
    return out / out[2, 2]


# --------------------------------------------------------------------------------------------------- detector


MIN_SCORE = 0.65  # share of in-view samples on a ridge after refinement (tennis 0.70-0.99, badminton 0.5-0.6)
GOOD_SCORE = 0.9  # a fit this good ends the search
SEARCH_TIERS = ((5, 4), (MAX_LINES, MAX_VERTICAL))  # (horizontal, other) candidates per round of hypotheses
MIN_LINES = 7  # model lines confirmed (a quarter of their in-view samples on a ridge)


def detect_court(rgb: np.ndarray) -> CourtFit | None:
    """The court in an RGB frame (H, W, 3), or ``None`` when the frame shows no main-camera court view."""
    return search_court(rgb)[0]


def search_court(rgb: np.ndarray) -> tuple[CourtFit | None, bool]:
    """:func:`detect_court`, and whether any hypothesis was court-like enough to be refined (False: a close-up,
    the crowd, a graphic; True and no court: maybe a court hidden in part, worth another look on a later frame)."""
    hgt, wid = rgb.shape[:2]
    refine_scale = REFINE_WIDTH / wid
    white = _whiteness(rgb, REFINE_WIDTH)
    # Line pixels at 1280 wide (a far baseline is 1-2 px there), pooled to 640 for the Hough and the hypotheses.
    fine = line_mask(white, tau=6)
    small_scale = refine_scale * DETECT_WIDTH / REFINE_WIDTH
    mask = cv2.resize(fine.astype(np.uint8), (DETECT_WIDTH, round(fine.shape[0] * DETECT_WIDTH / REFINE_WIDTH)),
                      interpolation=cv2.INTER_AREA) > 0
    hor, ver = _candidate_lines(mask)
    ver = _vanishing_filter(ver, mask.shape[::-1])[:MAX_VERTICAL]
    if len(hor) < 2 or len(ver) < 2:
        return None, False
    hor = _distinct(hor[np.argsort(-_between_support(hor, ver, mask))], mask.shape[1])[:MAX_LINES]
    hit_map = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    up = rescale(refine_scale / small_scale)
    best = None
    tried: list[np.ndarray] = []
    # The strongest few lines first (a fifth of the hypotheses): on a clear main-camera view they hold the court's
    # lines and give a near-perfect fit; all the candidates only when they do not.
    for n_hor, n_ver in SEARCH_TIERS:
        for h in _hypotheses(hor[:n_hor], ver[:n_ver], hit_map):
            corners = to_pixels(h, KEYPOINT_XY[:4])
            if any(np.abs(corners - seen).max() < 4 for seen in tried):
                continue  # a near-copy of a hypothesis already refined: it would refine to the same fit
            tried.append(corners)
            fit = _refine(white, up @ h)
            if fit is not None and (best is None or fit[1] > best[1]):
                best = fit
            if best is not None and best[1] > GOOD_SCORE:
                break  # a near-perfect fit: the other hypotheses cannot beat it by much
        if best is not None and best[1] > GOOD_SCORE:
            break
    if best is None:
        return None, bool(tried)
    h, score, lines_seen, both, k = best
    if score < MIN_SCORE or lines_seen < MIN_LINES or not both:
        log.debug("no court: score %.2f, %d lines", score, lines_seen)
        return None, True
    back = rescale(1 / refine_scale) @ h
    return CourtFit(back / back[2, 2], (wid, hgt), score, lines_seen, k), True


def refine_court(rgb: np.ndarray, prior: CourtFit, shift: np.ndarray | None = None) -> CourtFit | None:
    """The court in an RGB frame (H, W, 3) found from ``prior`` (an earlier frame's court: the same camera, moved
    by at most a few pixels, or by ``shift`` (3, 3), the camera's motion in the frame's pixels from the prior's
    frame to this one) with the detector's refinement alone, no search; ``None`` unless the fit is near-perfect
    (a court found this way that is off by a line would never be searched for again)."""
    hgt, wid = rgb.shape[:2]
    if prior.size != (wid, hgt):
        return None
    refine_scale = REFINE_WIDTH / wid
    h = prior.homography if shift is None else shift @ prior.homography
    fit = _refine(_whiteness(rgb, REFINE_WIDTH), rescale(refine_scale) @ h, prior.distortion, REUSE_RADII)
    if fit is None or fit[1] < GOOD_SCORE or fit[2] < MIN_LINES or not fit[3]:
        return None
    back = rescale(1 / refine_scale) @ fit[0]
    return CourtFit(back / back[2, 2], (wid, hgt), fit[1], fit[2], fit[4])


def rescale(fx: float, fy: float | None = None) -> np.ndarray:
    """(3, 3) pixels of an image to those of the image resized by ``fx`` across and ``fy`` (default ``fx``) down
    (pixel centres at integers)."""
    fy = fx if fy is None else fy
    return np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1.0]])


LINE_HORIZONTAL = np.abs(LINES[:, 0, 1] - LINES[:, 1, 1]) < 1e-9  # (9,) which model lines run across the court
REFINE_RADII = (8.0, 5.0, 3.0, 3.0)  # px at 1280 wide, searched across each model line per round
REUSE_RADII = (8.0, 4.0, 3.0)  # the same from an earlier frame's court, whose lens term is known


def _refine(white: np.ndarray, h: np.ndarray, k: float = 0.0, radii: tuple[float, ...] = REFINE_RADII):
    """Rounds of ridge search and refit, one per search radius in ``radii`` (the homography, then the lens term
    ``k`` too); returns (H, score, lines seen, both directions seen, lens term) or None."""
    size = white.shape[::-1]
    for radius in radii:
        points, index, in_view, hits = _ridge_points(white, h, radius, k=k)
        if len(points) < 8 or (radius == radii[0] and hits.sum() < 0.3 * in_view.sum()):
            return None  # a wrong hypothesis: under 30 % of the lines' samples near a ridge even 8 px around
        try:
            h, k = _fit_with_lens(h, points, index, k, size, lens=radius < radii[0])
        except (ValueError, np.linalg.LinAlgError):
            return None
    if not _plausible(h[None], size)[0]:
        return None
    points, index, in_view, hits = _ridge_points(white, h, 2.5, k=k)
    seen = (hits >= 0.25 * np.maximum(in_view, 1)) & (in_view >= 3)
    score = hits.sum() / max(in_view.sum(), 1)
    both = bool((seen & LINE_HORIZONTAL).sum() >= 2 and (seen & ~LINE_HORIZONTAL).sum() >= 2)
    return h, float(score), int(seen.sum()), both, k


TRIAL_ITERATIONS, FIT_ITERATIONS = 1, 3  # reweighted least-squares rounds: a fit at a trial lens term, the fit kept
MAX_LENS = 0.3  # |k| of the radial term: a 1280-wide frame's corner moves by up to ~30 px


def _fit_with_lens(h: np.ndarray, points: np.ndarray, index: np.ndarray, k: float, size: tuple[int, int],
                   lens: bool, step: float = 0.04) -> tuple[np.ndarray, float]:
    """The homography refitted to the ridge points and, with ``lens``, the radial term ``k`` moved to the minimum of
    a parabola through the robust cost at ``k - step``, ``k``, ``k + step`` (a broadcast lens bends a baseline by
    up to several pixels; a homography alone then pulls the corners off)."""
    if lens:
        costs = []
        for trial in (k - step, k, k + step):
            ideal = undistort(points, trial, size)
            costs.append(_line_cost(_fit_to_ridges(h, ideal, index, iterations=TRIAL_ITERATIONS), ideal, index))
        curvature = costs[0] - 2 * costs[1] + costs[2]
        move = -step * (costs[2] - costs[0]) / (2 * curvature) if curvature > 0 else step * np.sign(costs[0] - costs[2])
        k = float(np.clip(k + np.clip(move, -2 * step, 2 * step), -MAX_LENS, MAX_LENS))
    return _fit_to_ridges(h, undistort(points, k, size), index, iterations=FIT_ITERATIONS), k


def _line_cost(h: np.ndarray, points: np.ndarray, index: np.ndarray) -> float:
    """Huber cost (1.5 px) of the points' pixel distances to their projected model lines."""
    lines = np.linalg.solve(h.T, MODEL_LINES.T).T[index]
    r = np.abs(lines[:, 0] * points[:, 0] + lines[:, 1] * points[:, 1] + lines[:, 2]) / np.hypot(lines[:, 0],
                                                                                                 lines[:, 1])
    return float(np.where(r < 1.5, 0.5 * r**2, 1.5 * (r - 0.75)).sum())


if __name__ == "__main__":  # the command line is cli/court.py
    from cli.court import main

    sys.exit(main())
