"""Drawing the ball: a shaded, motion-blurred sphere in a small patch, its shadow, and how visible it ended up.

The exposure is integrated over sub-frame positions: each sample adds the analytic pixel coverage of a disc of the
ball's projected radius, so a fast ball becomes a long faint streak and a still one a disc whose coverage centroid
is exactly its projected centre. A Gaussian point-spread function (lens defocus, sensor) is applied to the patch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class BallPatch:
    """The ball as drawn, in a patch whose top-left pixel is ``(x0, y0)`` of the frame.

    alpha:    (h, w) float32 coverage of the exposure-integrated, PSF-blurred ball, before occlusion
    colour:   (h, w, 3) float32 BGR premultiplied by ``alpha``
    core:     (h, w) float32 unblurred coverage at mid-exposure (the disc the label is the centre of)
    """

    x0: int
    y0: int
    alpha: np.ndarray
    colour: np.ndarray
    core: np.ndarray

    @property
    def box(self) -> tuple[int, int, int, int]:
        h, w = self.alpha.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h


def draw_ball(centres: np.ndarray, radii: np.ndarray, colour: tuple[float, float, float], light: np.ndarray,
              psf_sigma: float) -> BallPatch:
    """Render a ball seen at sub-frame centres (k, 2) pixels with radii (k,) pixels; k is odd, the middle sample is
    the mid-exposure position. ``light`` (3,) is the image-space direction towards the light (x right, y down,
    z towards the camera)."""
    k = len(centres)
    assert k % 2 == 1 and radii.shape == (k,), "need an odd number of samples with one radius each"
    pad = float(radii.max()) + 3.0 * psf_sigma + 2.0
    x0, y0 = np.floor(centres.min(0) - pad).astype(int)
    x1, y1 = np.ceil(centres.max(0) + pad).astype(int) + 1
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)
    alpha = np.zeros((len(ys), len(xs)), np.float32)
    shade_sum = np.zeros_like(alpha)
    core = alpha
    lx, ly, lz = (float(c) for c in light / np.linalg.norm(light))
    for i in range(k):
        cx, cy, r = float(centres[i, 0]), float(centres[i, 1]), float(radii[i])
        dx = (xs - cx)[None, :] / r
        dy = (ys - cy)[:, None] / r
        d2 = dx * dx + dy * dy
        cover = np.clip(r + 0.5 - np.sqrt(d2) * r, 0.0, 1.0)
        nz = np.sqrt(np.clip(1.0 - d2, 0.0, 1.0))
        lambert = np.clip(dx * lx + dy * ly + nz * lz, 0.0, 1.0)
        alpha += cover
        shade_sum += cover * (0.7 + 0.5 * lambert)
        if i == k // 2:
            core = cover.copy()
    alpha /= k
    shade = shade_sum / k
    premult = shade[..., None] * np.asarray(colour, np.float32)[None, None]
    if psf_sigma > 0.05:
        alpha = cv2.GaussianBlur(alpha, (0, 0), psf_sigma)
        premult = cv2.GaussianBlur(premult, (0, 0), psf_sigma)
    return BallPatch(int(x0), int(y0), alpha, np.minimum(premult, 255.0 * alpha[..., None]), core)


def composite(frame: np.ndarray, patch: BallPatch, occlusion: np.ndarray | None) -> tuple[float, float]:
    """Blend the ball into ``frame`` (H, W, 3) uint8 BGR in place, hidden where ``occlusion`` (h, w) uint8 covers it.

    Returns ``(visible_fraction, contrast)``: the share of the mid-exposure disc not covered, and the largest colour
    change (0..255, max over channels) the ball made to any pixel, a proxy for how easy it is to see.
    """
    x0, y0, x1, y1 = patch.box
    fh, fw = frame.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, fw), min(y1, fh)
    keep = np.ones_like(patch.alpha) if occlusion is None else 1.0 - occlusion.astype(np.float32) / 255.0
    core_sum = float(patch.core.sum())
    visible = float((patch.core * keep).sum()) / core_sum if core_sum > 0 else 0.0
    if cx1 <= cx0 or cy1 <= cy0:
        return visible, 0.0
    sl = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    a = (patch.alpha * keep)[sl][..., None]
    col = (patch.colour * keep[..., None])[sl]
    roi = frame[cy0:cy1, cx0:cx1]
    before = roi.astype(np.float32)
    after = before * (1.0 - a) + col
    contrast = float(np.abs(after - before).max()) if after.size else 0.0
    roi[:] = np.clip(after + 0.5, 0, 255).astype(np.uint8)
    return visible, contrast


def draw_shadow(frame: np.ndarray, start: np.ndarray, end: np.ndarray, radius: tuple[float, float],
                strength: float) -> None:
    """Darken a soft ellipse (semi-axes ``radius`` (rx, ry) px) swept from ``start`` to ``end`` (2,) pixels."""
    if strength <= 0.01:
        return
    rx, ry = max(radius[0], 0.7), max(radius[1], 0.5)
    pad = math.ceil(max(rx, ry) * 2 + 3)
    lo = np.floor(np.minimum(start, end)).astype(int) - pad
    hi = np.ceil(np.maximum(start, end)).astype(int) + pad + 1
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], frame.shape[1]), min(hi[1], frame.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    n = max(int(np.linalg.norm(end - start) / max(rx, 1.0)) + 1, 1)
    for s in np.linspace(0.0, 1.0, n + 1) if n > 1 else [0.5]:
        c = start + (end - start) * s - np.array([x0, y0])
        cv2.ellipse(mask, (round(c[0] * 8), round(c[1] * 8)), (int(rx * 8), int(ry * 8)), 0, 0, 360, 255,
                    -1, cv2.LINE_AA, 3)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, 0.4 * rx))
    roi = frame[y0:y1, x0:x1]
    roi[:] = (roi * (1.0 - strength * mask[..., None].astype(np.float32) / 255.0)).astype(np.uint8)
