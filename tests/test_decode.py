"""Temporal decoding on synthetic candidate sets with known answers."""
import numpy as np
import pytest

from tracking.decode import DecodeParams, StreamingDecoder, decode_track, evidence, lead_positions, viterbi


def flight(n=40, start=(200.0, 500.0), velocity=(12.0, -20.0), gravity=0.8):
    t = np.arange(n)[:, None]
    return np.array(start) + np.array(velocity) * t + np.array([0, 0.5 * gravity]) * t ** 2


def candidate_set(ball, k=3, seed=0, ball_prob=0.9, clutter_prob=0.3):
    """Ball in a random slot of each frame among clutter candidates; returns xy, prob, code, true slot."""
    rng = np.random.default_rng(seed)
    n = len(ball)
    xy = rng.uniform([0, 0], [1280, 720], (n, k, 2))
    prob = rng.uniform(0, clutter_prob, (n, k))
    slot = rng.integers(0, k, n)
    xy[np.arange(n), slot] = ball + rng.normal(0, 1.0, (n, 2))
    prob[np.arange(n), slot] = ball_prob
    return xy, prob, np.ones((n, k), np.int64), slot


def test_follows_the_ball_through_clutter():
    ball = flight()
    xy, prob, code, slot = candidate_set(ball)
    assert (viterbi(xy, prob) == slot).all()


def test_rejects_a_confident_outlier_far_off_the_track():
    ball = flight()
    xy, prob, code, slot = candidate_set(ball)
    other = (slot[20] + 1) % 3
    xy[20, other], prob[20, other] = (1100.0, 80.0), 0.97  # e.g. a white shoe, once
    prob[20, slot[20]] = 0.6
    choice = viterbi(xy, prob)
    assert choice[20] == slot[20]


def test_rejects_isolated_weak_detection():
    xy = np.zeros((9, 1, 2)) + 300
    prob = np.full((9, 1), 0.01)
    prob[4] = 0.7  # one frame only, no track around it
    track = decode_track(xy, prob, np.ones((9, 1), np.int64))
    assert (track.codes == 0).all() and (track.xy == -1).all()


def test_fills_an_occlusion_gap_from_the_motion():
    ball = flight()
    xy, prob, code, slot = candidate_set(ball)
    prob[15:18] = 0.02  # occluded by the player: the refiner sees nothing
    track = decode_track(xy, prob, code, DecodeParams(max_gap=5))
    assert (track.codes[15:18] == 3).all()
    np.testing.assert_allclose(track.xy[15:18], ball[15:18], atol=3.0)
    assert (track.codes[:15] == 1).all()


def test_does_not_bridge_a_long_absence():
    ball = flight()
    xy, prob, code, slot = candidate_set(ball)
    prob[10:30] = 0.02  # ball left the frame
    track = decode_track(xy, prob, code, DecodeParams(max_gap=5))
    assert (track.codes[10:30] == 0).all()


def test_prefers_the_moving_ball_over_a_static_distractor():
    ball = flight()
    xy, prob, code, slot = candidate_set(ball, k=2, ball_prob=0.8)
    other = 1 - slot
    xy[np.arange(len(ball)), other] = (640.0, 650.0)  # the court's centre mark, every frame
    prob[np.arange(len(ball)), other] = 0.8
    assert (viterbi(xy, prob) == slot).mean() > 0.95


@pytest.mark.parametrize("lag", [0, 4, 10])
def test_streaming_matches_offline_away_from_the_window_edges(lag):
    ball = flight(60)
    xy, prob, code, slot = candidate_set(ball, seed=3)
    decoder = StreamingDecoder(lag=lag, window=40)
    out = []
    for t in range(len(ball)):
        out += decoder.push(xy[t], prob[t], code[t])
    out += decoder.flush()
    assert [f for f, _, _ in out] == list(range(len(ball)))
    offline = decode_track(xy, prob, code)
    streamed = np.array([p for _, _, p in out])
    # the same choices; at lag 0 the lead sees no next frame, so the velocity is the last step's, not the mean of two
    agree = np.linalg.norm(streamed - offline.xy, axis=1) < (1.0 if lag == 0 else 1e-6)
    assert agree[lag + 2:].mean() > 0.95


def test_the_proposal_score_settles_what_the_refiner_gets_wrong_only_when_weighed_in():
    ball = flight()
    xy, prob, code, slot = candidate_set(ball, k=2, ball_prob=0.6)
    other = 1 - slot
    rows = np.arange(len(ball))
    xy[rows, other] = ball + np.array([60.0, 0.0])  # a racket following the ball: the same motion, 60 px off
    prob[rows, other] = 0.8  # that the refiner prefers
    score = np.full(prob.shape, 0.05)
    score[rows, slot] = 0.9  # while the proposal's heatmap peaks on the ball
    assert (viterbi(xy, prob, DecodeParams(), score) == other).all()
    assert (viterbi(xy, prob, DecodeParams(proposal_weight=1.0), score) == slot).all()


def test_a_candidate_the_refiner_skipped_stays_at_the_floor_whatever_its_score():
    params = DecodeParams(proposal_weight=2.0)
    odds = evidence(np.array([[0.0, 0.5]]), np.array([[0.99, 0.99]]), params)
    assert odds[0, 0] == -params.logit_clip and odds[0, 1] > 0


def test_streaming_passes_the_proposal_score_to_the_decoder():
    ball = flight(30)
    xy, prob, code, slot = candidate_set(ball, k=2, ball_prob=0.6)
    rows = np.arange(len(ball))
    prob[rows, 1 - slot] = 0.8
    score = np.full(prob.shape, 0.05)
    score[rows, slot] = 0.9
    decoder = StreamingDecoder(DecodeParams(proposal_weight=1.0), lag=5, window=20)
    out = [d for t in rows for d in decoder.push(xy[t], prob[t], code[t], score[t])] + decoder.flush()
    streamed = np.array([p for _, _, p in out])
    np.testing.assert_allclose(streamed[2:], ball[2:], atol=4.0)


def lob_over_the_top(seed=0):
    """A ball that leaves through the top edge at frame 5 and comes back at 12 (y = 40 - 12 t + 0.75 t^2), lost by
    the detector from frame 3 to 12 (near and beyond the edge its candidates are clutter)."""
    ball = flight(24, start=(300.0, 40.0), velocity=(10.0, -12.0), gravity=1.5)
    xy, prob, code, slot = candidate_set(ball, seed=seed)
    xy = np.clip(xy, 0, [1279, 719])  # candidates come from the frame's heatmap
    prob[3:13] = 0.02
    return ball, xy, prob, code


def test_a_ball_leaving_through_the_top_edge_is_absent_there_not_filled_above_the_frame():
    ball, xy, prob, code = lob_over_the_top()
    params = DecodeParams(max_gap=12)
    unbounded = decode_track(xy, prob, code, params)
    assert (unbounded.xy[5:12, 1] < 0).all()  # the fit of both sides runs above the picture
    track = decode_track(xy, prob, code, params, size=(1280, 720))
    np.testing.assert_array_equal(track.codes[3:13], [3, 3, 0, 0, 0, 0, 0, 0, 0, 3])  # filled up to the edge only
    assert (track.xy[5:12] == -1).all()
    np.testing.assert_allclose(track.xy[[3, 4, 12]], ball[[3, 4, 12]], atol=4.0)
    present = track.codes > 0
    assert (track.xy[present] >= 0).all() and (track.xy[present] <= [1279, 719]).all()


def test_a_refined_position_just_beyond_the_edge_is_put_on_it():
    ball, xy, prob, code = lob_over_the_top()
    xy[:3, :, 1] -= 45.0  # the refiner places the first frames' candidates a few pixels above the top
    track = decode_track(xy, prob, code, DecodeParams(max_gap=12), size=(1280, 720))
    assert (track.codes[:3] > 0).all() and (track.xy[:3, 1] >= 0).all() and (track.xy[:3, 1] < 1).any()


def test_streaming_keeps_positions_inside_the_frame():
    ball, xy, prob, code = lob_over_the_top()
    decoder = StreamingDecoder(DecodeParams(max_gap=12), lag=12, window=30, size=(1280, 720))
    out = [d for t in range(len(ball)) for d in decoder.push(xy[t], prob[t], code[t])] + decoder.flush()
    inside = [(c == 0) or (0 <= p[1] <= 719 and 0 <= p[0] <= 1279) for _, c, p in out]
    assert all(inside) and [c for _, c, _ in out][5:12] == [0] * 7


def test_a_blurred_ball_placed_at_its_streaks_centre_is_led_onto_the_label():
    ball = flight(30, velocity=(30.0, -25.0))  # a fast ball: 39 px a frame at first
    velocity = np.gradient(ball, axis=0)  # px / frame
    xy, prob, code, slot = candidate_set(ball)
    rows = np.arange(len(ball))
    xy[rows, slot] = ball - 0.15 * velocity  # the streak's centre trails the ball by 0.15 of a frame's motion
    still = decode_track(xy, prob, code, DecodeParams(lead=0.0))
    led = decode_track(xy, prob, code, DecodeParams(lead=0.15))
    error = [np.linalg.norm(track.xy - ball, axis=1)[1:-1] for track in (still, led)]
    assert error[0].mean() > 4.0 and error[1].max() < 0.1


def test_lead_uses_the_detected_neighbours_only():
    codes = np.array([1, 1, 1, 0, 1, 0, 1, 1])
    xy = np.array([[0.0, 0], [10, 0], [30, 0], [-1, -1], [50, 0], [-1, -1], [70, 0], [70, 20]])
    led = lead_positions(codes, xy, 0.5)
    np.testing.assert_allclose(led, [[5, 0], [17.5, 0], [40, 0], [-1, -1], [50, 0], [-1, -1], [70, 10],
                                     [70, 30]])
