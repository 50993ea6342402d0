"""SiBaTrAcc and detection figures against hand-computed cases, including the assignment's quirks."""
import math

import numpy as np
import pytest

from evaluation.metrics import Report, detection_counts, frame_errors, running_sibatracc, score_clip, sibatracc

# Clip A: 8 frames covering every rule. Hand-computed errors in the comments.
GT_A_CODES = [1, 1, 1, 0, 0, 2, 3, 1]
GT_A_XY = [(100, 50), (100, 50), (100, 50), (-1, -1), (-1, -1), (10, 10), (20, 20), (50, 50)]
PRED_A_CODES = [1, 1, 1, 0, 0, 0, 1, 1]
PRED_A_XY = [(100, 50),    # d = 0                        -> 0
             (108, 50),    # d = 8: floor(1) ** 1.5       -> 1
             (100, 67),    # d = 17: floor(2.125) ** 1.5  -> 2 ** 1.5
             (-1, -1),     # both absent, same -1 coords  -> 0
             (7, -1),      # both absent but d = 8        -> 1 (the assignment compares coordinates anyway)
             (-1, -1),     # present (code 2), predicted none -> 5
             (20, 44),     # occluded (code 3) counts as present; d = 24: 3 ** 1.5 = 5.196, capped -> 5
             (65.9, 50)]   # d = 15.9: floor(1.9875)      -> 1
ERRORS_A = [0, 1, 2 ** 1.5, 0, 1, 5, 5, 1]


def test_frame_errors_by_hand():
    errors = frame_errors(GT_A_CODES, GT_A_XY, PRED_A_CODES, PRED_A_XY)
    np.testing.assert_allclose(errors, ERRORS_A)


def test_clip_score_and_mean_over_clips():
    clip_a = score_clip("a", GT_A_CODES, GT_A_XY, PRED_A_CODES, PRED_A_XY)
    assert clip_a.sibatracc == pytest.approx(1 - (13 + 2 ** 1.5) / 40)
    # Clip B: no ball anywhere; one invented ball -> 5 of 20.
    clip_b = score_clip("b", [0] * 4, [(-1, -1)] * 4, [0, 1, 0, 0], [(-1, -1), (5, 5), (-1, -1), (-1, -1)])
    assert clip_b.sibatracc == pytest.approx(0.75)
    report = Report([clip_a, clip_b])
    assert report.sibatracc == pytest.approx(((1 - (13 + 2 ** 1.5) / 40) + 0.75) / 2)


def test_invented_ball_costs_five_even_on_the_spot():
    assert frame_errors([0], [(-1, -1)], [1], [(-1, -1)])[0] == 5


def test_running_curve_ends_at_clip_score():
    curve = running_sibatracc(ERRORS_A)
    assert curve[0] == 1.0 and curve[1] == pytest.approx(1 - 1 / 10)
    assert curve[-1] == pytest.approx(sibatracc(ERRORS_A))


def test_detection_counts_by_hand():
    c = detection_counts(GT_A_CODES, GT_A_XY, PRED_A_CODES, PRED_A_XY, tolerance=8)
    assert (c.tp, c.fp1, c.fp2, c.fn, c.tn) == (2, 3, 0, 1, 2)
    c = c + detection_counts([0, 0], [(-1, -1)] * 2, [1, 0], [(3, 3), (-1, -1)], tolerance=8)
    assert (c.fp2, c.tn) == (1, 3)
    assert c.precision == pytest.approx(2 / 6) and c.recall == pytest.approx(2 / 3)
    assert c.f1 == pytest.approx(2 * (1 / 3) * (2 / 3) / (1 / 3 + 2 / 3))
    # mean error over the 5 frames where both say "ball": 0, 8, 17, 24, 15.9
    assert c.mean_error == pytest.approx((0 + 8 + 17 + 24 + 15.9) / 5)


def test_empty_clip_is_an_error():
    with pytest.raises(AssertionError):
        sibatracc(np.array([]))
    assert math.isnan(Report().sibatracc)
