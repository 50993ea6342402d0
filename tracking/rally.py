"""The court over a video: camera shots, the court of each shot, events placed on the court in metres with in / out
calls, the mini-map, and ``rally.json`` / ``rally.csv``.

- **Shots**: each frame is shrunk to 64x36 grey; a frame starts a new shot when it differs from the shot's first
  frame by more than ``CUT_LEVEL`` grey levels on average (a cut, or a pan or zoom that moved the picture), so the
  court is looked for once per shot, not assumed to stay put.
- **Court**: on a shot's first frame, the last court found moved by the camera's motion and refined
  (:func:`tracking.court.refine_court`), else the full search (:func:`tracking.court.search_court`), again every
  ``RETRY_EVERY`` frames (``RETRIES`` looks at most) while none is found unless a look saw nothing court-like; a
  shot without one (close-up, replay, crowd) has its frames listed in ``rally.json``. The tracker still runs on
  them: a frame wrongly called "no court" would otherwise be a lost ball.
- **Events** come in as one string per frame (``''``, ``'hit'``, ``'bounce'``), from the event detector or from
  labels; a bounce is placed where the ball touched the ground (its image position is on the ground plane there)
  and called against the singles court with :func:`data_prep.court.call_bounce`. A hit is drawn and listed at the
  ground point under the ball's image position: the ball is above the ground then, so that point is further from
  the camera than the player (by about the ball's height times the camera's distance over its height, a few
  metres): it shows the side and rough depth of the hit, no more. Nothing needing depth (speed, height) is given.
"""
from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from data_prep.atomic import atomic_path, write_text_atomic
from data_prep.court import LENGTH, LINES, WIDTH, call_bounce, to_court
from evaluation.predictions import Track
from tracking.court import CourtFit, refine_court, rescale, search_court

log = logging.getLogger(__name__)

CUT_LEVEL = 12.0  # mean absolute grey-level change (0-255) on 64x36 thumbnails that starts a new shot
RETRY_EVERY = 10  # frames between looks for the court in a shot where none was found yet
RETRIES = 4  # looks per shot at most (a close-up costs this many detections)
MOTION_SIZE = (80, 45)  # grey pictures on which the camera's motion between shots is measured
BALL_SIGMA_PX = 3.0  # pixel error of a bounce position (ball position and court fit together), at 1280 wide


@dataclass
class CourtWatch:
    """Follows the camera shots of a stream of frames and finds the court once per shot; pass the frames through
    :meth:`watch` (a generator that yields them unchanged), then read ``shot_of`` and ``courts``.

    A new shot first tries the last court found: moved by the camera's motion since that court's frame (an affine
    map of 80x45 grey pictures, :func:`cv2.findTransformECC`), then refined on the lines
    (:func:`tracking.court.refine_court`); the full search only when that does not give a near-perfect fit. A
    broadcast's main camera pans and zooms with play, and comes back after every close-up and replay."""

    shot_of: list[int] = field(default_factory=list)  # per frame, its shot
    courts: list[CourtFit | None] = field(default_factory=list)  # per shot
    starts: list[int] = field(default_factory=list)  # per shot, its first frame
    detections: int = 0  # full searches
    reused: int = 0  # shots whose court came from the last one's
    _key: np.ndarray | None = None
    _tries: int = 0
    _last: tuple[CourtFit, np.ndarray] | None = None  # the last court found and its frame's 80x45 grey

    def watch(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for frame in frames:
            self.add(frame)
            yield frame

    def add(self, frame: np.ndarray) -> None:
        """One RGB frame (H, W, 3)."""
        # Nearest pixels to 320x180 first: the area average of 64x36 over all of a 1080p frame costs 4x more.
        grey = cv2.cvtColor(cv2.resize(frame, (320, 180), interpolation=cv2.INTER_NEAREST), cv2.COLOR_RGB2GRAY)
        thumb = cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)
        frame_index = len(self.shot_of)
        if self._key is None or np.abs(thumb - self._key).mean() > CUT_LEVEL:
            self._key = thumb
            self.starts.append(frame_index)
            self._tries = 1
            self.courts.append(self._from_last(frame, grey) or self._detect(frame, grey))
            log.info("shot %d from frame %d: %s", len(self.courts) - 1, frame_index,
                     "court" if self.courts[-1] else "no court")
        elif (self.courts[-1] is None and self._tries < RETRIES
              and frame_index - self.starts[-1] >= RETRY_EVERY * self._tries):
            # A player or the ball over a line can hide the court on the shot's first frame: look again a few
            # times; a court found later holds for the whole shot (the picture has not moved since its start).
            self._tries += 1
            self.courts[-1] = self._detect(frame, grey)
            if self.courts[-1] is not None:
                log.info("shot %d: court found on frame %d", len(self.courts) - 1, frame_index)
        self.shot_of.append(len(self.courts) - 1)

    def _detect(self, frame: np.ndarray, grey: np.ndarray) -> CourtFit | None:
        self.detections += 1
        fit, court_like = search_court(frame)
        if not court_like:
            self._tries = RETRIES  # nothing like a court (a close-up, the crowd): no second look in this shot
        if fit is not None:
            self._last = fit, cv2.resize(grey, MOTION_SIZE, interpolation=cv2.INTER_AREA)
        return fit

    def _from_last(self, frame: np.ndarray, grey: np.ndarray) -> CourtFit | None:
        if self._last is None:
            return None
        last, before = self._last
        now = cv2.resize(grey, MOTION_SIZE, interpolation=cv2.INTER_AREA)
        warp = np.eye(2, 3, dtype=np.float32)
        try:
            _, warp = cv2.findTransformECC(before, now, warp, cv2.MOTION_AFFINE,
                                           (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 1e-4), None, 3)
        except cv2.error:  # no convergence: the picture changed too much (a cut)
            return None
        # The motion in 80x45 pixels, to the frame's pixels (pixel centres at integers in both).
        to_small = rescale(MOTION_SIZE[0] / frame.shape[1], MOTION_SIZE[1] / frame.shape[0])
        shift = np.linalg.inv(to_small) @ np.vstack([warp, [0, 0, 1]]) @ to_small
        fit = refine_court(frame, last, shift)
        if fit is not None:
            self.reused += 1
            self._last = fit, now
        return fit

    def court(self, frame: int) -> CourtFit | None:
        return self.courts[self.shot_of[frame]]

    def has_court(self) -> np.ndarray:
        """(n,) bool: frames whose shot shows the court."""
        return np.array([self.courts[s] is not None for s in self.shot_of], bool)


def no_ball_off_court(track: Track, confidence: np.ndarray | None,
                      has_court: np.ndarray) -> tuple[Track, np.ndarray | None]:
    """``track`` (and its per-frame ``confidence``) with no ball in the frames where ``has_court`` is False."""
    off = ~has_court[:len(track)]
    codes, xy = track.codes.copy(), track.xy.copy()
    codes[off], xy[off] = 0, -1.0
    if confidence is not None:
        confidence = np.where(off, 0.0, confidence)
    return Track(codes, xy), confidence


@dataclass(frozen=True)
class Placed:
    """An event on the court: frame, kind (``hit`` / ``bounce``), pixel, metres (None without a court), and for a
    bounce the call (``in`` / ``out`` / ``close``), its margin and sigma in metres."""

    frame: int
    kind: str
    pixel: tuple[float, float]
    xy: tuple[float, float] | None
    call: str = ""
    margin: float | None = None
    sigma: float | None = None


def place_events(events: list[str], xy: np.ndarray, watch: CourtWatch | None) -> list[Placed]:
    """Events ``events`` (n,) (``''``, ``'hit'``, ``'bounce'``) at ball pixels ``xy`` (n, 2) (negative = no ball)
    on the court of each frame's shot (none without ``watch``: pixels only)."""
    placed = []
    for t, kind in enumerate(events):
        if kind not in ("hit", "bounce") or xy[t, 0] < 0:
            continue
        fit = watch.court(t) if watch is not None else None
        pixel = (float(xy[t, 0]), float(xy[t, 1]))
        if fit is None:
            placed.append(Placed(t, kind, pixel, None))
            continue
        sigma_px = BALL_SIGMA_PX * fit.size[0] / 1280
        ideal = fit.undistort(xy[t])  # the homography maps metres to the image without the lens's bend
        if kind == "bounce":
            c = call_bounce(fit.homography, ideal, sigma_px)
            placed.append(Placed(t, kind, pixel, c.xy, c.call, round(c.margin, 3), round(c.sigma, 3)))
        else:
            gx, gy = to_court(fit.homography, ideal)
            placed.append(Placed(t, kind, pixel, (float(gx), float(gy))))
    return placed


def events_from_status(status: Iterable[int]) -> list[str]:
    """Per-frame events from a label file's status column (0 flying, 1 hit, 2 bounce)."""
    return [{1: "hit", 2: "bounce"}.get(int(s), "") for s in status]


def write_rally(out: Path, placed: list[Placed], watch: CourtWatch | None, fps: float, first: int = 0) -> None:
    """``rally.json`` (camera shots, events with metres and calls, frames without a court) and ``rally.csv``.
    ``watch`` None: the court was not looked for (events in pixels only); ``first``: the source's frame number of
    frame 0 (a time range keeps the source's frame numbers and times)."""
    has = watch.has_court() if watch is not None else np.zeros(0, bool)
    no_court = [[first + int(a), first + int(b)] for a, b in _runs(~has)]
    shots = [{"first_frame": first + s, "court": c is not None, **({"homography": c.homography.tolist()} if c else {})}
             for s, c in zip(watch.starts, watch.courts)] if watch is not None else []
    events = [{"frame": first + p.frame, "time_s": round((first + p.frame) / fps, 3), "kind": p.kind,
               "pixel": [round(v, 1) for v in p.pixel], "metres": None if p.xy is None else [round(v, 2) for v in p.xy],
               "call": p.call or None, "margin_m": p.margin, "sigma_m": p.sigma} for p in placed]
    summary = {"bounces": sum(p.kind == "bounce" for p in placed), "hits": sum(p.kind == "hit" for p in placed),
               "calls": {k: sum(p.call == k for p in placed) for k in ("in", "out", "close")}}
    court = ("metres: x 0-10.97 from the left doubles sideline, y 0-23.77 from the far baseline; calls against the "
             "singles court") if watch is not None else None
    rally = {"court": court, "fps": round(float(fps), 3), "summary": summary, "camera_shots": shots,
             "frames_without_court": no_court, "events": events}
    write_text_atomic(out / "rally.json", json.dumps(rally, indent=1))
    with atomic_path(out / "rally.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["frame", "event", "x_px", "y_px", "x_m", "y_m", "call", "margin_m", "sigma_m"])
        for p in placed:
            writer.writerow([first + p.frame, p.kind, f"{p.pixel[0]:.1f}", f"{p.pixel[1]:.1f}",
                             "" if p.xy is None else f"{p.xy[0]:.2f}", "" if p.xy is None else f"{p.xy[1]:.2f}",
                             p.call, "" if p.margin is None else p.margin, "" if p.sigma is None else p.sigma])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) frame of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


# ------------------------------------------------------------------------------------------------------ mini-map

CALL_COLOUR = {"in": (60, 220, 60), "out": (230, 50, 50), "close": (250, 210, 40)}  # RGB


def minimap(placed: list[Placed], upto: int, scale: float = 9.0, margin: float = 3.0) -> np.ndarray:
    """RGB picture of the court from above (far baseline at the top) with the bounces (filled, coloured by call) and
    hits (hollow white) of frames ``<= upto``; ``scale`` px a metre, ``margin`` metres of run-off around."""
    w, h = round((WIDTH + 2 * margin) * scale), round((LENGTH + 2 * margin) * scale)
    image = np.zeros((h, w, 3), np.uint8)
    image[:] = (40, 90, 60)

    def px(xy):
        return round((xy[0] + margin) * scale), round((xy[1] + margin) * scale)

    cv2.rectangle(image, px((0, 0)), px((WIDTH, LENGTH)), (50, 110, 160), -1)
    for a, b in LINES:
        cv2.line(image, px(a), px(b), (255, 255, 255), 1, cv2.LINE_AA)
    cv2.line(image, px((-0.9, LENGTH / 2)), px((WIDTH + 0.9, LENGTH / 2)), (200, 200, 200), 1, cv2.LINE_AA)  # net
    for p in placed:
        if p.frame > upto or p.xy is None:
            continue
        centre = px(np.clip(p.xy, -margin, [WIDTH + margin, LENGTH + margin]))
        if p.kind == "bounce":
            cv2.circle(image, centre, 4, CALL_COLOUR.get(p.call, (255, 255, 255)), -1, cv2.LINE_AA)
        else:
            cv2.circle(image, centre, 4, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def draw_minimap(frames: Iterable[np.ndarray], placed: list[Placed], watch: CourtWatch) -> Iterator[np.ndarray]:
    """Frames with the mini-map in the top-right corner (the rally's events so far), or "no court" there."""
    for t, frame in enumerate(frames):
        canvas = np.ascontiguousarray(frame).copy()
        height, width = canvas.shape[:2]
        scale = max(4.0, 9.0 * width / 1280)
        if t < len(watch.shot_of) and watch.court(t) is not None:
            inset = minimap(placed, t, scale=scale)
            ih, iw = inset.shape[:2]
            x0, y0 = width - iw - round(12 * width / 1280), round(60 * width / 1280)
            if x0 >= 0 and y0 + ih <= height:
                roi = canvas[y0:y0 + ih, x0:x0 + iw]
                roi[:] = (0.25 * roi + 0.75 * inset).astype(np.uint8)
        else:
            cv2.putText(canvas, "no court view", (width - 230, 90), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2,
                        cv2.LINE_AA)
        yield canvas

