"""Scripts of tennis points: who stands where, when each player swings, and where the ball is at every instant.

A :class:`Script` strings together points: the server bounces the ball, tosses and serves; the players exchange
shots aimed into the court (with :func:`physics.aim`) until one misses (net, out) or cannot reach a ball; the dead
ball rolls on for a moment, then there is no ball at all until the next point. Each player's movement is a list of
keyframes (stance at every contact, recovery towards the baseline) eased between, so the renderer can ask for any
time, including the sub-frame instants of a motion-blurred exposure.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from .camera import HALF_LENGTH, SERVICE_LINE, SINGLES_WIDTH
from .physics import SURFACE_BOUNCE, Bounce, Event, Flight, aim, fly

REACH = 1.0  # lateral distance from a player's body axis to the ball at contact, metres
MAX_RUN_SPEED = 6.5  # m/s
HALF_SINGLES = SINGLES_WIDTH / 2


@dataclass(frozen=True)
class Swing:
    """A stroke: contact time, kind ('forehand', 'backhand' or 'serve') and the ball centre at contact (3,)."""

    t: float
    kind: str
    contact: np.ndarray


@dataclass
class PlayerTrack:
    """Where one player stands over time. ``side`` is -1 for the near player (y < 0) and +1 for the far one."""

    side: int
    times: list[float] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)
    swings: list[Swing] = field(default_factory=list)

    def add(self, t: float, xy: tuple[float, float]) -> None:
        """Append a keyframe; keyframes must come in time order."""
        if self.times and t <= self.times[-1] + 1e-6:
            t = self.times[-1] + 1e-3
        self.times.append(float(t))
        self.points.append((float(xy[0]), float(xy[1])))

    def position(self, t: float) -> np.ndarray:
        """(2,) ground position (x, y) at ``t``, smoothstep-eased between keyframes (a stop at each keyframe)."""
        assert self.times, "player has no keyframes"
        i = bisect.bisect_right(self.times, t)
        if i == 0:
            return np.array(self.points[0])
        if i == len(self.times):
            return np.array(self.points[-1])
        t0, t1 = self.times[i - 1], self.times[i]
        s = (t - t0) / (t1 - t0)
        s = s * s * (3 - 2 * s)
        return (1 - s) * np.array(self.points[i - 1]) + s * np.array(self.points[i])

    def velocity(self, t: float) -> np.ndarray:
        """(2,) ground velocity in m/s (central difference)."""
        h = 0.02
        return (self.position(t + h) - self.position(t - h)) / (2 * h)

    def swing_at(self, t: float, before: float = 0.7, after: float = 0.6) -> Swing | None:
        """The stroke whose contact is within ``before`` seconds after or ``after`` seconds before ``t``; a serve
        starts ``before + 0.5`` s ahead (the toss)."""
        for swing in self.swings:
            lead = before + (0.5 if swing.kind == "serve" else 0.0)
            if swing.t - lead <= t <= swing.t + after:
                return swing
        return None


@dataclass
class Script:
    """A sequence of points: ball flights, the moments without a ball, and both players' tracks.

    flights: (start, end, flight) in time order; the ball follows ``flight`` on [start, end) and is absent
             outside every interval
    events:  hits, bounces and net contacts in time order
    players: (near, far)
    """

    flights: list[tuple[float, float, Flight]]
    events: list[Event]
    players: tuple[PlayerTrack, PlayerTrack]
    duration: float
    point_spans: list[tuple[float, float]]  # (first ball appearance, ball removed) of each point

    def ball(self, t: float) -> np.ndarray | None:
        """(3,) ball centre at ``t`` or None when no ball is in play."""
        for start, end, flight in self.flights:
            if start <= t < end:
                return flight.position(t)
        return None

    def ball_many(self, ts: np.ndarray) -> np.ndarray:
        """(n, 3) ball centres at times ``ts`` (n,); NaN rows where there is no ball."""
        out = np.full((len(ts), 3), np.nan)
        for start, end, flight in self.flights:
            inside = (ts >= start) & (ts < end)
            if inside.any():
                out[inside] = flight.position(ts[inside])
        return out


@dataclass(frozen=True)
class Style:
    """How a pair of players plays: shot speeds, spin, how often they miss, lob and slice."""

    rally_speed: tuple[float, float]
    topspin: tuple[float, float]
    error_rate: float
    lob_rate: float
    slice_rate: float
    first_serve_speed: tuple[float, float]


def random_style(rng: np.random.Generator) -> Style:
    """A random pair of players' style, from steady baseliners to fast hitters."""
    fast = rng.uniform(0.0, 1.0)
    return Style(rally_speed=(20.0 + 6 * fast, 30.0 + 8 * fast), topspin=(0.05, 0.3),
                 error_rate=rng.uniform(0.08, 0.2), lob_rate=rng.uniform(0.02, 0.07),
                 slice_rate=rng.uniform(0.05, 0.2), first_serve_speed=(40.0 + 5 * fast, 52.0 + 6 * fast))


def _stance(contact: np.ndarray, side: int, forehand: bool) -> tuple[float, float]:
    # A right-hander facing the net: his right is +x for the near player (facing +y), -x for the far one.
    right = 1.0 if side < 0 else -1.0
    lateral = right if forehand else -right
    return float(contact[0] - lateral * REACH), float(contact[1] + side * 0.25)


def _contact_after_bounce(flight: Flight, bounce_t: float, rng: np.random.Generator, side: int) -> float | None:
    """When the receiver on ``side`` meets the ball after its bounce at ``bounce_t``, or None if never.

    Players take the ball on its way down from the apex at hip to chest height, or earlier when it would carry
    them too far behind the baseline (each player has a preferred depth of 0.3-2.5 m behind it).
    """
    ts = np.arange(bounce_t + 0.12, min(bounce_t + 1.2, flight.end), 1 / 240)
    if len(ts) < 4:
        return None
    pos = flight.position(ts)
    apex = int(np.argmax(pos[:, 2]))
    later = np.nonzero(pos[apex:, 2] <= rng.uniform(0.7, 1.2))[0]
    idx = apex + (int(later[0]) if len(later) else len(ts) - 1 - apex)
    too_deep = np.nonzero(pos[:, 1] * side > HALF_LENGTH + rng.uniform(0.3, 2.5))[0]
    if len(too_deep) and too_deep[0] < idx:
        idx = int(too_deep[0])
    if pos[idx, 1] * side <= 0.5 or not 0.3 < pos[idx, 2] < 2.6:
        return None
    return float(ts[idx])


def _fly_to_bounce(p0: np.ndarray, v0: np.ndarray, t0: float, bounce: Bounce, lift: float) -> Flight:
    """A shot's flight, long enough to be returned after its bounce or to roll out after a miss."""
    flight = fly(p0, v0, t0, 2.8, bounce, lift)
    bounces = flight.bounces()
    if not bounces or bounces[0].t > t0 + 1.6:  # lobs and slow balls: follow them further
        flight = fly(p0, v0, t0, 5.0, bounce, lift)
    return flight


class _Scripter:
    """Builds a :class:`Script` point by point from one RNG."""

    def __init__(self, rng: np.random.Generator, bounce: Bounce, style: Style):
        self.rng, self.bounce, self.style = rng, bounce, style
        self.flights: list[tuple[float, float, Flight]] = []
        self.events: list[Event] = []
        self.players = (PlayerTrack(-1), PlayerTrack(1))
        self.spans: list[tuple[float, float]] = []

    def _player(self, side: int) -> PlayerTrack:
        return self.players[0] if side < 0 else self.players[1]

    def _add_flight(self, start: float, end: float, flight: Flight) -> None:
        self.flights.append((start, end, flight))
        self.events.extend(e for e in flight.events if start <= e.t < end)

    def point(self, t0: float, server_side: int, deuce: bool, second: bool) -> tuple[float, bool]:
        """Script one point starting at ``t0``; returns (time the point's ball is removed, was it a fault)."""
        rng = self.rng
        server, receiver = self._player(server_side), self._player(-server_side)
        right = 1.0 if server_side < 0 else -1.0  # the server's right in world x
        court_x = right * (1.0 if deuce else -1.0)  # half of the court the server stands on
        serve_xy = (court_x * rng.uniform(0.3, 1.3), server_side * (HALF_LENGTH + 0.15))
        recv_xy = (-court_x * rng.uniform(2.5, 4.0), -server_side * (HALF_LENGTH + rng.uniform(0.3, 2.0)))
        server.add(t0, serve_xy)
        receiver.add(t0, recv_xy)

        # Ball bounced a few times in front of the server, then tossed.
        hand = np.array([serve_xy[0] - 0.1 * right, serve_xy[1] - server_side * 0.3, 1.0])  # left hand, in front
        t = t0 + rng.uniform(0.3, 1.0)
        held = Flight(np.array([t0, t]), np.array([hand, hand]))
        self._add_flight(t0, t, held)
        for _ in range(int(rng.integers(0, 4))):
            drop = fly(hand, np.array([0.0, 0.0, -4.0]), t, 1.0, Bounce(0.75, 0.5))
            t_bounce = drop.bounces()[0].t
            # The hand catches the ball where it comes back up to it, or at its apex if it falls short.
            up = np.nonzero((drop.t > t_bounce) & (drop.pos[:, 2] >= hand[2] - 0.05))[0]
            rising = (drop.t > t_bounce) & (drop.t < t_bounce + 0.6)
            t_catch = float(drop.t[up[0]] if len(up) else drop.t[np.argmax(np.where(rising, drop.pos[:, 2], -1.0))])
            self._add_flight(t, t_catch, drop)
            hand = drop.position(t_catch)
            self._add_flight(t_catch, t_catch + 0.3, Flight(np.array([t_catch, t_catch + 0.3]), np.array([hand, hand])))
            t = t_catch + 0.3
        # The tossing arm lifts the ball from the hand to the release point, then lets it fly.
        toss_start = np.array([serve_xy[0] + 0.3 * right, serve_xy[1] - server_side * 0.35, 1.6])
        self._add_flight(t, t + 0.35, Flight(np.array([t, t + 0.35]), np.array([hand, toss_start])))
        t += 0.35
        apex = rng.uniform(3.0, 3.6)
        toss = fly(toss_start, np.array([0.0, -server_side * 0.3, math.sqrt(2 * 9.81 * (apex - 1.6))]), t, 2.0,
                   self.bounce)
        t_apex = t + math.sqrt(2 * (apex - 1.6) / 9.81)
        contact_z = rng.uniform(2.55, 2.85)
        t_hit = t_apex + math.sqrt(2 * (apex - contact_z) / 9.81)
        self._add_flight(t, t_hit, toss)
        contact = toss.position(t_hit)
        server.add(t_hit - 0.05, serve_xy)
        receiver.add(t_hit, recv_xy)
        server.swings.append(Swing(t_hit, "serve", contact))
        self.events.append(Event(t_hit, "hit", tuple(contact)))

        # The serve: into the diagonal service box, sometimes a fault.
        fault_rate = 0.08 if second else 0.3
        target = np.array([-court_x * rng.uniform(0.3, HALF_SINGLES - 0.3), -server_side * rng.uniform(3.8, 6.1)])
        faulty = rng.random() < fault_rate
        if faulty:
            if rng.random() < 0.5:
                target[1] -= server_side * rng.uniform(0.3, 1.5)  # long
            else:
                target[0] = -court_x * (HALF_SINGLES + rng.uniform(0.2, 1.0))  # wide
        lo, hi = self.style.first_serve_speed
        speed, lift = (rng.uniform(32.0, 40.0), rng.uniform(0.15, 0.3)) if second else (rng.uniform(lo, hi),
                                                                                       rng.uniform(0.0, 0.08))
        v0 = aim(contact, target, speed, lift)
        if faulty and rng.random() < 0.3:
            v0[2] -= rng.uniform(1.0, 2.5)  # into the net
        flight = _fly_to_bounce(contact, v0, t_hit, self.bounce, lift)
        end = self._rally(flight, t_hit, server_side, serve=True, server_box_x=-court_x)
        return end, faulty

    def _in_court(self, xy: np.ndarray, side: int, serve: bool, box_x: float) -> bool:
        x, y = float(xy[0]), float(xy[1])
        if serve:
            return y * side > 0 and abs(y) <= SERVICE_LINE and x * box_x >= 0 and abs(x) <= HALF_SINGLES
        return y * side > 0 and abs(y) <= HALF_LENGTH and abs(x) <= HALF_SINGLES

    def _rally(self, flight: Flight, t_hit: float, hitter_side: int, serve: bool, server_box_x: float = 0.0) -> float:
        """Follow shots until the point ends; returns the time the ball is removed."""
        rng = self.rng
        while True:
            receiver_side = -hitter_side
            receiver = self._player(receiver_side)
            after = [e for e in flight.events if e.t > t_hit + 1e-6]
            first = after[0] if after else None
            bounce_ok = (first is not None and first.kind == "bounce"
                         and self._in_court(np.array(first.position), receiver_side, serve, server_box_x))
            t_contact = _contact_after_bounce(flight, first.t, rng, receiver_side) if bounce_ok else None
            reachable = False
            if t_contact is not None:
                contact = flight.position(t_contact)
                now = receiver.position(t_hit)
                # Forehand when the ball comes to the player's right (x grows to the near player's right).
                to_right = (contact[0] - now[0]) * (-receiver_side) > -0.3
                forehand = to_right if rng.random() < 0.85 else rng.random() < 0.5
                stance = _stance(contact, receiver_side, forehand)
                dist = math.hypot(stance[0] - now[0], stance[1] - now[1])
                reachable = dist <= MAX_RUN_SPEED * (t_contact - t_hit - 0.15) and rng.random() > 0.06
            if not reachable:
                # Point over: a winner, an out ball or the net. The receiver reacts a little, the ball runs on.
                now = receiver.position(t_hit)
                if first is not None and first.kind == "bounce":
                    chase = np.array(first.position[:2]) - now
                    t_run = min(first.t + 0.4, flight.end)
                    receiver.add(t_run, now + chase * min(1.0, 2.5 * (t_run - t_hit) / max(np.hypot(*chase), 1e-6)))
                t_last = first.t if first is not None else t_hit
                end = min(flight.end, t_last + rng.uniform(0.8, 2.0))
                self._add_flight(t_hit, end, flight)
                return end
            # The receiver gets there and hits back.
            receiver.add(t_contact, stance)
            receiver.swings.append(Swing(t_contact, "forehand" if forehand else "backhand", contact))
            self._add_flight(t_hit, t_contact, flight)
            self.events.append(Event(t_contact, "hit", tuple(contact)))
            flight = self._shot(contact, t_contact, receiver_side)
            t_hit, hitter_side, serve = t_contact, receiver_side, False
            hitter = self._player(hitter_side)
            hitter.add(t_hit + 0.6, (0.4 * stance[0], hitter_side * (HALF_LENGTH + rng.uniform(0.3, 1.5))))

    def _shot(self, contact: np.ndarray, t: float, side: int) -> Flight:
        rng, style = self.rng, self.style
        other = -side
        target = np.array([rng.uniform(-HALF_SINGLES + 0.4, HALF_SINGLES - 0.4),
                           other * rng.uniform(7.0, HALF_LENGTH - 0.5)])
        kind = rng.choice(["drive", "lob", "slice"], p=[1 - style.lob_rate - style.slice_rate, style.lob_rate,
                                                         style.slice_rate])
        high = kind == "lob"
        if kind == "drive":
            speed, lift = rng.uniform(*style.rally_speed), rng.uniform(*style.topspin)
        elif kind == "lob":
            speed, lift = rng.uniform(17.0, 23.0), rng.uniform(0.0, 0.15)
        else:
            speed, lift = rng.uniform(17.0, 24.0), -rng.uniform(0.03, 0.12)
        error = rng.random() < style.error_rate
        if error:
            if rng.random() < 0.5:
                target[1] = other * (HALF_LENGTH + rng.uniform(0.3, 2.5))  # long
            else:
                target[0] = math.copysign(HALF_SINGLES + rng.uniform(0.2, 1.5), target[0])  # wide
        v0 = aim(contact, target, speed, lift, high=high)
        if error and rng.random() < 0.3:
            v0[2] -= rng.uniform(2.0, 4.0)
        flight = _fly_to_bounce(contact, v0, t, self.bounce, lift)
        # A drive that clips the net is re-aimed higher, so most shots go over as intended.
        for _ in range(3):
            if error or not any(e.kind == "net" for e in flight.events):
                break
            speed *= 0.88
            v0 = aim(contact, target, speed, lift, high=high)
            flight = _fly_to_bounce(contact, v0, t, self.bounce, lift)
        return flight


def script_points(rng: np.random.Generator, surface: str, duration: float, style: Style | None = None) -> Script:
    """Points one after another from time 0 until at least ``duration`` seconds are scripted."""
    assert surface in SURFACE_BOUNCE, f"unknown surface {surface!r}; choose from {sorted(SURFACE_BOUNCE)}"
    style = style or random_style(rng)
    scripter = _Scripter(rng, SURFACE_BOUNCE[surface], style)
    server_side = int(rng.choice([-1, 1]))
    deuce, second, t = bool(rng.random() < 0.5), False, 0.0
    while t < duration:
        end, fault = scripter.point(t, server_side, deuce, second)
        scripter.spans.append((t, end))
        # Between points: no ball; players walk back to new positions.
        gap = rng.uniform(0.6, 1.2) if fault and not second else rng.uniform(1.0, 2.5)
        second = fault and not second
        if not second:
            deuce = not deuce
        t = end + gap
    scripter.events.sort(key=lambda e: e.t)
    return Script(scripter.flights, scripter.events, scripter.players, t, scripter.spans)

