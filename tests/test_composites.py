"""Composites: a rendered ball pasted into a crop stack is labelled at its drawn centroid, sized for its image row,
and the refine samples built from them are positives placed away from the frame's own ball."""
import numpy as np
import pytest

from data_prep.clips import load_clip
from data_prep.composites import BallFlight, ball_radius_at, paste_ball, random_flight, random_look
from data_prep.crops import MATCH_PX, CropSpec
from data_prep.refine_samples import COMPOSITE_CLEARANCE_PX, RefineSamples


def drawn_centroid(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(x, y) centroid of the change the ball made to a frame."""
    change = np.abs(after.astype(np.float64) - before).sum(-1)
    ys, xs = np.mgrid[:change.shape[0], :change.shape[1]]
    return np.array([(change * xs).sum(), (change * ys).sum()]) / change.sum()


@pytest.mark.parametrize("seed", range(20))
def test_a_pasted_ball_is_labelled_at_its_drawn_centroid(seed):
    rng = np.random.default_rng(seed)
    crops = np.full((5, 48, 48, 3), 90, np.uint8)
    before = crops.astype(np.float64)
    flight = random_flight(rng, np.array([23.5, 23.5]) + rng.uniform(-3, 3, 2), max_speed=5.0)
    look = random_look(rng, shadow_prob=0.0)
    xy, present = paste_ball(crops, np.array([500, rng.uniform(0, 680)]), 720, flight, look)
    assert present.all() and xy.shape == (5, 2)
    assert np.allclose(xy[2], flight.centre)  # the middle frame's label is the flight's centre
    for i in range(5):
        assert np.linalg.norm(drawn_centroid(before[i], crops[i]) - xy[i]) < 0.5, i


def test_the_ball_moves_along_its_flight_and_leaves_the_crop():
    crops = np.full((5, 32, 32, 3), 90, np.uint8)
    flight = BallFlight(np.array([15.5, 15.5]), np.array([12.0, 0.0]), 1.0, 0.3)
    xy, present = paste_ball(crops, np.array([0, 300]), 720, flight, random_look(np.random.default_rng(0), 0.0))
    assert np.allclose(xy[:, 0], 15.5 + 12.0 * np.arange(-2, 3))
    assert np.allclose(xy[:, 1], 15.5 + 0.5 * np.arange(-2, 3) ** 2)  # gravity pulls it down on both sides
    assert present.tolist() == [False, True, True, True, False]


def test_far_balls_are_drawn_smaller_than_near_ones():
    assert ball_radius_at(200, 720) == pytest.approx(1.3)
    assert ball_radius_at(560, 720) == pytest.approx(2.5)
    assert ball_radius_at(400, 1080) == pytest.approx(1.5 * ball_radius_at(400 / 1.5, 720))
    sizes = []
    for row in (150, 600):
        crops = np.full((5, 32, 32, 3), 90, np.uint8)
        still = BallFlight(np.array([15.5, 15.5]), np.zeros(2), 0.0, 0.2)
        paste_ball(crops, np.array([0, row]), 720, still, random_look(np.random.default_rng(1), 0.0))
        sizes.append(int((np.abs(crops[2].astype(int) - 90).sum(-1) > 30).sum()))
    assert sizes[0] < sizes[1]


def test_composite_samples_are_positives_away_from_the_frames_own_ball(make_clip, tmp_path):
    clip = load_clip(make_clip(n=8, size=(256, 160), rows=[[f"{i:04d}.jpg", 1, 40.0, 40.0, ""] for i in range(8)]))
    spec = CropSpec(crop=16, context=2)
    near, far = [40.0, 44.0], [200.0, 120.0]
    mined = [np.tile(np.array([near, far]), (8, 1, 1))]
    samples = RefineSamples([clip], mined, spec, tmp_path / "crops", transform=None, jitter=6.0,
                            random_per_frame=0.0, positive_share=1.0, composite_share=1.0, seed=0)
    assert {tuple(samples.negatives[i, 3:5]) for i in samples.backgrounds} == {tuple(far)}
    for item in range(10):
        sample = samples[item]
        assert bool(sample["ball"])
        origin = sample["origin"].numpy()
        assert np.linalg.norm(origin + (spec.crop - 1) / 2 - far) < 1  # pasted into the window away from the ball
        assert np.linalg.norm(sample["xy"].numpy() - (spec.crop - 1) / 2) <= 6.0 + 1e-6 <= MATCH_PX
        assert COMPOSITE_CLEARANCE_PX < np.linalg.norm(origin - np.array([40.0, 40.0]))
