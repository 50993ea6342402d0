"""The static venue of a broadcast: court surface, lines, net, stands with a crowd, advertising boards, umpire chair,
ball kids and line judges, plus the TV score overlay.

:func:`random_venue` draws a venue's look (surface, colours, sponsors, light); :func:`render_background` renders it
once per clip through the clip's base camera into a BGR image and keeps the pieces that can hide the ball (net,
umpire chair, static people) as :class:`Occluder` objects that re-draw themselves into a small mask patch for any
drifted camera. Textured planes (ground, stands, boards, net) are drawn as top-down or face-on textures warped by
their plane-to-image homography, so perspective, line widths and texture scale follow the camera exactly.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .camera import (
    BACK_WALL_Y,
    DOUBLES_WIDTH,
    HALF_LENGTH,
    NET_HEIGHT_POST,
    NET_POST_X,
    SIDE_WALL_X,
    Camera,
    court_lines,
    net_height,
)
from .figures import Look, Pose, Prim, bounds, paint, primitives, random_look, static_pose

SURFACES = ("hard", "clay", "grass", "indoor")
SPONSORS = ["NORDWAVE", "VOLTA BANK", "KESTREL", "ORBIX", "ALTAVIA", "MERIDIAN", "PULSAR", "HELIO AIR", "TRIVANTE",
            "QUANTA", "LUMEN", "ZEPHYR", "CORVO", "AURUM", "OPEN 500", "VELOCE", "NOVA MOTORS", "SOLIS", "ARKTIS",
            "BRAVADA", "PIXELON", "TERRA", "ONDA", "FJORD BANK", "GALLO", "IRIS", "MAGNA", "ROMA", "CITY OPEN"]
NAMES = ["ALVAREZ", "NOVAK", "BERGSTROM", "TANAKA", "MOREAU", "KOVAC", "OKAFOR", "LINDQVIST", "SILVA", "PETROV",
         "MULLER", "ROSSI", "WALKER", "IVANOVIC", "DUPONT", "HARRIS", "NAKAMURA", "FERREIRA", "JENSEN", "COSTA"]
BROADCASTERS = ["TENNIS TV", "SPORT 1 HD", "ACE TV", "LIVE", "WORLD TOUR", "SPORTSNET"]


@dataclass(frozen=True)
class Venue:
    """Everything static about one game's look; colours BGR, directions in world coordinates."""

    surface: str
    court: tuple[int, int, int]
    surround: tuple[int, int, int]
    lines: tuple[int, int, int]
    board: tuple[int, int, int]
    board_text: tuple[int, int, int]
    seats: tuple[int, int, int]
    arena: tuple[int, int, int]
    crowd_density: float
    indoor: bool
    light: tuple[float, float, float]  # direction light travels (downwards)
    shadow_line: tuple[float, float, float] | None  # stadium shadow half-plane a*x + b*y < c on the ground
    sponsors: tuple[str, ...]
    net_logo: tuple[int, int, int]
    chair: tuple[int, int, int]
    names: tuple[str, str]
    broadcaster: str
    score_style: int


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return int(rgb[2]), int(rgb[1]), int(rgb[0])


def _pick_rgb(rng: np.random.Generator, options: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """One of ``options`` (RGB) as BGR."""
    return _bgr(options[int(rng.integers(len(options)))])


def _vary(rng: np.random.Generator, colour: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c * rng.uniform(1 - amount, 1 + amount), 0, 255)) for c in colour)


def random_venue(rng: np.random.Generator, surface: str | None = None) -> Venue:
    """A random tournament venue; ``surface`` forces one of :data:`SURFACES`."""
    surface = surface or str(rng.choice(SURFACES, p=[0.35, 0.25, 0.15, 0.25]))
    assert surface in SURFACES, f"unknown surface {surface!r}"
    if surface == "hard":
        court = _pick_rgb(rng, [(40, 90, 150), (60, 120, 80), (110, 80, 160), (35, 75, 125), (60, 110, 170)])
        surround = _pick_rgb(rng, [(60, 110, 70), (30, 60, 110), (120, 60, 50), (120, 170, 70), (70, 130, 160)])
    elif surface == "clay":
        court = _bgr((int(rng.uniform(170, 205)), int(rng.uniform(85, 115)), int(rng.uniform(50, 75))))
        surround = court
    elif surface == "grass":
        court = _bgr((int(rng.uniform(80, 110)), int(rng.uniform(125, 155)), int(rng.uniform(50, 75))))
        surround = court
    else:
        court = _pick_rgb(rng, [(85, 95, 90), (40, 80, 140), (70, 110, 80), (100, 105, 110), (35, 60, 110)])
        surround = _pick_rgb(rng, [(60, 62, 68), (45, 50, 60), (30, 50, 90)])
    indoor = surface == "indoor" or rng.random() < 0.1
    if indoor:
        light = np.array([rng.normal(0, 0.1), rng.normal(0, 0.1), -1.0])
    else:
        elevation, azimuth = math.radians(rng.uniform(35, 75)), rng.uniform(0, 2 * math.pi)
        light = np.array([math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth),
                          -math.sin(elevation)])
    shadow_line = None
    if not indoor and rng.random() < 0.45:
        angle = rng.uniform(0, 2 * math.pi)
        shadow_line = (math.cos(angle), math.sin(angle), rng.uniform(-4.0, 8.0))
    n_sponsors = int(rng.integers(2, 5))
    sponsors = tuple(str(s) for s in rng.choice(SPONSORS, size=n_sponsors, replace=False))
    board = _pick_rgb(rng, [(20, 60, 40), (15, 25, 70), (150, 30, 30), (30, 30, 30), (0, 90, 60), (200, 200, 200)])
    board_text = (245, 245, 245) if sum(board) < 400 else (40, 40, 40)
    arena = (20, 18, 16) if indoor else _bgr((int(rng.uniform(50, 90)),) * 3)
    names = tuple(str(n) for n in rng.choice(NAMES, size=2, replace=False))
    seats = _pick_rgb(rng, [(40, 40, 40), (30, 45, 90), (100, 30, 30), (35, 70, 45), (80, 80, 85), (25, 25, 30)])
    return Venue(surface=surface, court=_vary(rng, court, 0.08), surround=_vary(rng, surround, 0.08),
                 lines=_vary(rng, (238, 240, 242), 0.03), board=board, board_text=board_text,
                 seats=seats,
                 arena=arena, crowd_density=rng.uniform(0.5, 0.98), indoor=indoor,
                 light=tuple(light / np.linalg.norm(light)),
                 shadow_line=shadow_line, sponsors=sponsors,
                 net_logo=_pick_rgb(rng, [(200, 30, 40), (20, 60, 160), (20, 20, 20), (0, 120, 80)]),
                 chair=_pick_rgb(rng, [(30, 90, 50), (230, 230, 230), (40, 40, 40), (20, 60, 140)]),
                 names=names, broadcaster=str(rng.choice(BROADCASTERS)), score_style=int(rng.integers(3)))


# --------------------------------------------------------------------------------------------------------------------
# Textured planes


def paste_plane(canvas: np.ndarray, texture: np.ndarray, corners: np.ndarray, cam: Camera,
                alpha: np.ndarray | None = None, offset: tuple[int, int] = (0, 0)) -> None:
    """Warp ``texture`` (h, w, C) onto the world quad ``corners`` (4, 3) (texture corners TL, TR, BR, BL) in place.

    ``alpha`` (h, w) uint8 gives partial coverage; ``canvas`` may be a patch whose top-left pixel is ``offset``.
    All four corners must lie in front of the camera.
    """
    uv, depth = cam.project(corners)
    assert (depth > 0.1).all(), "plane corners behind the camera"
    h, w = texture.shape[:2]
    src = np.float32([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    dst = (uv - np.asarray(offset, np.float64)).astype(np.float32)
    x0, y0 = np.floor(dst.min(0)).astype(int)
    x1, y1 = np.ceil(dst.max(0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, canvas.shape[1]), min(y1, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    homography = shift @ cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    size = (x1 - x0, y1 - y0)
    cover = np.full((h, w), 255, np.uint8) if alpha is None else alpha
    warped_a = cv2.warpPerspective(cover, homography, size, flags=cv2.INTER_LINEAR, borderValue=0)
    roi = canvas[y0:y1, x0:x1]
    if canvas.ndim == 2:  # a mask: accumulate coverage
        np.maximum(roi, warped_a, out=roi)
        return
    warped = cv2.warpPerspective(texture, homography, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    a = warped_a.astype(np.float32)[..., None] / 255.0
    roi[:] = (roi * (1 - a) + warped * a + 0.5).astype(np.uint8)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    coarse = rng.normal(0, 1, (max(shape[0] // cells, 2), max(shape[1] // cells, 2))).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


PPM = 20  # ground map pixels per metre


def _ground_map(venue: Venue, rng: np.random.Generator, y_near: float) -> tuple[np.ndarray, np.ndarray]:
    """Top-down ground texture (H, W, 3) BGR and its world corners (4, 3): far-left, far-right, near-right,
    near-left."""
    x_half, y_far = SIDE_WALL_X, BACK_WALL_Y
    w, h = int(2 * x_half * PPM), int((y_far - y_near) * PPM)

    def to_px(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.stack([(np.asarray(x) + x_half) * PPM - 0.5, (y_far - np.asarray(y)) * PPM - 0.5], -1)

    ground = np.empty((h, w, 3), np.float32)
    ground[:] = venue.surround
    hx, hy = DOUBLES_WIDTH / 2, HALF_LENGTH
    court_px = to_px(np.array([-hx, hx, hx, -hx]), np.array([hy, hy, -hy, -hy]))
    cv2.fillPoly(ground, [np.round(court_px * 8).astype(np.int32)], venue.court, cv2.LINE_AA, 3)
    ys = y_far - (np.arange(h) + 0.5) / PPM
    xs = -x_half + (np.arange(w) + 0.5) / PPM
    shade = 1.0 + 0.05 * _smooth_noise(rng, (h, w), 60) + 0.03 * _smooth_noise(rng, (h, w), 12)
    if venue.surface == "clay":
        shade += 0.06 * _smooth_noise(rng, (h, w), 4) + rng.normal(0, 0.035, (h, w)).astype(np.float32)
        near_base = np.exp(-((np.abs(ys)[:, None] - hy - 1.0) ** 2) / 4.0)  # scuffed, lighter behind the baselines
        shade += 0.07 * near_base * (0.5 + _smooth_noise(rng, (h, w), 6))
        for _ in range(int(rng.integers(60, 160))):  # sliding marks
            x0, y0 = rng.uniform(-hx - 2, hx + 2), rng.choice([-1, 1]) * rng.uniform(6, hy + 3)
            ang, length = rng.uniform(0, math.pi), rng.uniform(0.3, 1.6)
            p0 = to_px(x0, y0)
            p1 = to_px(x0 + length * math.cos(ang), y0 + length * math.sin(ang))
            cv2.line(shade, tuple(np.round(p0).astype(int)), tuple(np.round(p1).astype(int)),
                     float(1 + rng.uniform(-0.12, 0.1)), int(rng.integers(1, 4)))
    elif venue.surface == "grass":
        stripe = np.where((np.floor((ys + 50) / rng.uniform(1.3, 2.2)) % 2) == 0, 1.05, 0.95).astype(np.float32)
        shade *= stripe[:, None]
        worn = np.exp(-((np.abs(ys)[:, None] - hy - 0.5) ** 2) / 3.0 - (xs[None] ** 2) / 8.0)
        worn = worn * (0.6 + 0.4 * _smooth_noise(rng, (h, w), 5))
        brown = np.array(_bgr((150, 125, 80)), np.float32)
        ground = ground * (1 - 0.7 * worn[..., None]) + brown * 0.7 * worn[..., None]
        shade += rng.normal(0, 0.03, (h, w)).astype(np.float32)
    else:
        shade += rng.normal(0, 0.015, (h, w)).astype(np.float32)
        near_base = np.exp(-((np.abs(ys)[:, None] - hy - 0.5) ** 2) / 2.0 - (xs[None] ** 2) / 10.0)
        shade += 0.05 * near_base
    ground *= shade[..., None]
    # Tournament text painted on the surround, beside the court.
    if rng.random() < 0.7:
        text = str(rng.choice(venue.sponsors))
        for sx in (-1, 1):
            centre = to_px(sx * (hx + 2.3), rng.uniform(-4, 4))
            size = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, 1.0, 2)[0]
            scale = 1.6 * PPM / max(size[1], 1) * 0.6
            tw = size[0] * scale
            org = (int(centre[0] - tw / 2), int(centre[1] + size[1] * scale / 2))
            colour = tuple(0.55 * c + 0.45 * 240 for c in venue.surround)
            cv2.putText(ground, text, org, cv2.FONT_HERSHEY_DUPLEX, scale, colour, max(int(scale * 2), 1), cv2.LINE_AA)
    # Light: a stadium shadow over part of the court outdoors, a pool of light indoors; the net's shadow.
    if venue.shadow_line is not None:
        a, b, c = venue.shadow_line
        side = a * xs[None] + b * ys[:, None] - c
        soft = 1.0 / (1.0 + np.exp(-side / 0.4))
        ground *= (1 - 0.4 * soft[..., None]) * np.array([1.08, 1.0, 0.95], np.float32) ** soft[..., None]
    if venue.indoor:
        fall = np.exp(-(xs[None] ** 2) / 300.0 - (ys[:, None] ** 2) / 900.0)
        ground *= (0.7 + 0.3 * fall)[..., None]
    light = np.asarray(venue.light)
    xs_net = np.linspace(-NET_POST_X, NET_POST_X, 24)
    top = np.stack([xs_net, np.zeros_like(xs_net), net_height(xs_net)], 1)
    shadow_top = top - light[None] * (top[:, 2:3] / light[2])
    poly = np.concatenate([to_px(shadow_top[:, 0], shadow_top[:, 1]), to_px(xs_net[::-1], np.zeros(24))])
    overlay = np.ones((h, w), np.float32)
    cv2.fillPoly(overlay, [np.round(poly * 8).astype(np.int32)], 0.88, cv2.LINE_AA, 3)
    cv2.polylines(overlay, [np.round(to_px(shadow_top[:, 0], shadow_top[:, 1]) * 8).astype(np.int32)], False, 0.7,
                  max(int(0.06 * PPM), 1), cv2.LINE_AA, 3)
    ground *= overlay[..., None]
    corners = np.array([[-x_half, y_far, 0], [x_half, y_far, 0], [x_half, y_near, 0], [-x_half, y_near, 0]], np.float64)
    return np.clip(ground, 0, 255).astype(np.uint8), corners


def _crowd_texture(venue: Venue, rng: np.random.Generator, width_m: float, depth_m: float, ppm: float) -> np.ndarray:
    """Rows of seated spectators seen from the court, as a face-on texture; the first row is at the bottom.

    Clothing is mostly dark, white or muted colours and heads are small bright blobs: a real crowd is a dense
    field of ball-sized distractors, not a colourful pattern.
    """
    w, h = int(width_m * ppm), int(depth_m * ppm)
    tex = np.empty((h, w, 3), np.uint8)
    tex[:] = venue.seats
    row, seat = 0.8, 0.5
    n_rows, n_seats = int(depth_m / row), int(width_m / seat)
    aisle_every = int(rng.integers(14, 30))
    present = rng.random((n_rows, n_seats)) < venue.crowd_density
    present[:, ::aisle_every] = False
    ys = h - (np.arange(n_rows)[:, None] + 0.5) * row * ppm + rng.normal(0, 0.04 * ppm, (n_rows, n_seats))
    xs = (np.arange(n_seats)[None] + 0.5) * seat * ppm + rng.normal(0, 0.06 * ppm, (n_rows, n_seats))
    palette = np.array([(30, 30, 30), (45, 40, 35), (90, 60, 30), (230, 230, 230), (200, 200, 205), (60, 60, 150),
                        (140, 110, 70), (40, 70, 40), (120, 120, 125), (70, 40, 110), (40, 130, 200), (170, 150, 120)])
    shirt_idx = rng.integers(len(palette), size=(n_rows, n_seats))
    shirts = palette[shirt_idx] * rng.uniform(0.75, 1.15, (n_rows, n_seats, 1))
    skin_idx = rng.integers(len(SKIN_TONES), size=(n_rows, n_seats))
    hair = rng.random((n_rows, n_seats)) < 0.65
    for r in range(n_rows):
        y_rail = int(h - r * row * ppm)
        cv2.line(tex, (0, y_rail), (w, y_rail), tuple(int(c * 0.55) for c in venue.seats), max(int(0.06 * ppm), 1))
        for s in np.nonzero(present[r])[0]:
            x, y = int(xs[r, s]), int(ys[r, s])
            body = (int(0.19 * ppm), int(0.24 * ppm))
            cv2.ellipse(tex, (x, y + int(0.12 * ppm)), body, 0, 0, 360, tuple(int(c) for c in shirts[r, s]), -1)
            cv2.circle(tex, (x, y - int(0.16 * ppm)), max(int(0.1 * ppm), 1), SKIN_TONES[skin_idx[r, s]], -1)
            if hair[r, s]:
                cv2.ellipse(tex, (x, y - int(0.2 * ppm)), (max(int(0.1 * ppm), 1), max(int(0.06 * ppm), 1)), 0, 180,
                            360, (25, 30, 40), -1)
    tex = cv2.GaussianBlur(tex, (0, 0), 0.6)
    light = rng.uniform(0.3, 0.65) if venue.indoor else rng.uniform(0.7, 1.0)  # arenas keep the crowd dark
    return np.clip(tex * light + rng.normal(0, 6, tex.shape), 0, 255).astype(np.uint8)


SKIN_TONES = [(150, 170, 210), (120, 150, 200), (90, 120, 170), (60, 90, 130)]


def _board_texture(venue: Venue, rng: np.random.Generator, length_m: float, height_m: float, ppm: float) -> np.ndarray:
    """An advertising board: sponsor names and logo blocks repeated along it."""
    w, h = int(length_m * ppm), int(height_m * ppm)
    tex = np.empty((h, w, 3), np.uint8)
    tex[:] = venue.board
    x = rng.uniform(0, 2) * ppm
    while x < w:
        text = str(rng.choice(venue.sponsors))
        scale = 0.55 * h / 22.0
        thick = max(int(scale * 2.2), 1)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, thick)
        if rng.random() < 0.4:  # a logo block in front of the name
            block = tuple(int(c) for c in rng.integers(0, 255, 3))
            cv2.rectangle(tex, (int(x), int(0.2 * h)), (int(x + 0.6 * h), int(0.8 * h)), block, -1)
            x += 0.75 * h
        cv2.putText(tex, text, (int(x), int(h / 2 + th / 2)), cv2.FONT_HERSHEY_DUPLEX, scale, venue.board_text, thick,
                    cv2.LINE_AA)
        x += tw + rng.uniform(1.0, 4.0) * ppm
    return tex


# --------------------------------------------------------------------------------------------------------------------
# Things that can hide the ball


@dataclass
class Occluder:
    """A static object that can stand between the camera and the ball.

    kind 'net': the net's alpha texture on the plane y = 0, in front of any ball with y > 0;
    kind 'prims': world-space drawing (a person, the umpire chair) at ground point ``anchor`` (3,), in front of a
    ball farther from the camera than the anchor.
    """

    kind: str
    anchor: np.ndarray
    builder: Callable[[Camera], list[Prim]] | None = None  # draws the object through a camera ('prims')
    texture: np.ndarray | None = None  # (h, w) uint8 alpha for 'net'
    corners: np.ndarray | None = None  # (4, 3) world quad of the net texture
    _cached: tuple | None = field(default=None, repr=False)  # (camera, primitives, bounds) of the last mask

    def in_front(self, ball: np.ndarray, cam: Camera) -> bool:
        """Whether this object is nearer the camera than the ball centre (3,)."""
        if self.kind == "net":
            return bool(ball[1] > 0 and abs(ball[0]) < NET_POST_X + 0.2 and ball[2] < NET_HEIGHT_POST + 0.2)
        return bool(cam.to_camera(self.anchor)[2] < cam.to_camera(ball)[2])

    def draw_mask(self, mask: np.ndarray, offset: tuple[int, int], cam: Camera) -> None:
        """Add this object's coverage (0..255) to ``mask`` (h, w) uint8 whose top-left pixel is ``offset``."""
        if self.kind == "net":
            paste_plane(mask, self.texture, self.corners, cam, alpha=self.texture, offset=offset)
            return
        if self._cached is None or self._cached[0] is not cam:  # frames share a camera until it drifts
            prims = self.builder(cam)
            self._cached = (cam, prims, bounds(prims))
        _, prims, box = self._cached
        h, w = mask.shape
        if box is not None and box[0] < offset[0] + w and box[2] > offset[0] and box[1] < offset[1] + h \
                and box[3] > offset[1]:
            paint(mask, prims, offset=offset, mono=255)


def _person(look: Look, pose: Pose):
    def build(cam: Camera) -> list[Prim]:
        return primitives(pose, look, cam)
    return build


def _cuboid_prims(cam: Camera, centre: np.ndarray, size: np.ndarray, colour: tuple[int, int, int]) -> list[Prim]:
    """Visible faces of an axis-aligned box (centre at the bottom face) as shaded polygons."""
    sx, sy, sz = size / 2
    c = np.asarray(centre, np.float64)
    faces = [  # (normal, four corners)
        (np.array([0, 0, 1.0]), [(-sx, -sy, 2 * sz), (sx, -sy, 2 * sz), (sx, sy, 2 * sz), (-sx, sy, 2 * sz)], 1.1),
        (np.array([0, -1.0, 0]), [(-sx, -sy, 0), (sx, -sy, 0), (sx, -sy, 2 * sz), (-sx, -sy, 2 * sz)], 0.85),
        (np.array([0, 1.0, 0]), [(-sx, sy, 0), (sx, sy, 0), (sx, sy, 2 * sz), (-sx, sy, 2 * sz)], 0.85),
        (np.array([-1.0, 0, 0]), [(-sx, -sy, 0), (-sx, sy, 0), (-sx, sy, 2 * sz), (-sx, -sy, 2 * sz)], 0.7),
        (np.array([1.0, 0, 0]), [(sx, -sy, 0), (sx, sy, 0), (sx, sy, 2 * sz), (sx, -sy, 2 * sz)], 0.7),
    ]
    out = []
    for normal, pts, light in faces:
        world = c + np.array(pts)
        if normal @ (np.asarray(cam.position) - world.mean(0)) <= 0:
            continue
        uv, depth = cam.project(world)
        if (depth <= 0.5).any():
            continue
        out.append(Prim(float(depth.mean()), "poly", uv, 0, tuple(int(min(ch * light, 255)) for ch in colour)))
    return out


def _chair_builder(venue: Venue, base: np.ndarray, umpire: Look):
    seat = 1.9
    legs = [base + np.array([dx, dy, 0.0]) for dx in (-0.35, 0.35) for dy in (-0.35, 0.35)]
    pose = static_pose(umpire, base[:2] + np.array([0.05, 0.0]), np.array([1.0, 0.0]), "sit", seat=seat + 0.1)

    def build(cam: Camera) -> list[Prim]:
        prims = []
        for leg in legs:
            top = leg + np.array([0.0, 0.0, seat])
            uv, depth = cam.project(np.stack([leg, top]))
            prims.append(Prim(float(depth.mean()), "line", uv, max(cam.focal * 0.06 / depth.mean(), 1.0), venue.chair))
        prims += _cuboid_prims(cam, base + np.array([0.0, 0.0, seat - 0.1]), np.array([0.9, 0.9, 0.1]), venue.chair)
        prims += _cuboid_prims(cam, base + np.array([-0.4, 0.0, seat]), np.array([0.1, 0.8, 0.7]), venue.chair)
        prims += _cuboid_prims(cam, base + np.array([0.45, 0.0, seat]), np.array([0.15, 0.9, 0.35]), venue.chair)
        people = primitives(pose, umpire, cam)
        merged = prims + people
        merged.sort(key=lambda p: -p.depth)
        return merged

    return build


@dataclass
class Background:
    """A venue rendered through one camera.

    image:      (720, 1280, 3) uint8 BGR, every static thing drawn
    occluders:  net, umpire chair and static people, able to re-draw themselves as masks
    light:      (3,) direction of the light, for shadows of moving things
    """

    image: np.ndarray
    occluders: list[Occluder] = field(default_factory=list)
    light: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, -1.0]))


def _net_texture(venue: Venue, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Net as a face-on texture (BGR, alpha) at 100 px/m over x in [-post, post], z in [0, post height]."""
    ppm = 100
    w, h = int(2 * NET_POST_X * ppm), int(NET_HEIGHT_POST * ppm)
    colour = np.zeros((h, w, 3), np.uint8)
    colour[:] = (25, 25, 25)
    alpha = np.zeros((h, w), np.uint8)
    alpha[::4, :] = 210  # 4 cm mesh
    alpha[:, ::4] = 210
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.9)
    xs = (np.arange(w) + 0.5) / ppm - NET_POST_X
    top = np.round((NET_HEIGHT_POST - net_height(xs)) * ppm).astype(int)
    rows = np.arange(h)[:, None]
    above = rows < top[None]
    tape = (rows >= top[None]) & (rows < top[None] + int(0.06 * ppm))
    alpha[above] = 0
    alpha[tape] = 255
    colour[tape] = (240, 240, 240)
    strap = np.abs(xs) < 0.025
    alpha[:, strap] = np.where(above[:, strap], 0, 255)
    colour[:, strap] = (235, 235, 235)
    if rng.random() < 0.8:
        text = str(rng.choice(venue.sponsors))
        for sx in (-1, 1):
            x0 = int((sx * (NET_POST_X - 1.0) + NET_POST_X) * ppm - 0.8 * ppm)
            x1 = x0 + int(1.6 * ppm)
            y0, y1 = int(0.22 * ppm), int(0.62 * ppm)
            colour[y0:y1, x0:x1] = venue.net_logo
            alpha[y0:y1, x0:x1] = 235
            scale = 0.9
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
            scale *= min(1.0, (x1 - x0) * 0.9 / tw)
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
            cv2.putText(colour, text, (x0 + (x1 - x0 - tw) // 2, (y0 + y1 + th) // 2), cv2.FONT_HERSHEY_DUPLEX, scale,
                        (245, 245, 245), 2, cv2.LINE_AA)
    if rng.random() < 0.6:  # faint tour name across the middle of the net
        text = str(rng.choice(["WORLD TOUR", "TOUR", "OPEN", venue.sponsors[0]]))
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, 1.6, 3)
        x0, y0 = (w - tw) // 2, int(0.62 * ppm)
        cv2.putText(colour, text, (x0, y0), cv2.FONT_HERSHEY_DUPLEX, 1.6, (235, 235, 235), 3, cv2.LINE_AA)
        text_mask = np.zeros_like(alpha)
        cv2.putText(text_mask, text, (x0, y0), cv2.FONT_HERSHEY_DUPLEX, 1.6, 150, 3, cv2.LINE_AA)
        alpha = np.maximum(alpha, text_mask)
    corners = np.array([[-NET_POST_X, 0, NET_HEIGHT_POST], [NET_POST_X, 0, NET_HEIGHT_POST], [NET_POST_X, 0, 0],
                        [-NET_POST_X, 0, 0]], np.float64)
    return colour, alpha, corners


def render_background(venue: Venue, cam: Camera, rng: np.random.Generator) -> Background:
    """Render every static part of ``venue`` through ``cam`` (BGR), far to near."""
    w, h = cam.size
    image = np.empty((h, w, 3), np.uint8)
    image[:] = venue.arena
    if venue.indoor:  # dark roof fading into the stands
        image[: h // 3] = (np.linspace(0.3, 1.0, h // 3)[:, None, None] * np.array(venue.arena)).astype(np.uint8)
    cam_y = cam.position[1]
    y_near = max(-BACK_WALL_Y - 20.0, cam_y + 3.0)

    # Stands: a slope rising behind the back boards and along both sides.
    slope = math.radians(rng.uniform(28, 38))
    run = 30.0
    ppm = 20
    back_tex = _crowd_texture(venue, rng, 80.0, run, ppm)
    y0, z0 = BACK_WALL_Y + 1.5, 1.3
    y1, z1 = y0 + run * math.cos(slope), z0 + run * math.sin(slope)
    paste_plane(image, back_tex, np.array([[-40, y1, z1], [40, y1, z1], [40, y0, z0], [-40, y0, z0]]), cam)
    side_len = BACK_WALL_Y - y_near
    x0, x1 = SIDE_WALL_X + 1.5, SIDE_WALL_X + 1.5 + run * math.cos(slope)
    y_stand = y_near  # the side stands start where their top row is still in front of the camera
    while (cam.to_camera(np.array([[x1, y_stand, z1], [-x1, y_stand, z1]]))[:, 2] < 1.0).any():
        y_stand += 1.0
    for sx in (-1, 1):
        tex = _crowd_texture(venue, rng, BACK_WALL_Y - y_stand, run, ppm)
        if sx < 0:  # texture's bottom row is the front row; left side seen from inside the court
            corners = np.array([[-x1, y_stand, z1], [-x1, BACK_WALL_Y, z1], [-x0, BACK_WALL_Y, z0], [-x0, y_stand, z0]])
        else:
            corners = np.array([[x1, BACK_WALL_Y, z1], [x1, y_stand, z1], [x0, y_stand, z0], [x0, BACK_WALL_Y, z0]])
        paste_plane(image, tex, corners, cam)
    # Walkway between the boards and the first row.
    walk = np.empty((8, 8, 3), np.uint8)
    walk[:] = tuple(int(c * 0.55) for c in venue.surround)
    paste_plane(image, walk, np.array([[-40, y0, z0], [40, y0, z0], [40, BACK_WALL_Y, 0], [-40, BACK_WALL_Y, 0]]), cam)

    # Ground, then the boards standing on it.
    ground, corners = _ground_map(venue, rng, y_near)
    paste_plane(image, ground, corners, cam)
    board_h = rng.uniform(0.8, 1.2)
    board = _board_texture(venue, rng, 2 * SIDE_WALL_X, board_h, 60)
    paste_plane(image, board, np.array([[-SIDE_WALL_X, BACK_WALL_Y, board_h], [SIDE_WALL_X, BACK_WALL_Y, board_h],
                                        [SIDE_WALL_X, BACK_WALL_Y, 0], [-SIDE_WALL_X, BACK_WALL_Y, 0]]), cam)
    for sx in (-1, 1):
        side_board = _board_texture(venue, rng, side_len, board_h * 0.9, 40)
        a, b = (y_near, BACK_WALL_Y) if sx < 0 else (BACK_WALL_Y, y_near)
        x = sx * SIDE_WALL_X
        paste_plane(image, side_board, np.array([[x, a, board_h * 0.9], [x, b, board_h * 0.9], [x, b, 0], [x, a, 0]]),
                    cam)

    # Court lines, crisp at full resolution.
    lines = court_lines()
    for start, end, width in lines:
        d = end - start
        n = np.array([-d[1], d[0]]) / np.linalg.norm(d) * width / 2
        quad = np.array([start + n, end + n, end - n, start - n])
        uv, depth = cam.project(np.concatenate([quad, np.zeros((4, 1))], 1))
        if (depth > 0.5).all():
            cv2.fillConvexPoly(image, np.round(uv * 8).astype(np.int32), venue.lines, cv2.LINE_AA, 3)

    # Static objects, sorted far to near: umpire chair, ball kids, line judges, courtside boxes, net and posts.
    light = np.asarray(venue.light, np.float64)
    side = -1.0 if rng.random() < 0.75 else 1.0
    chair_base = np.array([side * (NET_POST_X + 1.3), 0.0, 0.0])
    umpire = random_look(rng, "umpire")
    items: list[tuple[float, Occluder | None, list[Prim]]] = []
    chair = Occluder("prims", chair_base, _chair_builder(venue, chair_base, umpire))
    items.append((cam.to_camera(chair_base)[2], chair, chair.builder(cam)))
    kid_look = random_look(rng, "ball_kid")
    spots = [(np.array([-side * (NET_POST_X + rng.uniform(0.8, 2.0)), rng.uniform(-0.6, 0.6)]), "kneel",
              np.array([side, 0.0]))]
    for sy in (-1, 1):
        for sx in (-1, 1):
            if rng.random() < 0.5:
                spots.append((np.array([sx * rng.uniform(5.5, 8.5), sy * (BACK_WALL_Y - rng.uniform(0.6, 1.5))]),
                              "stand" if rng.random() < 0.6 else "kneel", np.array([0.0, -sy])))
    for xy, mode, facing in spots:
        look = kid_look if rng.random() < 0.8 else random_look(rng, "line_judge")
        pose = static_pose(look, xy, facing, mode)
        anchor = np.array([xy[0], xy[1], 0.0])
        occ = Occluder("prims", anchor, _person(look, pose))
        items.append((cam.to_camera(anchor)[2], occ, occ.builder(cam)))
    if rng.random() < 0.6:  # line judges on chairs at the back corners
        for sx in (-1, 1):
            look = random_look(rng, "line_judge")
            xy = np.array([sx * (SIDE_WALL_X - rng.uniform(0.8, 2.5)), BACK_WALL_Y - rng.uniform(1.5, 3.0)])
            pose = static_pose(look, xy, np.array([-sx, 0.0]), "sit", seat=0.45)
            anchor = np.array([xy[0], xy[1], 0.0])
            occ = Occluder("prims", anchor, _person(look, pose))
            items.append((cam.to_camera(anchor)[2], occ, occ.builder(cam)))
    for _ in range(int(rng.integers(2, 6))):  # benches, towel boxes, sponsor cubes along the side of the chair
        centre = np.array([side * rng.uniform(NET_POST_X + 2.2, SIDE_WALL_X - 0.5), rng.uniform(-5, 5), 0.0])
        size = np.array([rng.uniform(0.4, 1.2), rng.uniform(0.4, 1.8), rng.uniform(0.4, 1.0)])
        colour = tuple(int(c) for c in rng.integers(20, 240, 3))
        items.append((cam.to_camera(centre)[2], None, _cuboid_prims(cam, centre, size, colour)))
    items.sort(key=lambda it: -it[0])
    for _, _, prims in items:
        paint(image, prims)

    net_colour, net_alpha, net_corners = _net_texture(venue, rng)
    paste_plane(image, net_colour, net_corners, cam, alpha=net_alpha)
    for sx in (-1, 1):
        uv, depth = cam.project(np.array([[sx * NET_POST_X, 0, 0], [sx * NET_POST_X, 0, NET_HEIGHT_POST + 0.05]]))
        width = max(cam.focal * 0.1 / depth.mean(), 1.0)
        post_colour = (40, 60, 30) if rng.random() < 0.5 else (30, 30, 30)
        cv2.line(image, tuple(np.round(uv[0] * 8).astype(int)), tuple(np.round(uv[1] * 8).astype(int)), post_colour,
                 round(width), cv2.LINE_AA, 3)
    net = Occluder("net", np.zeros(3), texture=net_alpha, corners=net_corners)
    occluders = [net] + [occ for _, occ, _ in items if occ is not None]
    return Background(image, occluders, light)


# --------------------------------------------------------------------------------------------------------------------
# TV overlay


@dataclass(frozen=True)
class Overlay:
    """Screen-space graphics (score box, channel logo): BGR patch, its alpha and top-left pixel."""

    patches: tuple[tuple[np.ndarray, np.ndarray, tuple[int, int]], ...]

    def apply(self, frame: np.ndarray) -> None:
        """Blend the graphics into ``frame`` (H, W, 3) BGR in place."""
        for colour, alpha, (x, y) in self.patches:
            h, w = alpha.shape
            roi = frame[y:y + h, x:x + w]
            a = alpha[..., None].astype(np.uint16)
            roi[:] = ((colour.astype(np.uint16) * a + roi.astype(np.uint16) * (255 - a) + 127) // 255).astype(np.uint8)


def make_overlay(venue: Venue, rng: np.random.Generator, size: tuple[int, int]) -> Overlay:
    """A score box with both players' names, sets and points, and a broadcaster logo."""
    width, height = size
    patches = []
    font = cv2.FONT_HERSHEY_DUPLEX
    rows, row_h = 2, 30
    box_w, box_h = 240, rows * row_h + 4
    colour = np.zeros((box_h, box_w, 3), np.uint8)
    colour[:] = [(60, 30, 20), (20, 20, 20), (90, 40, 30)][venue.score_style]
    alpha = np.full((box_h, box_w), 230, np.uint8)
    sets = rng.integers(0, 7, (2, int(rng.integers(1, 3))))
    points = ["0", "15", "30", "40", "AD"]
    for r in range(rows):
        y = 2 + r * row_h + 21
        cv2.putText(colour, venue.names[r], (10, y), font, 0.55, (245, 245, 245), 1, cv2.LINE_AA)
        for k, games in enumerate(sets[r]):
            cv2.putText(colour, str(games), (140 + 22 * k, y), font, 0.55, (235, 235, 235), 1, cv2.LINE_AA)
        x_pt = 140 + 22 * sets.shape[1] + 6
        cv2.rectangle(colour, (x_pt - 4, 2 + r * row_h + 3), (x_pt + 34, 2 + (r + 1) * row_h - 3), (40, 220, 230), -1)
        cv2.putText(colour, str(rng.choice(points[:4])), (x_pt, y), font, 0.55, (20, 20, 20), 1, cv2.LINE_AA)
    where = int(rng.integers(3))
    pos = [(int(rng.uniform(100, 150)), int(height * rng.uniform(0.82, 0.88))), (40, 30),
           (int(rng.uniform(30, 60)), height - box_h - 30)][where]
    patches.append((colour, alpha, pos))
    text = venue.broadcaster
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
    logo = np.zeros((th + 16, tw + 16, 3), np.uint8)
    logo[:] = (245, 245, 245)
    logo_a = np.zeros(logo.shape[:2], np.uint8)
    cv2.putText(logo_a, text, (8, th + 8), font, 1.0, 220, 2, cv2.LINE_AA)
    patches.append((logo, logo_a, (width - tw - 60, 30)))
    return Overlay(tuple(patches))
