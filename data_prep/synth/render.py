"""Rendering synthetic broadcast clips and whole data sets in the assignment layout.

Randomness: a game's look (venue, base camera, players, ball, playing style) comes from ``default_rng([seed, game])``
and everything about one clip (camera offset and drift, the points played, grading, noise, JPEG quality) from
``default_rng([seed, game, clip])``, so any clip can be rendered alone, in any process, with identical output.

Per frame the pre-rendered background is warped to the drifted camera only when the drift moved it by a visible
amount, players and their shadows are drawn with OpenCV primitives, the ball is drawn into a small patch and alpha
blended, noise comes from a pre-computed tile at a random offset, and the frame is JPEG encoded.

Codes: 0 no ball or its centre outside the frame (x = y = -1); 3 when less than half of the ball's mid-exposure disc
is visible (player, racket, net, chair, score box); 2 when the visible ball changes no pixel by more than a
contrast threshold (long faint blur, ball on a line, tiny far ball, low-contrast surface) or is sub-2-px; else 1.
Trajectory column ``q``: 1 a hit and 2 a bounce within the frame's time, 0 otherwise, blank when there is no ball.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import multiprocessing
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from tqdm import tqdm

from ..atomic import write_text_atomic
from ..clips import FULL_SIZE, Labels, write_labels
from .ball import BallPatch, composite, draw_ball, draw_shadow
from .camera import BACK_WALL_Y, BALL_RADIUS, SIDE_WALL_X, Camera, random_broadcast_camera
from .figures import (
    Look,
    Pose,
    Prim,
    blend_shadow,
    bounds,
    paint,
    player_pose,
    primitives,
    random_look,
    shadow_primitives,
)
from .rally import Script, random_style, script_points
from .scene import Occluder, make_overlay, random_venue, render_background

log = logging.getLogger(__name__)

FPS = 30.0
_WARP_TOLERANCE = 0.25  # px: re-warp the background once the drifted camera moved it this much


@dataclass(frozen=True)
class Frame:
    """One rendered frame and its ground truth.

    image:  (720, 1280, 3) uint8 RGB, before JPEG encoding
    code:   0..3 as in the assignment
    xy:     ball centre (x, y) in pixels at mid-exposure, (-1, -1) when code == 0
    traj:   1 hit, 2 bounce, 0 flying, -1 no ball
    ball:   the ball-only patch as drawn (before occlusion), None when no ball was drawn
    visible:  share of the ball's mid-exposure disc not hidden (0 without a ball)
    contrast: largest change (0..255) the ball made to a pixel, what codes 1 and 2 are decided on
    """

    image: np.ndarray
    code: int
    xy: tuple[float, float]
    traj: int
    ball: BallPatch | None
    visible: float = 0.0
    contrast: float = 0.0

    def ball_mask(self) -> np.ndarray:
        """(720, 1280) float32 coverage of the ball alone (motion blur and PSF included, occlusion not)."""
        mask = np.zeros(self.image.shape[:2], np.float32)
        if self.ball is not None:
            x0, y0, x1, y1 = self.ball.box
            cx0, cy0 = max(x0, 0), max(y0, 0)
            cx1, cy1 = min(x1, mask.shape[1]), min(y1, mask.shape[0])
            if cx1 > cx0 and cy1 > cy0:
                mask[cy0:cy1, cx0:cx1] = self.ball.alpha[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
        return mask if mask.any() else None


@functools.cache
def _unit_noise() -> np.ndarray:
    """(768, 1328, 3) float32 sensor-like noise of unit luma sigma plus weaker chroma noise, fixed per process.

    Clips scale it by their own sigma and frames read it at their own offsets, which keeps set-up cheap.
    """
    w, h = FULL_SIZE
    rng = np.random.default_rng(0x5EED)
    luma = rng.normal(0, 1.0, (h + 48, w + 48, 1)).astype(np.float32)
    return luma + rng.normal(0, 0.4, (h + 48, w + 48, 3)).astype(np.float32)


def _grade_lut(rng: np.random.Generator) -> np.ndarray:
    """(256, 1, 3) uint8 per-channel tone curve: gain, gamma and a little lift, for colour and brightness shifts."""
    x = np.arange(256, dtype=np.float64)[:, None] / 255.0
    gain = rng.uniform(0.88, 1.1) * rng.uniform(0.95, 1.05, 3)
    gamma = rng.uniform(0.85, 1.2)
    lift = rng.uniform(-0.02, 0.04)
    y = np.clip(lift + (1 - lift) * (x ** gamma) * gain[None], 0, 1)
    return np.round(y * 255).astype(np.uint8).reshape(256, 1, 3)


def _grade_colour(lut: np.ndarray, colour: tuple[int, int, int]) -> tuple[int, int, int]:
    return tuple(int(lut[int(c), 0, k]) for k, c in enumerate(colour))


def _grade_look(lut: np.ndarray, look: Look) -> Look:
    fields = ("shirt", "shorts", "skin", "hair", "shoes", "socks", "cap", "racket")
    return replace(look, **{f: _grade_colour(lut, getattr(look, f)) for f in fields if getattr(look, f) is not None})


class _Drawn(NamedTuple):
    """A player as drawn in one frame: depth of the body axis, pose, look and its primitives."""

    depth: float
    pose: Pose
    look: Look
    prims: list[Prim]


class ClipRenderer:
    """Renders the 1280x720 frames of clip ``clip`` of game ``game`` for ``seed`` (see the module docstring for how
    randomness is derived); :meth:`render` gives any frame, in any order, with its label."""

    def __init__(self, seed: int, game: int, clip: int, frames: int = 120):
        assert frames > 0, "a clip needs at least one frame"
        self.seed, self.game, self.clip, self.frames = seed, game, clip, frames
        g = np.random.default_rng([seed, game])
        r = np.random.default_rng([seed, game, clip])
        # Game: the venue and its camera, the players, the ball, how they play.
        self.venue = random_venue(g)
        base_cam = random_broadcast_camera(g)
        looks = (random_look(g, "player"), random_look(g, "player"))
        style = random_style(g)
        ball_rgb = (g.uniform(195, 245), g.uniform(220, 255), g.uniform(40, 130))
        self.bloom = g.uniform(1.1, 1.5)  # optics and compression spread a real ball beyond its geometric size
        self.shutter = g.uniform(0.35, 1.0)  # exposure as a fraction of the frame interval
        scene_seed = [seed, game, 0x5CE]
        # Clip: a slightly different framing, its own points, grading, noise and compression.
        self.cam0 = base_cam.drifted(pan=r.normal(0, 0.006), tilt=r.normal(0, 0.004), zoom=r.uniform(0.96, 1.04))
        duration = frames / FPS
        self.script: Script = script_points(r, self.venue.surface, duration + 6.0, style)
        first_serve = next((e.t for e in self.script.events if e.kind == "hit"), 0.0)
        # Start between the first toss and a point where most of the clip still has a ball in play.
        lo, hi = max(first_serve - 1.5, 0.0), self.script.point_spans[-1][1] - 0.7 * duration
        self.t0 = float(r.uniform(lo, hi)) if hi > lo else max(hi, 0.0)
        lut = _grade_lut(r)
        self.looks = tuple(_grade_look(lut, look) for look in looks)
        self.ball_colour = _grade_colour(lut, tuple(int(c) for c in ball_rgb[::-1]))
        self.defocus = r.uniform(0.0, 0.8)
        self.psf = math.hypot(self.defocus, 0.45)
        self.noise_sigma = r.uniform(0.8, 3.5)
        self.quality = int(r.integers(60, 96))
        self.contrast_threshold = 30.0 + 2.5 * self.noise_sigma + max(0, 85 - self.quality) * 0.4
        self._drift = self._drift_path(r, frames)
        self._cameras = self._quantised_cameras()
        self._noise_offsets = r.integers(0, 48, (frames, 2))  # per frame, so frames render in any order
        bg = render_background(self.venue, self.cam0, np.random.default_rng(scene_seed))
        self.occluders: list[Occluder] = bg.occluders
        self.light = bg.light
        # Image-space direction towards the light for the ball's shading (x right, y down, z towards the camera),
        # biased upwards because arenas and the sky light balls from above whatever the key light does.
        towards = self.cam0.rotation @ -self.light
        self._shade_light = np.array([towards[0], towards[1] - 0.6, 0.4 - towards[2]])
        self._spare_balls(bg.image, r, tuple(int(c) for c in ball_rgb[::-1]))
        image = cv2.LUT(bg.image, lut)
        if self.defocus > 0.2:
            image = cv2.GaussianBlur(image, (0, 0), self.defocus)
        self.background = image
        self.overlay = make_overlay(self.venue, np.random.default_rng(scene_seed + [1]), FULL_SIZE)
        self._noise = self._noise_tiles()
        self._warped_cam: Camera = self.cam0
        self._warped = self.background

    # ---------------------------------------------------------------------------------------------------- setup

    @staticmethod
    def _drift_path(rng: np.random.Generator, frames: int) -> np.ndarray:
        """(frames, 4) pan, tilt, roll (radians) and zoom factor: static, slow drift, or a gentle follow pan."""
        t = np.arange(frames) / FPS
        mode = rng.choice(["static", "drift", "pan"], p=[0.4, 0.35, 0.25])
        path = np.zeros((frames, 4))
        path[:, 3] = 1.0
        if mode == "drift":
            for k, amp in enumerate((0.004, 0.002, 0.0005)):
                path[:, k] = amp * np.sin(2 * math.pi * t / rng.uniform(4, 12) + rng.uniform(0, 2 * math.pi))
            path[:, 3] = 1 + 0.01 * np.sin(2 * math.pi * t / rng.uniform(5, 15) + rng.uniform(0, 2 * math.pi))
        elif mode == "pan":
            rate = rng.uniform(-0.006, 0.006)
            path[:, 0] = rate * t + 0.002 * np.sin(2 * math.pi * t / rng.uniform(2, 5))
            path[:, 3] = 1 + rng.uniform(-0.015, 0.015) * t / max(t[-1], 1e-6)
        return path

    def _spare_balls(self, image: np.ndarray, rng: np.random.Generator, colour: tuple[int, int, int]) -> None:
        """Balls lying still by the back boards or side walls: unlabelled look-alikes of the ball in play."""
        for _ in range(int(rng.poisson(0.7))):
            if rng.random() < 0.6:
                spot = (rng.uniform(-SIDE_WALL_X + 0.3, SIDE_WALL_X - 0.3),
                        rng.choice([-1.0, 1.0]) * (BACK_WALL_Y - rng.uniform(0.05, 1.5)))
            else:
                spot = (rng.choice([-1.0, 1.0]) * (SIDE_WALL_X - rng.uniform(0.05, 1.0)), rng.uniform(-12.0, 14.0))
            centre = np.array([[spot[0], spot[1], BALL_RADIUS]])
            uv, depth = self.cam0.project(centre)
            if depth[0] > 1.0 and np.isfinite(uv).all():
                radius = self.cam0.pixel_radius(depth) * self.bloom
                composite(image, draw_ball(uv, radius, colour, self._shade_light, self.psf), None)

    def _noise_tiles(self) -> tuple[np.ndarray, np.ndarray]:
        """Positive and negative parts (uint8) of this clip's noise tile, 48 px larger than a frame each way."""
        noise = np.round(_unit_noise() * np.float32(self.noise_sigma))
        return np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8)

    def time(self, i: int) -> float:
        """Script time (s) of frame ``i``'s mid-exposure."""
        return self.t0 + i / FPS

    def camera(self, i: int) -> Camera:
        """The camera frame ``i`` is rendered with."""
        return self._cameras[i]

    def _quantised_cameras(self) -> list[Camera]:
        """Per-frame cameras along the drift path, where a frame keeps the previous frame's camera until the drift
        has moved the image by ``_WARP_TOLERANCE`` px, so the background is warped rarely. Fixed at set-up, so a
        frame looks the same whatever was rendered before it."""
        cameras = [self.cam0]
        for pan, tilt, roll, zoom in self._drift:
            cam = self.cam0.drifted(pan, tilt, roll, zoom)
            cameras.append(cameras[-1] if self._moved(cameras[-1], cam) < _WARP_TOLERANCE else cam)
        return cameras[1:]

    @staticmethod
    def _moved(a: Camera, b: Camera) -> float:
        w, h = a.size
        corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], np.float64).T
        mapped = a.homography_to(b) @ corners
        mapped = mapped[:2] / mapped[2:]
        return float(np.abs(mapped - corners[:2]).max())

    def _background_for(self, cam: Camera) -> np.ndarray:
        if cam is not self._warped_cam:
            if self._moved(self.cam0, cam) < 1e-3:
                self._warped = self.background
            else:
                homography = self.cam0.homography_to(cam)
                self._warped = cv2.warpPerspective(self.background, homography, cam.size, flags=cv2.INTER_LINEAR,
                                                   borderMode=cv2.BORDER_REPLICATE)
            self._warped_cam = cam
        return self._warped

    # ---------------------------------------------------------------------------------------------------- frames

    def render(self, i: int, ball: np.ndarray | None = None, ball_velocity: np.ndarray | None = None,
               no_ball: bool = False) -> Frame:
        """Frame ``i`` as RGB with its label.

        ``ball`` (3,) world metres overrides the scripted ball at mid-exposure (moving with ``ball_velocity`` (3,)
        m/s, default still) so tests can place it behind a player or out of view; ``no_ball`` removes it.
        """
        bgr, code, xy, traj, patch, (visible, contrast) = self._render_bgr(i, ball, ball_velocity, no_ball)
        return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), code, xy, traj, patch, visible, contrast)

    def __iter__(self) -> Iterator[Frame]:
        for i in range(self.frames):
            yield self.render(i)

    def _ball_samples(self, i: int, cam: Camera, ball: np.ndarray | None, velocity: np.ndarray | None):
        """World ball centres (k, 3) over the exposure (k odd, middle = mid-exposure), or None without a ball."""
        t = self.time(i)
        exposure = self.shutter / FPS
        if ball is not None:
            v = np.zeros(3) if velocity is None else np.asarray(velocity, np.float64)
            probe = np.stack([ball - v * exposure / 2, ball + v * exposure / 2])
        else:
            mid = self.script.ball(t)
            if mid is None:
                return None
            probe = self.script.ball_many(np.array([t - exposure / 2, t + exposure / 2]))
            probe = np.where(np.isnan(probe), mid[None], probe)
        uv, _depth = cam.project(probe)
        if not np.isfinite(uv).all():
            return None
        streak = float(np.linalg.norm(uv[1] - uv[0]))
        k = int(min(max(math.ceil(streak / 0.7), 1), 40)) // 2 * 2 + 1
        offsets = np.linspace(-0.5, 0.5, k) * exposure if k > 1 else np.zeros(1)
        if ball is not None:
            return ball[None] + offsets[:, None] * (np.zeros(3) if velocity is None else np.asarray(velocity))[None]
        samples = self.script.ball_many(t + offsets)
        return np.where(np.isnan(samples), self.script.ball(t)[None], samples)

    def _traj(self, i: int) -> int:
        t = self.time(i)
        kinds = {e.kind for e in self.script.events if t - 0.5 / FPS <= e.t < t + 0.5 / FPS}
        return 1 if "hit" in kinds else 2 if "bounce" in kinds else 0

    def _render_bgr(self, i: int, ball: np.ndarray | None = None, ball_velocity: np.ndarray | None = None,
                    no_ball: bool = False):
        assert 0 <= i < self.frames, f"frame {i} outside the clip's {self.frames} frames"
        t = self.time(i)
        cam = self.camera(i)
        frame = self._background_for(cam).copy()
        w, h = cam.size
        light = self.light
        samples = None if no_ball else self._ball_samples(i, cam, ball, ball_velocity)
        script_ball = self.script.ball(t) if ball is None else ball

        # Players (far first) with their shadows.
        drawn = []
        for track, look in zip(self.script.players, self.looks, strict=True):
            pos, vel = track.position(t), track.velocity(t)
            swing = track.swing_at(t)
            target = np.array([0.3 * pos[0], 0.0]) if swing is None else swing.contact[:2]
            facing = target - pos
            facing = facing if np.hypot(*facing) > 1 else np.array([0.0, -track.side])
            facing[1] = -track.side * max(abs(facing[1]), 0.6 * np.hypot(*facing))  # keep facing the net
            pose = player_pose(look, pos, facing, vel, t, swing, script_ball)
            prims = primitives(pose, look, cam)
            depth = float(cam.to_camera(np.array([pos[0], pos[1], 1.0]))[2])  # body axis at hip height
            drawn.append(_Drawn(depth, pose, look, prims))
        drawn.sort(key=lambda d: -d.depth)
        strength = 0.3 if self.venue.indoor else 0.45
        for d in drawn:
            blend_shadow(frame, shadow_primitives(d.pose, d.look, cam, light), strength)
        if samples is not None:
            self._ball_shadow(frame, cam, samples)
        for d in drawn:
            paint(frame, d.prims)
        if self.defocus > 0.35:
            for d in drawn:
                box = bounds(d.prims)
                if box is not None:
                    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
                    if x1 - x0 > 2 and y1 - y0 > 2:
                        frame[y0:y1, x0:x1] = cv2.GaussianBlur(frame[y0:y1, x0:x1], (0, 0), self.defocus * 0.8)

        # The ball, hidden by whatever is in front of it.
        code, xy, patch, visible, contrast = 0, (-1.0, -1.0), None, 0.0, 0.0
        if samples is not None:
            uv, depth = cam.project(samples)
            radii = cam.pixel_radius(depth) * self.bloom
            patch = draw_ball(uv, radii, self.ball_colour, self._shade_light, self.psf)
            mid = samples[len(samples) // 2]
            occlusion = self._occlusion(patch, mid, cam, drawn)
            visible, contrast = composite(frame, patch, occlusion)
            u, v = uv[len(uv) // 2]
            if 0 <= u <= w - 1 and 0 <= v <= h - 1:
                xy = (float(u), float(v))
                if visible < 0.5:
                    code = 3
                elif (contrast < self.contrast_threshold or 2 * radii.mean() < 2.0
                      or (visible < 0.75 and contrast < 1.6 * self.contrast_threshold)):
                    code = 2
                else:
                    code = 1
        self.overlay.apply(frame)
        # Sensor noise from the pre-computed tile at a random offset (uint8 saturating add / subtract).
        dx, dy = (int(c) for c in self._noise_offsets[i])
        pos, neg = self._noise
        cv2.add(frame, pos[dy:dy + h, dx:dx + w], dst=frame)
        cv2.subtract(frame, neg[dy:dy + h, dx:dx + w], dst=frame)
        traj = -1 if samples is None and ball is None else self._traj(i)
        return frame, code, xy, traj, patch, (visible, contrast)

    def _ball_shadow(self, frame: np.ndarray, cam: Camera, samples: np.ndarray) -> None:
        light = self.light
        ends = samples[[0, -1]]
        ground = ends - light[None] * ((ends[:, 2:3] - 0.0) / light[2])
        ground[:, 2] = 0.0
        uv, depth = cam.project(ground)
        if not np.isfinite(uv).all():
            return
        height = float(samples[len(samples) // 2, 2])
        r = cam.focal * BALL_RADIUS / float(depth.mean()) * 1.1
        squash = max(0.35, math.sin(cam.tilt + 0.05))
        strength = (0.35 if self.venue.indoor else 0.55) * math.exp(-height / (1.5 if self.venue.indoor else 4.0))
        draw_shadow(frame, uv[0], uv[1], (r * (1 + 0.3 * height), r * squash * (1 + 0.3 * height)), strength)

    def _occlusion(self, patch: BallPatch, ball: np.ndarray, cam: Camera, drawn: list[_Drawn]) -> np.ndarray | None:
        """(h, w) uint8 coverage of everything in front of the ball inside the patch, or None when nothing is."""
        x0, y0, x1, y1 = patch.box
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        ball_depth = float(cam.to_camera(ball)[2])
        for d in drawn:
            box = bounds(d.prims)
            if d.depth < ball_depth and box is not None and box[0] < x1 and box[2] > x0 and box[1] < y1 and box[3] > y0:
                paint(mask, d.prims, offset=(x0, y0), mono=255)
        for occ in self.occluders:
            if occ.in_front(ball, cam):
                occ.draw_mask(mask, (x0, y0), cam)
        for _, alpha, (ox, oy) in self.overlay.patches:
            ah, aw = alpha.shape
            ix0, iy0, ix1, iy1 = max(x0, ox), max(y0, oy), min(x1, ox + aw), min(y1, oy + ah)
            if ix1 > ix0 and iy1 > iy0:
                sub = mask[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
                np.maximum(sub, alpha[iy0 - oy:iy1 - oy, ix0 - ox:ix1 - ox], out=sub)
        return mask if mask.any() else None


# -------------------------------------------------------------------------------------------------------- writing


def clip_frames(seed: int, game: int, clip: int, frames: int = 120) -> Iterator[Frame]:
    """The frames of one clip with their labels, rendered on the fly (RGB, before JPEG)."""
    yield from ClipRenderer(seed, game, clip, frames)


def clip_dir(out: Path, game: int, clip: int) -> Path:
    return Path(out) / f"game{game}" / f"clip{clip}"


def is_complete(path: Path, frames: int) -> bool:
    """A clip folder with its labels and all ``frames`` JPEGs (what a finished :func:`render_clip` leaves)."""
    return (path / "labels.csv").is_file() and len(list(path.glob("*.jpg"))) == frames


RECORD = "synth.json"  # OUT/synth.json: the seed a data set folder was rendered with


class SeedMismatch(ValueError):
    """A data set folder rendered with another seed than the one asked for."""


def claim_folder(out: Path, seed: int) -> None:
    """Record ``seed`` as the one ``out`` is rendered with, or refuse a folder rendered with another seed: complete
    clips are kept, so rendering another seed into it would silently mix (or keep) the old data."""
    out, record = Path(out), Path(out) / RECORD
    if record.is_file():
        recorded = json.loads(record.read_text()).get("seed")
        if recorded != seed:
            raise SeedMismatch(f"{out} holds synthetic data rendered with seed {recorded}, not the seed {seed} asked "
                               f"for: pass another --out for seed {seed}, or delete {out} to re-render it")
        return
    if any(out.glob("game*/clip*/labels.csv")):
        log.info("%s: clips without a seed record (rendered before %s existed); recording seed %d", out, RECORD,
                 seed)
    write_text_atomic(record, json.dumps({"seed": seed}) + "\n")  # per-process temp: workers may claim at once


def render_clip(out: Path, seed: int, game: int, clip: int, frames: int = 120) -> int:
    """Render one clip into ``out/gameG/clipC``: frames into a temporary folder, labels last, then a rename.

    Returns the number of frames written (0 when the clip was already complete). A folder rendered with another
    seed raises :class:`SeedMismatch` (:func:`claim_folder`).
    """
    claim_folder(out, seed)
    final = clip_dir(out, game, clip)
    if is_complete(final, frames):
        return 0
    cv2.setNumThreads(1)
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    renderer = ClipRenderer(seed, game, clip, frames)
    codes, xy, traj, names = np.zeros(frames, np.int64), np.full((frames, 2), -1.0), np.zeros(frames, np.int64), []
    params = [cv2.IMWRITE_JPEG_QUALITY, renderer.quality]
    for i in range(frames):
        bgr, code, centre, q, _, _ = renderer._render_bgr(i)
        ok, data = cv2.imencode(".jpg", bgr, params)
        assert ok, f"JPEG encoding failed for {final} frame {i}"
        name = f"{i:04d}.jpg"
        (tmp / name).write_bytes(data.tobytes())
        codes[i], xy[i], traj[i] = code, centre, q
        names.append(name)
    write_labels(tmp / "labels.csv", Labels(codes, xy, traj), names)
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    return frames


def _render_task(task: tuple[Path, int, int, int, int]) -> int:
    return render_clip(*task)


def render_dataset(out: Path, games: int | Iterable[int], clips: int, seed: int, frames: int = 120, workers: int = 2,
                   progress: bool = True) -> None:
    """Render ``games`` x ``clips`` clips of ``frames`` frames into ``out/game1..G/clip1..C``; ``games`` is a count
    (games 1..G) or the game numbers to render (a clip depends only on seed, game and clip, so any subset of a
    larger set renders the same clips).

    Clips already complete on disk are skipped, so an interrupted render resumes; ``workers`` processes render
    clips in parallel with identical output to a serial run. A folder rendered with another seed raises
    :class:`SeedMismatch` (its complete clips would otherwise be kept as they are).
    """
    numbers = range(1, games + 1) if isinstance(games, int) else sorted(set(games))
    assert numbers and min(numbers) > 0 and clips > 0 and frames > 0 and workers > 0, \
        "games, clips, frames and workers must be positive"
    out = Path(out)
    claim_folder(out, seed)
    tasks = [(out, seed, g, c, frames) for g in numbers for c in range(1, clips + 1)
             if not is_complete(clip_dir(out, g, c), frames)]
    skipped = len(numbers) * clips - len(tasks)
    if skipped:
        log.info("%d of %d clips already rendered in %s", skipped, len(numbers) * clips, out)
    if not tasks:
        return  # nothing to render: no empty progress bar
    bar = tqdm(total=len(tasks) * frames, unit="frame", disable=not progress, desc="rendering")
    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            bar.update(_render_task(task))
    else:
        # spawn, not fork: the caller may hold threads (torch, OpenCV) that do not survive a fork.
        with multiprocessing.get_context("spawn").Pool(min(workers, len(tasks))) as pool:
            for n in pool.imap_unordered(_render_task, tasks):
                bar.update(n)
    bar.close()
