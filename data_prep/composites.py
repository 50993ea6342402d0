"""Rendered balls pasted into real crop stacks: exact labels in real clutter.

The synthetic renderer gives exact labels but synthetic backgrounds; pseudo-labelled broadcasts give real
backgrounds but only the balls the teacher already found. A composite takes a crop stack cut from a real frame away
from its ball (a proposal candidate on a head, a shoe, a line crossing, or a random window) and draws a ball into it
with the renderer's own ball model (:func:`data_prep.synth.ball.draw_ball`: shaded sphere, exposure-integrated
motion blur, lens blur) along a short image-space flight, so the refiner learns a ball beside the very distractors
it confuses with one.

Everything is in the crop's pixels; the crop's ``origin`` in the frame only sets the ball's size, which follows the
image row as the renderer's broadcast cameras make it: about 1.3 px radius on the far baseline (row ~200 of 720)
and 2.5 px on the near one (row ~560).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_prep.synth.ball import composite, draw_ball, draw_shadow

EXPOSURE_SAMPLES = 5  # sub-frame positions integrated for the motion blur (odd: the middle one is the label)


def ball_radius_at(row: float, height: int) -> float:
    """Radius in pixels of a ball seen at image ``row`` of a broadcast frame ``height`` pixels tall.

    A linear fit to the renderer's random broadcast cameras (far baseline ~1.3 px at row 200 of 720, near baseline
    ~2.5 px at row 560), clipped to the range they produce.
    """
    row720 = row * 720.0 / height
    return float(np.clip(1.3 + (row720 - 200.0) / 300.0, 1.1, 3.5)) * height / 720.0


@dataclass(frozen=True)
class BallFlight:
    """A ball's image-space flight over a stack: ``centre`` at the middle frame, moving at ``velocity`` px/frame
    with ``gravity`` px/frame^2 downwards; ``exposure`` is the shutter's share of a frame (motion blur length)."""

    centre: np.ndarray
    velocity: np.ndarray
    gravity: float
    exposure: float

    def at(self, times: np.ndarray) -> np.ndarray:
        """times (n,) in frames from the middle frame -> (n, 2) positions."""
        times = np.asarray(times, np.float64)[:, None]
        return self.centre + self.velocity * times + 0.5 * np.array([0.0, self.gravity]) * times ** 2


@dataclass(frozen=True)
class BallLook:
    """How the pasted ball looks: BGR ``colour``, ``scale`` of the row's radius, ``light`` direction (image space,
    z towards the camera), lens blur ``psf`` (px) and the ``shadow`` strength below it (0 = none)."""

    colour: tuple[float, float, float]
    scale: float
    light: np.ndarray
    psf: float
    shadow: float
    shadow_drop: float  # how far below the ball the shadow lies, px


def random_flight(rng: np.random.Generator, centre: np.ndarray, max_speed: float = 24.0) -> BallFlight:
    """A flight through ``centre`` (2,) with a random direction and speed up to ``max_speed`` px/frame."""
    angle = rng.uniform(0, 2 * np.pi)
    speed = max_speed * np.sqrt(rng.random())
    return BallFlight(np.asarray(centre, np.float64), speed * np.array([np.cos(angle), np.sin(angle)]),
                      rng.uniform(0.0, 1.2), rng.uniform(0.1, 0.7))


def random_look(rng: np.random.Generator, shadow_prob: float = 0.2) -> BallLook:
    """A tennis ball's yellow-green under broadcast light, some lit, some in shade."""
    base = np.array([70.0, 225.0, 215.0]) + rng.uniform(-25, 25, 3)
    colour = tuple(float(c) for c in np.clip(base * rng.uniform(0.7, 1.1), 0, 255))
    light = np.array([rng.uniform(-1, 1), rng.uniform(-1, 0.3), 1.0])
    shadow = rng.uniform(0.2, 0.45) if rng.random() < shadow_prob else 0.0
    return BallLook(colour, rng.uniform(0.85, 1.2), light, rng.uniform(0.3, 0.9), shadow, rng.uniform(3.0, 30.0))


def paste_ball(crops: np.ndarray, origin: np.ndarray, frame_height: int, flight: BallFlight,
               look: BallLook) -> tuple[np.ndarray, np.ndarray]:
    """Draw the ball of ``flight`` into every frame of a crop stack, in place.

    crops (t, P, P, 3) uint8, the frames t-k .. t+k of a window whose top-left frame pixel is ``origin`` (2,);
    the flight is in crop pixels with time 0 at the middle frame.
    -> xy (t, 2) the ball's centre in each frame (the mid-exposure disc's centre: the label), present (t,) bool,
    the centre inside the crop.
    """
    t, side = len(crops), crops.shape[1]
    times = np.arange(t) - t // 2
    xy = flight.at(times)
    offsets = np.linspace(-flight.exposure / 2, flight.exposure / 2, EXPOSURE_SAMPLES)
    for i, time in enumerate(times):
        centres = flight.at(time + offsets)
        radius = ball_radius_at(float(origin[1] + xy[i, 1]), frame_height) * look.scale
        if look.shadow > 0:
            drop = np.array([0.0, look.shadow_drop])
            draw_shadow(crops[i], centres[0] + drop, centres[-1] + drop, (1.2 * radius, 0.5 * radius), look.shadow)
        composite(crops[i], draw_ball(centres, np.full(EXPOSURE_SAMPLES, radius), look.colour, look.light, look.psf),
                  None)
    present = np.all((xy >= 0) & (xy <= side - 1), axis=1)
    return xy, present
