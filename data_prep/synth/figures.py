"""People on and around the court: players with rackets, the umpire, ball kids and line judges.

A person is a 3D skeleton in world metres (:class:`Pose`), posed from the rally script (running gait, ready
stance, forehand / backhand / serve swings, a hand holding the ball before the toss) or a static pose (standing,
kneeling, seated). :func:`primitives` projects it through the camera into 2D drawing primitives (thick limb lines,
torso polygon, head, shoes, racket) sorted far-to-near, which :func:`paint` draws with OpenCV either in colour or,
for occlusion tests, as a single-channel mask into any canvas with a pixel offset. Colours are BGR tuples.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from .camera import Camera
from .rally import Swing

SHIFT = 3  # fixed-point bits for sub-pixel cv2 drawing
_ONE = 1 << SHIFT
Z = np.array([0.0, 0.0, 1.0])

SKIN = [(172, 199, 233), (141, 170, 214), (104, 139, 190), (70, 100, 150), (45, 67, 110)]
HAIR = [(20, 20, 25), (30, 45, 70), (60, 100, 150), (25, 30, 40), (120, 160, 200)]
CLOTH = [(245, 245, 245), (240, 240, 236), (40, 40, 40), (30, 30, 170), (160, 70, 20), (50, 140, 40), (30, 150, 235),
         (120, 40, 120), (200, 180, 60), (40, 90, 230), (20, 20, 110), (210, 200, 190), (90, 60, 40), (150, 60, 200)]


@dataclass(frozen=True)
class Look:
    """Appearance of one person; lengths in metres, colours BGR."""

    height: float
    shirt: tuple[int, int, int]
    shorts: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shoes: tuple[int, int, int]
    socks: tuple[int, int, int]
    cap: tuple[int, int, int] | None
    racket: tuple[int, int, int] | None
    two_handed_backhand: bool = False
    long_sleeves: bool = False
    long_trousers: bool = False


def _pick(rng: np.random.Generator, options: list) -> tuple[int, int, int]:
    return tuple(int(c) for c in options[int(rng.integers(len(options)))])


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], amount: float = 18) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.normal(0, amount), 0, 255)) for c in colour)


def random_look(rng: np.random.Generator, role: str) -> Look:
    """A random player ('player'), 'umpire', 'ball_kid' or 'line_judge'."""
    assert role in ("player", "umpire", "ball_kid", "line_judge"), f"unknown role {role!r}"
    skin, hair = _jitter(rng, _pick(rng, SKIN), 10), _pick(rng, HAIR)
    if role == "player":
        shirt = _jitter(rng, _pick(rng, CLOTH))
        shorts = _jitter(rng, _pick(rng, CLOTH[:3] + [shirt]), 10)
        return Look(height=rng.uniform(1.72, 1.98), shirt=shirt, shorts=shorts, skin=skin, hair=hair,
                    shoes=_jitter(rng, (242, 242, 242), 8) if rng.random() < 0.8 else _jitter(rng, _pick(rng, CLOTH)),
                    socks=(235, 235, 235), cap=_pick(rng, CLOTH) if rng.random() < 0.3 else None,
                    racket=_pick(rng, [(30, 30, 30), (40, 40, 200), (200, 120, 30), (240, 240, 240), (40, 200, 230)]),
                    two_handed_backhand=bool(rng.random() < 0.6))
    uniform = _jitter(rng, _pick(rng, [(60, 40, 30), (30, 30, 120), (40, 90, 40), (200, 200, 200), (120, 60, 20)]))
    return Look(height=rng.uniform(1.25, 1.5) if role == "ball_kid" else rng.uniform(1.65, 1.9), shirt=uniform,
                shorts=_jitter(rng, (40, 40, 45), 10) if role != "ball_kid" else uniform, skin=skin, hair=hair,
                shoes=_jitter(rng, (240, 240, 240), 10) if rng.random() < 0.6 else (30, 30, 30),
                socks=(225, 225, 225), cap=uniform if rng.random() < 0.4 else None, racket=None,
                long_sleeves=role != "ball_kid" and rng.random() < 0.6, long_trousers=role == "umpire")


@dataclass
class Pose:
    """World positions (3,) of a person's joints, plus the racket: hand, head centre and the head's two axes."""

    joints: dict[str, np.ndarray]
    racket: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None  # hand, head centre, along, across


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else v


def _rotz(v: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]])


def _knee(hip: np.ndarray, foot: np.ndarray, length: float, forward: np.ndarray) -> np.ndarray:
    # Two-bone leg: the knee bends forward so thigh and shin keep their length.
    mid, half = 0.5 * (hip + foot), 0.5 * float(np.linalg.norm(hip - foot))
    out = math.sqrt(max(length * length - half * half, 0.0))
    axis = _unit(foot - hip)
    bend = _unit(forward - axis * float(forward @ axis))
    return mid + bend * out


def _nlerp(keys: list[tuple[float, np.ndarray]], t: float) -> np.ndarray:
    # Piecewise normalised interpolation of directions over time keys.
    if t <= keys[0][0]:
        return keys[0][1]
    for (t0, d0), (t1, d1) in itertools.pairwise(keys):
        if t <= t1:
            s = (t - t0) / (t1 - t0)
            s = s * s * (3 - 2 * s)
            return _unit((1 - s) * d0 + s * d1)
    return keys[-1][1]


def _skeleton(look: Look, xy: np.ndarray, facing: np.ndarray, hip_drop: float = 0.0, turn: float = 0.0):
    h = look.height
    f = _unit(np.array([facing[0], facing[1], 0.0]))
    r = np.array([f[1], -f[0], 0.0])  # right-hand side when facing f
    base = np.array([xy[0], xy[1], 0.0])
    fs, rs = _rotz(f, turn), _rotz(r, turn)  # shoulders turn with the swing
    hip_c = base + Z * (0.52 * h - hip_drop)
    sh_c = hip_c + Z * 0.30 * h + fs * 0.02 * h
    j = {
        "hip_l": hip_c - r * 0.085 * h, "hip_r": hip_c + r * 0.085 * h,
        "sh_l": sh_c - rs * 0.125 * h, "sh_r": sh_c + rs * 0.125 * h,
        "neck": sh_c + Z * 0.04 * h, "head": sh_c + Z * 0.115 * h,
    }
    return j, f, r, base


def player_pose(look: Look, xy: np.ndarray, facing: np.ndarray, velocity: np.ndarray, t: float,
                swing: Swing | None, ball: np.ndarray | None) -> Pose:
    """A player at ground point ``xy`` (2,) facing ``facing`` (2,), moving with ``velocity`` (2,) m/s at time ``t``.

    ``swing`` is the stroke in progress (the racket head centre passes through its contact point at its time);
    ``ball`` (3,) is the current ball centre, taken in the left hand when it is within reach and no stroke runs.
    """
    h = look.height
    speed = float(np.hypot(*velocity))
    run = min(speed / 4.0, 1.0)
    tau = t - swing.t if swing is not None else None
    turn = 0.0
    if tau is not None and swing.kind != "serve":
        sign = 1.0 if swing.kind == "forehand" else -1.0
        turn = sign * float(np.interp(tau, [-0.7, -0.35, 0.0, 0.3, 0.6], [0.0, -0.8, 0.0, 0.7, 0.0]))
    j, f, r, base = _skeleton(look, xy, facing, hip_drop=0.04 * h * (1 - run) + 0.02 * h, turn=turn)

    # Legs: a ready stance that opens into a running gait along the velocity.
    phase = 2 * math.pi * 2.6 * t
    direction = np.array([velocity[0], velocity[1], 0.0]) / speed if speed > 1e-3 else f
    stride = 0.42 * h * 0.5 * run
    lift = 0.09 * h * run
    stance = 0.16 * h * (1 - 0.5 * run)
    for side, sgn in (("l", -1.0), ("r", 1.0)):
        swing_leg = math.sin(phase) * (1 if side == "l" else -1)
        up = max(0.0, math.cos(phase) * (1 if side == "l" else -1))
        foot = base + r * sgn * stance + direction * stride * swing_leg + Z * (0.04 * h + lift * up)
        j[f"foot_{side}"] = foot
        j[f"knee_{side}"] = _knee(j[f"hip_{side}"], foot, 0.255 * h, f + 0.3 * direction)
        j[f"toe_{side}"] = foot + f * 0.07 * h - Z * 0.03 * h

    # Arms: ready position, strokes, or holding the ball.
    ready_hand = 0.5 * (j["sh_l"] + j["sh_r"]) + f * 0.25 * h - Z * 0.3 * h
    racket_dir = _unit(f + 0.6 * Z)
    hand_r, hand_l = ready_hand + r * 0.05 * h, ready_hand - r * 0.05 * h
    if tau is not None:
        sh = j["sh_r"]
        to_contact = swing.contact - sh
        arm_len = 0.32 * h
        if swing.kind == "serve":
            d_c = _unit(to_contact)
            keys = [(-1.2, _unit(f - Z)), (-0.6, _unit(-0.5 * f + 0.8 * Z + 0.2 * r)),
                    (-0.25, _unit(-0.8 * f - 0.6 * Z)),
                    (-0.12, _unit(-f + 0.4 * Z + 0.3 * r)), (0.0, d_c), (0.3, _unit(0.6 * f - 0.7 * Z - 0.4 * r)),
                    (0.6, _unit(f - Z))]
            d = _nlerp(keys, tau)
            racket_dir = d
            hand_r = sh + d * arm_len
            if tau < -0.3 and ball is not None and np.linalg.norm(ball - j["sh_l"]) < arm_len + 0.05:
                hand_l = ball - Z * 0.045  # lifting the ball into the toss
            elif -1.0 < tau < -0.2:
                hand_l = j["sh_l"] + _unit(0.3 * f + Z) * arm_len  # tossing arm still up
        else:
            sign = 1.0 if swing.kind == "forehand" else -1.0
            d_c = _unit(to_contact)
            # Swing about the vertical through the shoulder: back, through the contact, across the body; low to
            # high for topspin.
            yaw = float(np.interp(tau, [-0.7, -0.35, 0.0, 0.25, 0.6], [-0.6, -1.75, 0.0, 1.9, 1.2])) * sign
            pitch = float(np.interp(tau, [-0.7, -0.35, 0.0, 0.25, 0.6], [-0.2, -0.35, 0.0, 0.7, 0.3]))
            d = _rotz(d_c, yaw)
            d = _unit(d * math.cos(pitch) + Z * math.sin(pitch))
            blend = float(np.interp(tau, [-0.7, -0.5, 0.4, 0.6], [0.0, 1.0, 1.0, 0.0]))
            d = _unit(blend * d + (1 - blend) * racket_dir) if blend < 1 else d
            hand_r = sh + d * arm_len
            racket_dir = d
            if look.two_handed_backhand and sign < 0:
                hand_l = hand_r - r * 0.03 * h + Z * 0.02 * h
            else:
                hand_l = j["sh_l"] + _unit(f * (1 - 0.6 * blend) - r * 0.4 * sign * blend - 0.5 * Z) * arm_len
    elif ball is not None and np.linalg.norm(ball - j["sh_l"]) < 0.32 * h + 0.05:
        hand_l = ball - Z * 0.045
    j["hand_r"], j["hand_l"] = hand_r, hand_l
    j["elbow_r"] = _knee(j["sh_r"], hand_r, 0.165 * h, -Z + 0.3 * r)
    j["elbow_l"] = _knee(j["sh_l"], hand_l, 0.165 * h, -Z - 0.3 * r)
    racket = None
    if look.racket is not None:
        across = _unit(np.cross(racket_dir, Z)) if abs(racket_dir[2]) < 0.97 else r
        racket = (hand_r, hand_r + racket_dir * 0.45, racket_dir, across)
    return Pose(j, racket)


def static_pose(look: Look, xy: np.ndarray, facing: np.ndarray, mode: str, seat: float = 0.0) -> Pose:
    """A person who does not move: ``mode`` 'stand', 'kneel' (ball kid at the net) or 'sit' at ``seat`` metres."""
    assert mode in ("stand", "kneel", "sit"), f"unknown pose {mode!r}"
    h = look.height
    if mode == "stand":
        j, f, r, base = _skeleton(look, xy, facing)
    elif mode == "kneel":
        j, f, r, base = _skeleton(look, xy, facing, hip_drop=0.52 * h - 0.3 * h)
    else:
        j, f, r, base = _skeleton(look, xy, facing, hip_drop=0.52 * h - seat - 0.02)
    for side, sgn in (("l", -1.0), ("r", 1.0)):
        hip = j[f"hip_{side}"]
        if mode == "stand":
            foot = base + r * sgn * 0.09 * h + Z * 0.04 * h
            knee = _knee(hip, foot, 0.255 * h, f)
        elif mode == "kneel":
            knee = base + r * sgn * 0.1 * h + f * 0.12 * h + Z * 0.05
            foot = base + r * sgn * 0.1 * h - f * 0.15 * h + Z * 0.04
        else:
            knee = hip + f * 0.25 * h
            foot = knee - Z * 0.24 * h + f * 0.03 * h
        j[f"foot_{side}"], j[f"knee_{side}"] = foot, knee
        j[f"toe_{side}"] = foot + f * 0.07 * h - Z * 0.03 * h
        if mode == "stand":
            j[f"hand_{side}"] = hip + r * sgn * 0.04 * h - Z * 0.03 * h
        else:
            j[f"hand_{side}"] = hip + f * 0.12 * h + r * sgn * 0.05 * h
        j[f"elbow_{side}"] = _knee(j[f"sh_{side}"], j[f"hand_{side}"], 0.165 * h, -Z + f * 0.2)
    return Pose(j, None)


@dataclass(frozen=True)
class Prim:
    """One 2D drawing primitive: 'line' (2 points, thickness), 'poly' (k points) or 'circle' (centre, radius)."""

    depth: float
    kind: str
    points: np.ndarray  # (k, 2) pixels
    size: float
    colour: tuple[int, int, int]


_LIMBS = [  # joint a, joint b, width in metres, part
    ("hip_l", "knee_l", 0.15, "thigh"), ("knee_l", "foot_l", 0.11, "shin"),
    ("hip_r", "knee_r", 0.15, "thigh"), ("knee_r", "foot_r", 0.11, "shin"),
    ("sh_l", "elbow_l", 0.085, "upper"), ("elbow_l", "hand_l", 0.07, "fore"),
    ("sh_r", "elbow_r", 0.085, "upper"), ("elbow_r", "hand_r", 0.07, "fore"),
]


def primitives(pose: Pose, look: Look, cam: Camera) -> list[Prim]:
    """Project a pose into drawing primitives, sorted far to near (painter's order)."""
    names = list(pose.joints)
    pts = np.stack([pose.joints[n] for n in names])
    extra = []
    if pose.racket is not None:
        hand, head, along, across = pose.racket
        angles = np.linspace(0, 2 * math.pi, 14, endpoint=False)
        ring = head[None] + np.outer(np.cos(angles), along * 0.16) + np.outer(np.sin(angles), across * 0.125)
        extra = [hand - along * 0.08, head - along * 0.16, *ring]
    all_pts = np.concatenate([pts, np.asarray(extra).reshape(-1, 3)]) if extra else pts
    uv, depth = cam.project(all_pts)
    if not np.isfinite(uv).all() or (depth <= 0.5).any():
        return []
    idx = {n: i for i, n in enumerate(names)}
    f = cam.focal

    def px(metres: float, d: float) -> float:
        return max(f * metres / d, 1.0)

    out = []
    for a, b, width, part in _LIMBS:
        ia, ib = idx[a], idx[b]
        d = 0.5 * (depth[ia] + depth[ib])
        if part in ("upper", "fore"):
            cloth = look.shirt if (part == "upper" or look.long_sleeves) else look.skin
            if part == "upper" and not look.long_sleeves:
                mid = uv[ia] + 0.45 * (uv[ib] - uv[ia])
                out.append(Prim(d, "line", np.stack([uv[ia], mid]), px(width * 1.15, d), look.shirt))
                out.append(Prim(d - 1e-3, "line", np.stack([mid, uv[ib]]), px(width, d), look.skin))
                continue
            out.append(Prim(d, "line", np.stack([uv[ia], uv[ib]]), px(width, d), cloth))
        else:
            if part == "thigh":
                mid = uv[ia] + 0.45 * (uv[ib] - uv[ia])
                out.append(Prim(d, "line", np.stack([uv[ia], uv[ib]]), px(width, d),
                                look.shorts if look.long_trousers else look.skin))
                out.append(Prim(d - 1e-3, "line", np.stack([uv[ia], mid]), px(width * 1.25, d), look.shorts))
            else:
                low = uv[ia] + 0.8 * (uv[ib] - uv[ia])
                out.append(Prim(d, "line", np.stack([uv[ia], uv[ib]]), px(width, d),
                                look.shorts if look.long_trousers else look.skin))
                out.append(Prim(d - 1e-3, "line", np.stack([low, uv[ib]]), px(width * 1.05, d), look.socks))
    for side in ("l", "r"):
        i_f, i_t = idx[f"foot_{side}"], idx[f"toe_{side}"]
        d = depth[i_f]
        out.append(Prim(d - 2e-3, "line", np.stack([uv[i_f], uv[i_t]]), px(0.11, d), look.shoes))
    # Torso and shorts as polygons, neck, head with hair and cap.
    torso = uv[[idx["sh_l"], idx["sh_r"], idx["hip_r"], idx["hip_l"]]]
    d_t = float(depth[[idx["sh_l"], idx["sh_r"], idx["hip_r"], idx["hip_l"]]].mean())
    hip_mid = 0.5 * (uv[idx["hip_l"]] + uv[idx["hip_r"]])
    hips = uv[[idx["hip_l"], idx["hip_r"]]]
    pelvis = np.concatenate([hips + (hips - hip_mid) * 0.35, hips[::-1] + np.array([0.0, px(0.12, d_t)])])
    out.append(Prim(d_t + 0.01, "poly", pelvis, 0, look.shorts))
    out.append(Prim(d_t, "poly", torso, 0, look.shirt))
    i_n, i_h = idx["neck"], idx["head"]
    head_r = px(0.105, depth[i_h])
    out.append(Prim(depth[i_n], "line", np.stack([uv[i_n], uv[i_h]]), px(0.1, depth[i_n]), look.skin))
    out.append(Prim(depth[i_h] - 0.05, "circle", uv[i_h][None], head_r, look.skin))
    out.append(Prim(depth[i_h] - 0.06, "circle", (uv[i_h] - np.array([0, 0.35 * head_r]))[None], head_r * 0.8,
                    look.cap if look.cap is not None else look.hair))
    if pose.racket is not None:
        n0 = len(pts)
        grip, throat, ring = uv[n0], uv[n0 + 1], uv[n0 + 2:]
        d_r = float(depth[n0 + 2:].mean())
        out.append(Prim(d_r, "line", np.stack([grip, throat]), px(0.03, d_r), (30, 30, 30)))
        out.append(Prim(d_r, "ring", ring, px(0.022, d_r), look.racket))
    out.sort(key=lambda p: -p.depth)
    return out


def shadow_primitives(pose: Pose, look: Look, cam: Camera, light: np.ndarray) -> list[Prim]:
    """The pose's shadow on the ground (z = 0) cast along ``light`` (3,), pointing from the light downwards."""
    assert light[2] < -1e-3, "light must point downwards"
    ground = {n: p - light * (p[2] / light[2]) for n, p in pose.joints.items()}
    flat = Pose(ground, None)
    out = []
    for p in primitives(flat, look, cam):
        if p.kind != "ring":
            out.append(Prim(p.depth, p.kind, p.points, p.size * (1.1 if p.kind != "circle" else 1.0), (0, 0, 0)))
    return out


def bounds(prims: list[Prim]) -> tuple[int, int, int, int] | None:
    """Integer pixel box ``(x0, y0, x1, y1)`` (exclusive end) around the primitives, None when there are none."""
    if not prims:
        return None
    lo = np.full(2, np.inf)
    hi = np.full(2, -np.inf)
    for p in prims:
        pad = p.size if p.kind != "poly" else 0
        lo = np.minimum(lo, p.points.min(0) - pad - 2)
        hi = np.maximum(hi, p.points.max(0) + pad + 2)
    return math.floor(lo[0]), math.floor(lo[1]), math.ceil(hi[0]) + 1, math.ceil(hi[1]) + 1


def paint(canvas: np.ndarray, prims: list[Prim], offset: tuple[float, float] = (0.0, 0.0),
          mono: int | None = None) -> None:
    """Draw primitives into ``canvas`` (H, W, 3) BGR, or (H, W) with colour ``mono`` for masks.

    ``offset`` (x, y) is subtracted from every coordinate, so a patch whose top-left is at ``offset`` receives
    exactly the pixels the full frame would.
    """
    off = np.asarray(offset, np.float64)
    aa = cv2.LINE_AA
    for p in prims:
        colour = p.colour if mono is None else mono
        pts = np.round((p.points - off) * _ONE).astype(np.int32)
        if p.kind == "line":
            cv2.line(canvas, tuple(pts[0]), tuple(pts[1]), colour, max(round(p.size), 1), aa, SHIFT)
        elif p.kind == "poly":
            cv2.fillPoly(canvas, [pts], colour, aa, SHIFT)
        elif p.kind == "circle":
            cv2.circle(canvas, tuple(pts[0]), round(p.size * _ONE), colour, -1, aa, SHIFT)
        elif p.kind == "ring":
            cv2.polylines(canvas, [pts], True, colour, max(round(p.size), 1), aa, SHIFT)


def blend_shadow(image: np.ndarray, prims: list[Prim], strength: float) -> None:
    """Darken ``image`` under the primitives by ``strength`` (0..1), softly."""
    if not prims or strength <= 0:
        return
    box = bounds(prims)
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], image.shape[1]), min(box[3], image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    paint(mask, prims, offset=(x0, y0), mono=255)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.2)
    roi = image[y0:y1, x0:x1]
    factor = 1.0 - strength * mask.astype(np.float32)[..., None] / 255.0
    roi[:] = (roi * factor).astype(np.uint8)
