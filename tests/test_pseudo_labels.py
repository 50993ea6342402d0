"""Pseudo-labels are kept only where the trajectory vouches for them: an outlier is cut, no-ball frames need
confidence, everything else is ignored."""
from __future__ import annotations

import numpy as np

from data_prep.clips import load_clip
from evaluation.predictions import Track
from tracking.candidates import Candidates, Refined
from tracking.decode import DecodeParams, decode_track
from tracking.output import ClipOutput
from tracking.pseudo_labels import (
    IGNORED,
    PseudoLabelParams,
    label_clip,
    pseudo_labels,
    reverse_output,
    trajectory_residuals,
)


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


def test_written_pseudo_labels_read_back_and_ignored_frames_never_train(make_clip, tmp_path):
    from data_prep.clips import load_clip
    from data_prep.frame_cache import FrameCache
    from data_prep.stacks import ProposalStacks, StackSpec
    from tracking.pseudo_labels import PseudoLabels, write_pseudo_labels

    clip = load_clip(make_clip(n=8, rows=None), 1, 1)
    code = np.array([1, 1, 1, IGNORED, 0, 0, 0, 1])
    xy = np.where(code[:, None] > 0, [[10.5, 20.25]], -1.0)
    write_pseudo_labels(clip, PseudoLabels(code, xy, np.array([0.9, 0.8, 0.95, 0.0, 0.99, 0.97, 0.98, 0.7])))
    labels = load_clip(clip.path, 1, 1, require_labels=True).labels
    np.testing.assert_array_equal(labels.codes, [1, 1, 1, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(labels.trains, [True, True, True, False, True, True, True, True])
    np.testing.assert_allclose(labels.xy[0], (10.5, 20.25))
    np.testing.assert_allclose(labels.confidence, [0.9, 0.8, 0.95, 0.0, 0.99, 0.97, 0.98, 0.7])
    stacks = ProposalStacks([load_clip(clip.path, 1, 1, require_labels=True)], StackSpec(3, 64, 48),
                            FrameCache(tmp_path / "cache", progress=False))
    starts = sorted(int(t) for _, t in stacks.index)
    assert starts == [0, 4, 5]  # every stack holding frame 3 is left out: it adds no loss


def test_labels_written_by_people_are_not_replaced(make_clip):
    import pytest

    from data_prep.clips import DataError, load_clip
    from tracking.pseudo_labels import PseudoLabels, write_pseudo_labels

    clip = load_clip(make_clip(n=4), 1, 1, require_labels=True)
    before = (clip.path / "labels.csv").read_bytes()
    with pytest.raises(DataError, match="without a confidence column"):
        write_pseudo_labels(clip, PseudoLabels(np.zeros(4, int), np.full((4, 2), -1.0), np.ones(4)))
    assert (clip.path / "labels.csv").read_bytes() == before


def test_a_bad_confidence_cell_names_its_line(make_clip):
    import pytest

    from data_prep.clips import ASSIGNMENT_HEADER, DataError, load_clip

    rows = [[f"{i:04d}.jpg", 1, 10 + i, 20, "", "0.5" if i != 2 else "1.5"] for i in range(4)]
    folder = make_clip(n=4, rows=rows, header=[*ASSIGNMENT_HEADER, "confidence"])
    with pytest.raises(DataError, match=r"labels.csv:4: confidence '1.5' outside 0..1"):
        load_clip(folder, 1, 1, require_labels=True)


def test_extra_data_joins_the_training_split_only(make_clip, tmp_path):
    from data_prep.splits import resolve_splits

    for game in (1, 2):
        make_clip(f"game{game}/clip1", n=4, root=tmp_path / "main")
    make_clip("game7/clip1", n=4, root=tmp_path / "pseudo")
    _, train, val = resolve_splits(tmp_path / "main", [1], [2], extra=[tmp_path / "pseudo"])
    assert [str(c.path.relative_to(tmp_path)) for c in train] == ["main/game1/clip1", "pseudo/game7/clip1"]
    assert [str(c.path.relative_to(tmp_path)) for c in val] == ["main/game2/clip1"]


class ReplayTeacher:
    """A tracker whose refiner finds ``ball`` (n, 2) in every frame: its track is its decoder's on that one candidate,
    forwards on the first pass, on the reversed frames after."""

    def __init__(self, ball: np.ndarray, decode: DecodeParams):
        self.ball, self.decode, self.passes = ball, decode, 0

    def track_frames(self, frames, total=None, desc=""):
        n = len(list(frames))
        xy = (self.ball if self.passes == 0 else self.ball[::-1])[:n, None].copy()
        self.passes += 1
        prob, code = np.full((n, 1), 0.95), np.ones((n, 1), np.int64)
        return ClipOutput(decode_track(xy, prob, code, self.decode), Candidates(xy, prob), Refined(prob, xy, code))


def test_a_fast_ball_is_labelled_where_the_networks_see_it_whatever_the_teachers_lead(make_clip):
    ball = flight()  # 23 px a frame at first: a lead of 0.15 would move the two passes 7 px apart
    clip = load_clip(make_clip(n=len(ball), size=(640, 480)), require_labels=False)
    labels, forward = label_clip(ReplayTeacher(ball, DecodeParams(lead=0.15)), clip)
    assert (labels.code == 1).all()
    np.testing.assert_allclose(labels.xy, ball, atol=1e-6)
