"""3D flight of a tennis ball: gravity, quadratic air drag, Magnus lift from spin, bounces, the net and the fences.

A :class:`Flight` is integrated with fixed-step RK4 in plain Python floats (the state is six numbers, so numpy's
per-call overhead would dominate) and stored as irregular samples that include every event time exactly, so
linear interpolation (:meth:`Flight.position`) is exact at bounces. :func:`aim` solves for the launch velocity that
lands a shot on a target point, which is how the rally script keeps most balls in the court.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .camera import BACK_WALL_Y, BALL_RADIUS, NET_POST_X, SIDE_WALL_X, net_height

GRAVITY = 9.81
_AIR = 0.5 * 1.21 * math.pi * BALL_RADIUS**2 / 0.057  # 0.5 rho A / m for a 57 g ball, 1/m
DRAG_COEFF = 0.55
FENCE_Y = BACK_WALL_Y - BALL_RADIUS
FENCE_X = SIDE_WALL_X - BALL_RADIUS


@dataclass(frozen=True)
class Bounce:
    """How the court surface returns a ball: vertical restitution and the fraction of horizontal speed kept."""

    restitution: float
    retention: float


SURFACE_BOUNCE = {
    "hard": Bounce(0.78, 0.62),
    "clay": Bounce(0.82, 0.55),
    "grass": Bounce(0.70, 0.70),
    "indoor": Bounce(0.76, 0.64),
}


@dataclass(frozen=True)
class Event:
    """Something that happened to the ball: ``kind`` is 'hit', 'bounce', 'net' or 'fence'."""

    t: float
    kind: str
    position: tuple[float, float, float]


@dataclass
class Flight:
    """Ball positions sampled at increasing times.

    t:      (n,) seconds
    pos:    (n, 3) world metres of the ball centre
    events: bounces, net and fence contacts in time order
    """

    t: np.ndarray
    pos: np.ndarray
    events: list[Event] = field(default_factory=list)

    def position(self, t: np.ndarray | float) -> np.ndarray:
        """Linearly interpolated centre at times ``t`` (...,) -> (..., 3); clamped to the ends."""
        t = np.asarray(t, np.float64)
        return np.stack([np.interp(t, self.t, self.pos[:, k]) for k in range(3)], axis=-1)

    @property
    def end(self) -> float:
        return float(self.t[-1])

    def bounces(self) -> list[Event]:
        return [e for e in self.events if e.kind == "bounce"]


def _accel(vx: float, vy: float, vz: float, ox: float, oy: float, lift: float) -> tuple[float, float, float]:
    # Drag opposes velocity; Magnus force is lift * |v| * (omega x v) with a horizontal spin axis (ox, oy, 0).
    speed = math.sqrt(vx * vx + vy * vy + vz * vz)
    d = _AIR * DRAG_COEFF * speed
    m = _AIR * lift * speed
    return (-d * vx + m * (oy * vz), -d * vy + m * (-ox * vz), -GRAVITY - d * vz + m * (ox * vy - oy * vx))


def _rk4(p: list[float], v: list[float], ox: float, oy: float, lift: float, dt: float):
    a1 = _accel(v[0], v[1], v[2], ox, oy, lift)
    v2 = [v[k] + 0.5 * dt * a1[k] for k in range(3)]
    a2 = _accel(*v2, ox, oy, lift)
    v3 = [v[k] + 0.5 * dt * a2[k] for k in range(3)]
    a3 = _accel(*v3, ox, oy, lift)
    v4 = [v[k] + dt * a3[k] for k in range(3)]
    a4 = _accel(*v4, ox, oy, lift)
    new_p = [p[k] + dt / 6 * (v[k] + 2 * v2[k] + 2 * v3[k] + v4[k]) for k in range(3)]
    new_v = [v[k] + dt / 6 * (a1[k] + 2 * a2[k] + 2 * a3[k] + a4[k]) for k in range(3)]
    return new_p, new_v


def spin_axis(velocity: np.ndarray) -> tuple[float, float]:
    """Horizontal unit spin axis (x, y) for topspin on a ball moving with ``velocity``: z cross direction."""
    hx, hy = float(velocity[0]), float(velocity[1])
    norm = math.hypot(hx, hy)
    assert norm > 1e-6, "a spinning ball needs horizontal motion to define its spin axis"
    return -hy / norm, hx / norm


def fly(p0: np.ndarray, v0: np.ndarray, t0: float, duration: float, bounce: Bounce, lift: float = 0.0,
        dt: float = 1 / 120, stop_at_bounce: bool = False) -> Flight:
    """Integrate a ball launched at ``p0`` (3,) with ``v0`` (3,) m/s at time ``t0`` for ``duration`` seconds.

    ``lift`` is the Magnus coefficient C_L, positive for topspin (the ball dips), negative for slice. The ball
    bounces off the ground, stops dead in the net (a net event, then it drops), rebounds weakly off the fences and
    rolls once its bounces are too small. ``stop_at_bounce`` ends the flight at the first ground contact.
    """
    p, v = [float(c) for c in p0], [float(c) for c in v0]
    ox, oy = spin_axis(v0) if lift and math.hypot(v[0], v[1]) > 1e-6 else (0.0, 0.0)
    t, t_end = t0, t0 + duration
    times, points, events = [t], [tuple(p)], []
    rolling = False
    while t < t_end - 1e-12:
        h = min(dt, t_end - t)
        if rolling:
            speed = math.hypot(v[0], v[1])
            keep = max(0.0, 1.0 - 2.0 * h / max(speed, 1e-6))  # rolling friction of about 2 m/s^2
            v = [v[0] * keep, v[1] * keep, 0.0]
            new_p, new_v = [p[0] + v[0] * h, p[1] + v[1] * h, BALL_RADIUS], v
        else:
            new_p, new_v = _rk4(p, v, ox, oy, lift, h)
        new_t = t + h
        # Net: the ball crossed the plane y = 0 between the posts below the cable.
        if p[1] * new_p[1] < 0 and not rolling:
            f = p[1] / (p[1] - new_p[1])
            x_c, z_c = p[0] + f * (new_p[0] - p[0]), p[2] + f * (new_p[2] - p[2])
            if abs(x_c) < NET_POST_X and z_c - BALL_RADIUS < net_height(x_c):
                side = math.copysign(1.0, p[1])
                t_c = t + f * h
                hit = (x_c, side * BALL_RADIUS, z_c)
                times.append(t_c)
                points.append(hit)
                events.append(Event(t_c, "net", hit))
                p, v = list(hit), [0.15 * new_v[0], -0.08 * new_v[1], min(new_v[2], 0.0) * 0.2]
                ox = oy = 0.0
                t = t_c
                continue
        # Ground: find the contact time on the chord and reflect.
        if new_p[2] < BALL_RADIUS and not rolling:
            f = (p[2] - BALL_RADIUS) / max(p[2] - new_p[2], 1e-12)
            t_c = t + f * h
            hit = (p[0] + f * (new_p[0] - p[0]), p[1] + f * (new_p[1] - p[1]), BALL_RADIUS)
            vz_in = v[2] + f * (new_v[2] - v[2])
            times.append(t_c)
            points.append(hit)
            events.append(Event(t_c, "bounce", hit))
            if stop_at_bounce:
                break
            vx, vy = v[0] + f * (new_v[0] - v[0]), v[1] + f * (new_v[1] - v[1])
            keep = bounce.retention + (0.08 if lift > 0 else 0.0)  # topspin kicks forward, slice skids
            v = [vx * keep, vy * keep, -vz_in * bounce.restitution]
            lift *= 0.4
            rolling = v[2] < 0.6
            if rolling:
                v[2] = 0.0
            p, t = list(hit), t_c
            continue
        # Fences: a soft rebound, enough to keep the ball near the court.
        if abs(new_p[1]) > FENCE_Y or abs(new_p[0]) > FENCE_X:
            k = 1 if abs(new_p[1]) > FENCE_Y else 0
            limit = FENCE_Y if k == 1 else FENCE_X
            new_p[k] = math.copysign(limit, new_p[k])
            new_v[k] *= -0.25
            new_v[1 - k] *= 0.5
            events.append(Event(new_t, "fence", tuple(new_p)))
            ox = oy = lift = 0.0
        p, v, t = new_p, new_v, new_t
        times.append(t)
        points.append(tuple(p))
    return Flight(np.asarray(times), np.asarray(points, np.float64), events)


def _landing_range(p0: np.ndarray, direction: np.ndarray, speed: float, elevation: float, lift: float,
                   dt: float = 1 / 60) -> float:
    v0 = speed * np.array([math.cos(elevation) * direction[0], math.cos(elevation) * direction[1],
                           math.sin(elevation)])
    flight = fly(p0, v0, 0.0, 8.0, SURFACE_BOUNCE["hard"], lift, dt=dt, stop_at_bounce=True)
    end = flight.pos[-1]
    return math.hypot(end[0] - p0[0], end[1] - p0[1]) if flight.events else math.inf


def aim(p0: np.ndarray, target: np.ndarray, speed: float, lift: float = 0.0, high: bool = False,
        max_tries: int = 6) -> np.ndarray:
    """Launch velocity (3,) from ``p0`` (3,) whose first bounce lands at ``target`` (2,) (x, y) metres.

    The speed is fixed and the elevation found by bisection (the low, flat solution, or the high lob one with
    ``high``); if no elevation reaches the target at this speed the speed is scaled until one does. With drag and
    topspin the range is not monotonic in the elevation, so a coarse scan first finds the elevation of the longest
    range and the bracket on the wanted side of it.
    """
    p0 = np.asarray(p0, np.float64)
    offset = np.asarray(target, np.float64) - p0[:2]
    dist = float(np.hypot(*offset))
    assert dist > 0.5, f"target {target} too close to the hitting point {p0}"
    direction = offset / dist
    grid = np.radians([-30.0, -15.0, -7.0, -2.0, 3.0, 8.0, 14.0, 20.0, 28.0, 36.0, 45.0, 55.0, 65.0, 75.0])
    for _ in range(max_tries):
        ranges = np.array([_landing_range(p0, direction, speed, float(e), lift) for e in grid])
        ranges = np.where(np.isfinite(ranges), ranges, 0.0)
        best = int(np.argmax(ranges))
        if ranges[best] < dist:
            speed *= 1.2
            continue
        side = range(best, len(grid) - 1) if high else range(best)
        bracket = next((k for k in side if min(ranges[k:k + 2]) <= dist <= max(ranges[k:k + 2])), None)
        if bracket is None:  # even the flattest (or steepest) launch goes too far
            speed /= 1.2
            continue
        lo, hi = float(grid[bracket]), float(grid[bracket + 1])
        rising = ranges[bracket + 1] > ranges[bracket]
        for _ in range(10):
            mid = 0.5 * (lo + hi)
            if (_landing_range(p0, direction, speed, mid, lift) < dist) == rising:
                lo = mid
            else:
                hi = mid
        elevation = 0.5 * (lo + hi)
        return speed * np.array([math.cos(elevation) * direction[0], math.cos(elevation) * direction[1],
                                 math.sin(elevation)])
    raise ValueError(f"cannot aim from {p0} at {target}")
