"""Tennis court geometry in metres and the pinhole broadcast camera that looks at it.

World frame: origin on the ground under the centre of the net, ``x`` to the right as the camera sees it, ``y`` away
from the camera (the near half of the court has ``y < 0``), ``z`` up. Camera frame: ``x`` right, ``y`` down,
``z`` forward; image pixels have their centres at integer coordinates (OpenCV's convention), so a label ``(u, v)``
is the point the pixel ``(round(u), round(v))`` shows.

The broadcast camera stands high behind the near baseline and rotates about its centre (pan, tilt, roll) and zooms;
two such views of the same camera centre are related by an exact homography, which lets the renderer warp a
pre-rendered background instead of drawing it again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

# Court dimensions (ITF rules), metres.
COURT_LENGTH = 23.77
HALF_LENGTH = COURT_LENGTH / 2
DOUBLES_WIDTH = 10.97
SINGLES_WIDTH = 8.23
SERVICE_LINE = 6.40  # distance of each service line from the net
LINE_WIDTH = 0.05
BASELINE_WIDTH = 0.10
CENTRE_MARK = 0.10  # length of the centre mark into the court
NET_HEIGHT_CENTRE = 0.914
NET_HEIGHT_POST = 1.07
NET_POST_X = DOUBLES_WIDTH / 2 + 0.914  # posts stand 0.914 m outside the doubles sidelines
BALL_RADIUS = 0.0335
BACK_WALL_Y = HALF_LENGTH + 6.4  # advertising boards behind each baseline
SIDE_WALL_X = DOUBLES_WIDTH / 2 + 6.0  # boards along the sides

FRAME_SIZE = (1280, 720)  # (width, height)


def net_height(x: np.ndarray | float) -> np.ndarray | float:
    """Height of the net's top cable at ``x`` metres from the centre: a sagging parabola from post to centre strap."""
    s = np.clip(np.abs(x) / NET_POST_X, 0.0, 1.0)
    return NET_HEIGHT_CENTRE + (NET_HEIGHT_POST - NET_HEIGHT_CENTRE) * s**2


def court_lines() -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Painted lines as ``(start, end, width)`` on the ground, start/end ``(2,)`` (x, y) metres along the line centre.

    Lines lie inside the court dimensions (their outer edge is the boundary), as on a real court.
    """
    hx_d, hx_s, hy = DOUBLES_WIDTH / 2, SINGLES_WIDTH / 2, HALF_LENGTH
    w, bw = LINE_WIDTH, BASELINE_WIDTH
    lines = []
    for sy in (-1, 1):
        lines.append((np.array([-hx_d, sy * (hy - bw / 2)]), np.array([hx_d, sy * (hy - bw / 2)]), bw))  # baseline
        lines.append((np.array([-hx_s, sy * (SERVICE_LINE - w / 2)]), np.array([hx_s, sy * (SERVICE_LINE - w / 2)]), w))
        lines.append((np.array([0.0, sy * (hy - bw)]), np.array([0.0, sy * (hy - bw - CENTRE_MARK)]), w))  # centre mark
    for sx in (-1, 1):
        lines.append((np.array([sx * (hx_d - w / 2), -hy]), np.array([sx * (hx_d - w / 2), hy]), w))  # doubles side
        lines.append((np.array([sx * (hx_s - w / 2), -hy]), np.array([sx * (hx_s - w / 2), hy]), w))  # singles side
    lines.append((np.array([0.0, -SERVICE_LINE]), np.array([0.0, SERVICE_LINE]), w))  # centre service line
    return lines


@dataclass(frozen=True)
class Camera:
    """Pinhole camera without distortion.

    position: (3,) camera centre in world metres
    pan:      rotation to the right about the vertical, radians (0 looks along +y)
    tilt:     downward pitch, radians
    roll:     clockwise image rotation, radians
    focal:    focal length in pixels (square pixels, principal point at the image centre)
    size:     (width, height) of the image in pixels
    """

    position: tuple[float, float, float]
    pan: float
    tilt: float
    roll: float
    focal: float
    size: tuple[int, int] = FRAME_SIZE

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) world-to-camera rotation; its rows are the camera's right, down and forward axes in world frame."""
        cp, sp, ct, st = math.cos(self.pan), math.sin(self.pan), math.cos(self.tilt), math.sin(self.tilt)
        forward = np.array([sp * ct, cp * ct, -st])
        right = np.array([cp, -sp, 0.0])
        down = np.cross(forward, right)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        return np.stack([cr * right + sr * down, -sr * right + cr * down, forward])

    @property
    def intrinsics(self) -> np.ndarray:
        """(3, 3) calibration matrix K."""
        w, h = self.size
        return np.array([[self.focal, 0.0, (w - 1) / 2], [0.0, self.focal, (h - 1) / 2], [0.0, 0.0, 1.0]])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) to camera-frame points (..., 3); the last coordinate is the depth."""
        return (np.asarray(points, np.float64) - np.asarray(self.position)) @ self.rotation.T

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) to pixels (..., 2) and depths (...,); points behind the camera get NaN pixels."""
        cam = self.to_camera(points)
        depth = cam[..., 2]
        safe = np.where(depth > 1e-6, depth, np.nan)
        w, h = self.size
        u = self.focal * cam[..., 0] / safe + (w - 1) / 2
        v = self.focal * cam[..., 1] / safe + (h - 1) / 2
        return np.stack([u, v], axis=-1), depth

    def project_point(self, point: np.ndarray) -> tuple[float, float, float]:
        """One world point (3,) to ``(u, v, depth)``, the scalar fast path used per frame."""
        uv, depth = self.project(np.asarray(point, np.float64)[None])
        return float(uv[0, 0]), float(uv[0, 1]), float(depth[0])

    def pixel_radius(self, depth: float, radius: float = BALL_RADIUS) -> float:
        """Apparent radius in pixels of a sphere of ``radius`` metres at ``depth`` metres (small-angle, on axis)."""
        return self.focal * radius / depth

    def homography_to(self, other: Camera) -> np.ndarray:
        """(3, 3) H mapping this camera's pixels to ``other``'s; exact because both share the camera centre."""
        assert np.allclose(self.position, other.position), "a homography relates views from the same centre only"
        return other.intrinsics @ other.rotation @ self.rotation.T @ np.linalg.inv(self.intrinsics)

    def drifted(self, pan: float = 0.0, tilt: float = 0.0, roll: float = 0.0, zoom: float = 1.0) -> Camera:
        """The same camera rotated by small angles (radians) and zoomed by a factor."""
        return replace(self, pan=self.pan + pan, tilt=self.tilt + tilt, roll=self.roll + roll,
                       focal=self.focal * zoom)


def look_at_camera(position: tuple[float, float, float], target: tuple[float, float, float], focal: float,
                   roll: float = 0.0, size: tuple[int, int] = FRAME_SIZE) -> Camera:
    """A camera at ``position`` whose optical axis passes through ``target`` (world metres)."""
    d = np.asarray(target, np.float64) - np.asarray(position, np.float64)
    pan = math.atan2(d[0], d[1])
    tilt = math.atan2(-d[2], math.hypot(d[0], d[1]))
    return Camera(tuple(float(c) for c in position), pan, tilt, roll, focal, size)


def random_broadcast_camera(rng: np.random.Generator) -> Camera:
    """A high camera behind the near baseline framing the whole court like a TV main camera.

    The ranges come from fitting this model to three real broadcast frames (camera 18-33 m behind the baseline,
    14-15 degrees above the court centre, far baseline at 23-32 % of the image height, baselines 46-52 % of the
    height apart), widened a little.
    """
    distance = rng.uniform(14.0, 34.0)  # camera behind the near baseline
    height = math.tan(math.radians(rng.uniform(12.0, 19.0))) * (distance + HALF_LENGTH)
    position = (rng.normal(0.0, 0.4), -(HALF_LENGTH + distance), height)
    # Aim so the whole court fits: the near baseline low in the frame, the far baseline at about a quarter height.
    near = np.array([0.0, -HALF_LENGTH, 0.0])
    far = np.array([0.0, HALF_LENGTH, 0.0])
    probe = look_at_camera(position, (0.0, 0.0, 0.0), 1000.0)
    (_, v_near), (_, v_far) = probe.project(near[None])[0][0], probe.project(far[None])[0][0]
    span_target = rng.uniform(0.45, 0.56) * FRAME_SIZE[1]  # far-to-near baseline distance in pixels
    focal = 1000.0 * span_target / (v_near - v_far)
    cam = look_at_camera(position, (0.0, 0.0, 0.0), focal, roll=rng.normal(0.0, 0.002))
    # Shift the tilt so the far baseline sits at 21-33 % of the image height.
    _, v_far = cam.project(far[None])[0][0]
    want = rng.uniform(0.21, 0.33) * FRAME_SIZE[1]
    dtilt = math.atan((want - v_far) / focal)
    return replace(cam, tilt=cam.tilt - dtilt, pan=cam.pan + rng.normal(0.0, 0.003))
