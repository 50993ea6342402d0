"""The tennis court in metres: its 14 named keypoints and painted lines, homographies between court metres and
pixels, and the in / out call of a bounce with its uncertainty.

Court frame, metres, as the main broadcast camera sees it: ``x`` from the image's left doubles sideline (0) to the
right one (10.97), ``y`` from the far baseline (0) to the near baseline (23.77). The renderer's world frame
(:mod:`data_prep.synth.camera`: origin under the net's centre, ``y`` away from the camera) maps to it by
:func:`world_to_court`, and the lines are the renderer's own (:func:`data_prep.synth.camera.court_lines`): one
definition of the court for drawing and for detecting it.

Lines are painted inside the court's dimensions (ITF rules measure to their outside edges), so a line's centre lies
half a line width inside its nominal position: the far baseline's centre is at ``y = 0.05``. A keypoint is the
centre of a crossing of painted lines, the point one clicks on, a few centimetres inside the nominal corner
(``far_left_doubles`` is ``(0.025, 0.05)``); the homography maps nominal metres, so a bounce at ``x = 1.37`` is on
the singles sideline's outer edge.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .synth.camera import COURT_LENGTH, DOUBLES_WIDTH, SINGLES_WIDTH, court_lines

LENGTH, WIDTH = COURT_LENGTH, DOUBLES_WIDTH
SINGLES_X = ((WIDTH - SINGLES_WIDTH) / 2, (WIDTH + SINGLES_WIDTH) / 2)  # 1.37, 9.60: the singles sidelines' edges


def world_to_court(xy: np.ndarray) -> np.ndarray:
    """Renderer world metres (..., 2) (origin under the net, ``y`` away from the camera) to court metres (..., 2)."""
    xy = np.asarray(xy, np.float64)
    return np.stack([xy[..., 0] + WIDTH / 2, LENGTH / 2 - xy[..., 1]], axis=-1)


def court_to_world(xy: np.ndarray) -> np.ndarray:
    """Court metres (..., 2) to renderer world metres (..., 2), the inverse of :func:`world_to_court`."""
    xy = np.asarray(xy, np.float64)
    return np.stack([xy[..., 0] - WIDTH / 2, LENGTH / 2 - xy[..., 1]], axis=-1)


def _model_lines() -> np.ndarray:
    """(9, 2, 2) the long painted lines' centre segments in court metres (centre marks left out: 10 cm long)."""
    segments = [world_to_court(np.stack([start, end])) for start, end, _ in court_lines()]
    return np.stack([s for s in segments if np.linalg.norm(s[1] - s[0]) > 1.0])


LINES = _model_lines()
_HORIZONTAL = sorted({round(float(s[0, 1]), 4) for s in LINES if abs(s[0, 1] - s[1, 1]) < 1e-9})
_VERTICAL = sorted({round(float(s[0, 0]), 4) for s in LINES if abs(s[0, 0] - s[1, 0]) < 1e-9})
HORIZONTAL_Y = np.array(_HORIZONTAL)  # far baseline, far service line, near service line, near baseline centres
VERTICAL_X = np.array(_VERTICAL)  # left doubles, left singles, centre, right singles, right doubles centres
_BASE_FAR, _SERVICE_FAR, _SERVICE_NEAR, _BASE_NEAR = HORIZONTAL_Y
_LEFT_D, _LEFT_S, _CENTRE, _RIGHT_S, _RIGHT_D = VERTICAL_X
KEYPOINTS: dict[str, tuple[float, float]] = {
    "far_left_doubles": (_LEFT_D, _BASE_FAR), "far_right_doubles": (_RIGHT_D, _BASE_FAR),
    "near_left_doubles": (_LEFT_D, _BASE_NEAR), "near_right_doubles": (_RIGHT_D, _BASE_NEAR),
    "far_left_singles": (_LEFT_S, _BASE_FAR), "far_right_singles": (_RIGHT_S, _BASE_FAR),
    "near_left_singles": (_LEFT_S, _BASE_NEAR), "near_right_singles": (_RIGHT_S, _BASE_NEAR),
    "far_service_left": (_LEFT_S, _SERVICE_FAR), "far_service_right": (_RIGHT_S, _SERVICE_FAR),
    "near_service_left": (_LEFT_S, _SERVICE_NEAR), "near_service_right": (_RIGHT_S, _SERVICE_NEAR),
    "far_service_t": (_CENTRE, _SERVICE_FAR), "near_service_t": (_CENTRE, _SERVICE_NEAR),
}
KEYPOINT_NAMES = tuple(KEYPOINTS)
KEYPOINT_XY = np.array(list(KEYPOINTS.values()))  # (14, 2) court metres


def to_pixels(homography: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Court metres (..., 2) to pixels (..., 2) through the 3x3 court-to-image ``homography``."""
    xy = np.asarray(xy, np.float64)
    p = np.concatenate([xy, np.ones(xy.shape[:-1] + (1,))], -1) @ np.asarray(homography, np.float64).T
    return p[..., :2] / p[..., 2:]


def to_court(homography: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) to court metres (..., 2) on the ground plane (the inverse of :func:`to_pixels`)."""
    return to_pixels(np.linalg.inv(homography), uv)


def fit_homography(xy: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """The 3x3 court-to-image homography (normalised ``H[2, 2] = 1``) from >= 4 pairs court metres (N, 2) and
    pixels (N, 2), least squares."""
    h, _ = cv2.findHomography(np.asarray(xy, np.float64), np.asarray(uv, np.float64), 0)
    if h is None:
        raise ValueError("degenerate point pairs: no homography")
    return h / h[2, 2]


def keypoints(homography: np.ndarray) -> dict[str, list[float]]:
    """The 14 named keypoints in pixels ``{name: [x, y]}``."""
    return {name: [float(u), float(v)] for name, (u, v) in zip(KEYPOINT_NAMES, to_pixels(homography, KEYPOINT_XY))}


def metres_per_pixel(homography: np.ndarray, uv: np.ndarray, step: float = 0.5) -> np.ndarray:
    """(2, 2) Jacobian d(court metres)/d(pixels) at the pixel ``uv`` (2,), central differences of ``step`` px."""
    uv = np.asarray(uv, np.float64)
    offsets = np.array([[step, 0], [-step, 0], [0, step], [0, -step]])
    xy = to_court(homography, uv + offsets)
    return np.stack([xy[0] - xy[1], xy[2] - xy[3]], axis=1) / (2 * step)


@dataclass(frozen=True)
class Call:
    """Where a bounce landed and whether in the singles court.

    xy:     (x, y) court metres
    call:   ``in``, ``out`` or ``close`` (the nearest boundary is within ``CLOSE_SIGMAS`` standard deviations)
    margin: signed distance in metres to the nearest singles boundary, positive inside
    sigma:  standard deviation in metres of the position across that boundary
    """

    xy: tuple[float, float]
    call: str
    margin: float
    sigma: float


CLOSE_SIGMAS = 2.0


def call_bounce(homography: np.ndarray, uv: np.ndarray, sigma_px: float = 3.0) -> Call:
    """Place the bounce seen at pixel ``uv`` (2,) on the court and call it against the singles court (lines in).

    The uncertainty: an isotropic pixel error of ``sigma_px`` (the ball's position error and the court fit's
    keypoint error together) pushed through the homography's local Jacobian, so a far-court bounce, where a pixel
    spans more ground, is less certain. Along a boundary's normal (x for the sidelines, y for the baselines) the
    position's standard deviation is ``sigma_px`` times the norm of that row of the Jacobian; a bounce within
    ``CLOSE_SIGMAS`` of it from any boundary is ``close``.
    """
    x, y = to_court(homography, uv)
    jac = metres_per_pixel(homography, uv)
    sx, sy = sigma_px * np.linalg.norm(jac, axis=1)
    boundaries = [(x - SINGLES_X[0], sx), (SINGLES_X[1] - x, sx), (y, sy), (LENGTH - y, sy)]
    inside = all(d >= 0 for d, _ in boundaries)
    margin, sigma = min(boundaries, key=lambda b: abs(b[0]))
    if not inside:  # the margin of an out ball is its distance beyond the boundary it crossed furthest
        margin, sigma = min(boundaries, key=lambda b: b[0])
    # In: close when any boundary is near. Out: close only when every boundary it is beyond is near (could be in).
    close = (any(abs(d) < CLOSE_SIGMAS * s for d, s in boundaries) if inside else
             all(-d < CLOSE_SIGMAS * s for d, s in boundaries if d < 0))
    call = "close" if close else ("in" if inside else "out")
    return Call((float(x), float(y)), call, float(margin), float(sigma))
