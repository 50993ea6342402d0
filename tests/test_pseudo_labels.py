"""Pseudo-labels are kept only where the trajectory vouches for them: an outlier is cut, no-ball frames need
confidence, everything else is ignored."""
from __future__ import annotations

import numpy as np

from evaluation.predictions import Track
from tracking.candidates import Candidates, Refined
from tracking.output import ClipOutput
from tracking.pseudo_labels import IGNORED, PseudoLabelParams, pseudo_labels, reverse_output, trajectory_residuals


def flight(n: int = 20) -> np.ndarray:
    """A ball thrown across the frame under gravity: (n, 2) px."""
    t = np.arange(n, dtype=float)
    return np.stack([100 + 12 * t, 400 - 20 * t + 0.8 * t ** 2], axis=1)


def output_of(codes: np.ndarray, xy: np.ndarray, prob: float = 0.95) -> ClipOutput:
    """A tracker output whose one candidate per frame is the track itself (prob where a ball, 0.01 where none)."""
    p = np.where(codes > 0, prob, 0.01)[:, None]
    return ClipOutput(Track(codes, xy), Candidates(xy[:, None].copy(), p.copy()), Refined(p.copy(), xy[:, None].copy(),
                                                                                           np.ones_like(codes)[:, None]))


def reversed_pass(output: ClipOutput) -> ClipOutput:
    return reverse_output(output)  # what a pass over the reversed frames returns, in its own order


def test_a_trajectory_with_one_outlier_loses_only_the_outlier():
    xy = flight()
    xy[10] += (30, -25)  # the tracker jumped to a distractor for one frame
    present = np.ones(len(xy), bool)
    residual = trajectory_residuals(xy, present)
    assert residual[10] > 20
    assert np.all(np.delete(residual, 10) < 0.5)  # every other frame fits a parabola through its neighbours


def test_both_passes_must_agree_and_fit_and_uncertain_frames_are_ignored():
    n = 20
    xy = flight(n)
    codes = np.ones(n, np.int64)
    codes[15:] = 0  # the ball leaves the frame
    xy[15:] = -1
    forward = output_of(codes, xy.copy())
    back_xy = xy.copy()
    back_xy[5] += (9, 0)  # the backward pass disagrees on frame 5
    backward = reversed_pass(output_of(codes, back_xy))
    backward.refined.prob[::-1][17] = 0.5  # the backward pass saw something uncertain at frame 17
    labels = pseudo_labels(forward, backward, PseudoLabelParams())
    assert labels.code[5] == IGNORED and labels.confidence[5] == 0
    assert np.all(labels.code[[0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14]] == 1)
    np.testing.assert_allclose(labels.xy[3], xy[3])
    assert labels.code[17] == IGNORED  # no ball in either track, but a candidate was too likely
    assert np.all(labels.code[[15, 16, 18, 19]] == 0)
    np.testing.assert_allclose(labels.confidence[[15, 16, 18, 19]], 0.99)
    np.testing.assert_allclose(labels.confidence[3], 0.95)
    assert labels.kept.sum() == n - 2


def test_an_isolated_detection_has_no_trajectory_and_is_ignored():
    n = 12
    codes = np.zeros(n, np.int64)
    codes[6] = 1
    xy = np.full((n, 2), -1.0)
    xy[6] = (640, 360)
    labels = pseudo_labels(output_of(codes, xy), reversed_pass(output_of(codes, xy)))
    assert labels.code[6] == IGNORED
