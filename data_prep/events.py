"""Ball tracks with hits and bounces: reading them, the event detector's features, and the augmentation that makes
labelled tracks look like a tracker's output.

A track is one position (or none) per frame plus, when labelled, one event per frame: 0 none, 1 hit (racket
contact), 2 bounce, on the frame of the event (TrackNet's ``status`` column, the assignment's ``q``). Sources:

* ``../shared/data/tennis_events/gameG_clipC.csv`` (``frame,visibility,x-coordinate,y-coordinate,status``,
  1280x720 at 30 fps): :func:`read_event_folder`, the match is G;
* any clip folder whose ``labels.csv`` carries ``q``: :func:`clip_event_track`.

Frame rate and size must not matter, so the detector sees every track resampled to :data:`NET_FPS` and positions
as fractions of the frame (:func:`features`); :func:`augment` adds what a tracker does wrong (jitter, dropped
frames, gap-filled straight stretches, a few frames on a distractor, another frame rate, another framing).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from data_prep.clips import Clip, DataError, cell_float, read_csv_rows

NET_FPS = 30.0  # the rate the detector works at: every track is resampled to it
EVENT_NAMES = ("", "hit", "bounce")  # event code -> name in csv files (0: none)
FEATURES = 7  # channels of features(): present, x, y, vx, vy, ax, ay
EVENT_HEADER = "frame,visibility,x-coordinate,y-coordinate,status"
EVENT_FILE = re.compile(r"game(\d+)_clip(\d+)\.csv")


@dataclass(frozen=True)
class EventTrack:
    """One clip's ball track and, when labelled, its events.

    xy:      (n, 2) float64 pixels of a ``size`` frame; ignored where not ``present``
    present: (n,) bool
    events:  (n,) int64 0 none, 1 hit, 2 bounce; -1 where unknown
    """

    name: str
    match: int
    xy: np.ndarray
    present: np.ndarray
    events: np.ndarray
    size: tuple[int, int] = (1280, 720)
    fps: float = NET_FPS

    def __len__(self) -> int:
        return len(self.present)


def read_event_csv(path: Path, match: int = 0) -> EventTrack:
    """A ``frame,visibility,x-coordinate,y-coordinate,status`` csv (tennis_events, tennis_labelled) from its first
    row's frame on; unlabelled rows (blank visibility) and missing frames count as no ball and an unknown event."""
    path = Path(path)
    rows = read_csv_rows(path)
    if not rows or [c.strip().lower() for c in rows[0][:5]] != EVENT_HEADER.split(","):
        raise DataError(path, f"header must be {EVENT_HEADER}", 1)
    body = [(line, [c.strip() for c in row] + [""] * (5 - len(row)))
            for line, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
    if not body:
        raise DataError(path, "no rows after the header", 1)
    first = int(cell_float(path, body[0][0], "frame", body[0][1][0]))
    n = int(cell_float(path, body[-1][0], "frame", body[-1][1][0])) - first + 1
    xy, present, events = np.full((n, 2), -1.0), np.zeros(n, bool), np.full(n, -1, np.int64)
    previous = -1
    for line, cells in body:
        i = int(cell_float(path, line, "frame", cells[0])) - first
        if not previous < i < n:
            raise DataError(path, f"frame {cells[0]!r} out of order", line)
        previous = i
        if not cells[1]:
            continue
        events[i] = int(cell_float(path, line, "status", cells[4])) if cells[4] else 0
        if events[i] not in (0, 1, 2):
            raise DataError(path, f"status {cells[4]!r} is not 0 (flying), 1 (hit) or 2 (bounce)", line)
        if cell_float(path, line, "visibility", cells[1]) > 0 and cells[2] and cells[3]:
            present[i] = True
            xy[i] = cell_float(path, line, "x", cells[2]), cell_float(path, line, "y", cells[3])
    return EventTrack(path.stem, match, xy, present, events)


def read_event_folder(folder: Path) -> list[EventTrack]:
    """Every ``gameG_clipC.csv`` of ``folder``, in (game, clip) order, match = G."""
    found = sorted((tuple(int(g) for g in m.groups()), p) for p in Path(folder).glob("*.csv")
                   if (m := EVENT_FILE.fullmatch(p.name)))
    if not found:
        raise DataError(folder, "no gameG_clipC.csv event tracks here")
    return [read_event_csv(path, game) for (game, _), path in found]


def clip_event_track(clip: Clip) -> EventTrack:
    """The labelled track of a clip folder, events from ``labels.csv``'s ``q`` (-1 where blank)."""
    labels = clip.labels
    return EventTrack(clip.name, clip.game, labels.xy, labels.codes > 0, labels.traj.copy(), clip.size)


def has_events(track: EventTrack) -> bool:
    """Whether the track carries event labels at all (some frame known and some event marked)."""
    return bool((track.events >= 0).any() and (track.events > 0).any())


def resample(xy: np.ndarray, present: np.ndarray, fps: float, to_fps: float) -> tuple[np.ndarray, np.ndarray]:
    """The track at another frame rate: positions interpolated linearly in time between present frames, a frame
    present where both frames around its time are. (n, 2), (n,) -> (m, 2), (m,), m = frames covering the duration."""
    n = len(present)
    if fps == to_fps or n == 0:
        return xy.copy(), present.copy()
    m = max(1, int(np.floor((n - 1) * to_fps / fps + 1e-6)) + 1)
    t = np.arange(m) * fps / to_fps  # positions on the source's frame axis
    lo = np.clip(np.floor(t).astype(int), 0, n - 1)
    hi = np.clip(lo + 1, 0, n - 1)
    w = (t - lo)[:, None]
    near = np.where(w[:, 0] < 0.5, lo, hi)
    both = present[lo] & present[hi]
    out = np.where(both[:, None], (1 - w) * xy[lo] + w * xy[hi], xy[near])
    return out, both | (present[near] & (np.abs(t - near) < 1e-6))


def features(xy: np.ndarray, present: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Per-frame features of a track already at :data:`NET_FPS`: (n, 2), (n,) -> (FEATURES, n) float32.

    present; x, y as fractions of the frame minus 0.5; velocity and acceleration in frame widths per second (and
    per second and frame, scaled to unit size), 0 where a neighbour is missing. Both axes are divided by the width,
    so a 4:3 frame keeps the ball's true directions.
    """
    width, height = size
    p = present.astype(np.float32)
    pos = np.stack([xy[:, 0] / width - 0.5, xy[:, 1] / height - 0.5]) * p
    scaled = xy / width
    n = len(p)
    vel, acc = np.zeros((2, n), np.float32), np.zeros((2, n), np.float32)
    if n >= 3:
        both = present[:-2] & present[2:]
        vel[:, 1:-1] = ((scaled[2:] - scaled[:-2]).T / 2 * NET_FPS) * both
        three = both & present[1:-1]
        acc[:, 1:-1] = ((scaled[2:] - 2 * scaled[1:-1] + scaled[:-2]).T * NET_FPS * 5) * three
    return np.concatenate([p[None], pos, np.clip(vel, -5, 5), np.clip(acc, -5, 5)]).astype(np.float32)


def net_input(track: EventTrack) -> np.ndarray:
    """The detector's input for a track at any rate and size: (FEATURES, m) at :data:`NET_FPS`."""
    xy, present = resample(track.xy, track.present, track.fps, NET_FPS)
    return features(xy, present, track.size)


# ------------------------------------------------------------------------------------------------- augmentation


def augment(track: EventTrack, rng: np.random.Generator, strength: float = 1.0) -> EventTrack:
    """A labelled :data:`NET_FPS` track made to look like a tracker's output of another broadcast (same events).

    Another framing (mirror, zoom, shift), another frame rate (25-60 fps, the noise added at that rate and the
    track brought back), jitter, dropped frames, gap-filled straight stretches, and a few frames on a distractor.
    """
    if strength <= 0:
        return track
    width, height = track.size
    xy, present = track.xy.astype(np.float64).copy(), track.present.copy()
    if rng.random() < 0.5:
        xy[:, 0] = width - 1 - xy[:, 0]
    zoom = np.exp(rng.uniform(-0.25, 0.25) * strength)
    centre = np.array([width, height]) / 2 + rng.uniform(-0.1, 0.1, 2) * strength * np.array([width, height])
    xy = (xy - np.array([width, height]) / 2) * zoom + centre
    fps = float(rng.uniform(25, 60)) if rng.random() < 0.7 * strength else NET_FPS
    xy, present = resample(xy, present, NET_FPS, fps)
    xy, present = _tracker_errors(xy, present, rng, strength, track.size)
    xy, present = resample(xy, present, fps, NET_FPS)
    n = len(track)
    xy, present = _fit(xy, n), _fit(present, n)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
    return replace(track, xy=xy, present=present & inside)


def _fit(values: np.ndarray, n: int) -> np.ndarray:
    """Cut or pad (repeating the last frame) to ``n`` frames: a round trip between rates may lose the last one."""
    if len(values) >= n:
        return values[:n]
    return np.concatenate([values, np.repeat(values[-1:], n - len(values), axis=0)])


def _tracker_errors(xy: np.ndarray, present: np.ndarray, rng: np.random.Generator, strength: float,
                    size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Jitter, dropped runs, straight gap fills and distractor frames on a track of a ``size`` frame."""
    n = len(present)
    xy, present = xy.copy(), present.copy()
    sigma = rng.uniform(0, 3.0) * strength * size[0] / 1280  # the tracker's jitter: a few px at 1280 wide
    xy += rng.normal(0, sigma, xy.shape)
    for _ in range(rng.poisson(n / 60 * strength)):  # dropped runs, some filled straight as the decoder does
        start, length = int(rng.integers(0, n)), int(rng.integers(1, 9))
        stop = min(n, start + length)
        before, after = start - 1, stop
        if rng.random() < 0.5 and before >= 0 and after < n and present[before] and present[after]:
            w = np.linspace(0, 1, stop - start + 2)[1:-1, None]
            xy[start:stop] = (1 - w) * xy[before] + w * xy[after]
        else:
            present[start:stop] = False
    for _ in range(rng.poisson(n / 150 * strength)):  # a few frames on a distractor (player, shoe, court mark)
        start = int(rng.integers(0, n))
        stop = min(n, start + int(rng.integers(1, 4)))
        xy[start:stop] = rng.uniform(0, 1, 2) * np.array(size)
        present[start:stop] = True
    return xy, present


def event_targets(events: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Soft per-frame class targets (3, n) for events (n,) in 0..2 (-1 unknown): each event spreads a Gaussian of
    ``sigma`` frames over its neighbours; background takes the rest."""
    n = len(events)
    target = np.zeros((3, n), np.float32)
    frames = np.arange(n)
    for frame in np.flatnonzero(events > 0):
        bump = np.exp(-0.5 * ((frames - frame) / sigma) ** 2)
        target[events[frame]] = np.maximum(target[events[frame]], bump)
    total = target[1:].sum(0)
    target[1:] /= np.maximum(total, 1.0)
    target[0] = 1 - target[1:].sum(0)
    return target
