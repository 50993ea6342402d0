"""Which training stacks are drawn how often: flight events from labels, and online hard-example mining."""
import numpy as np

from data_prep.events import flight_events, near_events
from engine.hard_stacks import HardStacks


def _flight(n: int = 40, hit: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A ball moving right at 10 px/frame with 0.5 px of label jitter, turning back at frame ``hit``."""
    rng = np.random.default_rng(0)
    x = np.where(np.arange(n) <= hit, 10.0 * np.arange(n), 10.0 * (2 * hit - np.arange(n)))
    xy = np.stack([x + 300, np.full(n, 200.0)], axis=1) + rng.normal(0, 0.5, (n, 2))
    return np.ones(n, int), xy


def test_a_hit_is_an_event_and_label_jitter_is_not():
    codes, xy = _flight()
    events = flight_events(codes, xy)
    assert events[20] and events.sum() <= 3, np.flatnonzero(events)


def test_the_ball_appearing_or_vanishing_is_an_event():
    codes, xy = _flight(hit=100)
    codes[10:15] = 0
    xy[10:15] = np.nan
    assert list(np.flatnonzero(flight_events(codes, xy))) == [10, 15]


def test_near_events_spreads_over_the_window():
    events = np.zeros(12, bool)
    events[5] = True
    assert list(np.flatnonzero(near_events(events, 2))) == [3, 4, 5, 6, 7]
    assert not near_events(np.zeros(4, bool), 3).any()


def test_hard_stacks_raise_the_odds_around_a_high_loss_within_its_clip():
    index = np.array([(c, t) for c in range(2) for t in range(20)])  # two clips of 20 stacks
    hard = HardStacks(index, cap=4, window=2)
    assert (hard.odds() == 1).all()  # nothing recorded yet: uniform
    hard.record(np.arange(0, 40, 2), np.ones(20))  # every other stack has loss 1 ...
    hard.record(np.array([19]), np.array([3.0]))  # ... and the last stack of clip 0 a loss of 3
    odds = hard.odds()
    assert np.allclose(odds[17:20], 3) and np.allclose(odds[20:], 1), odds  # clip 1 is not raised by clip 0
    assert np.allclose(odds[:16], 1)
    hard.record(np.array([5]), np.array([100.0]))
    assert hard.odds()[5] == 4  # capped
    hard.record(np.arange(40), np.full(40, 1e-6))
    hard.record(np.arange(20), np.ones(20))
    assert np.allclose(hard.odds()[30:35], 0.25)  # easy stacks are drawn down to 1 / cap
