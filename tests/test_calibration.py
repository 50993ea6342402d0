"""The decoder's calibration: the batched search finds what scoring every combination one at a time finds."""
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from data_prep.clips import Clip, Labels
from engine import bundle
from tests.test_decode import candidate_set, flight
from evaluation.predictions import Track
from tracking.candidates import Candidates, Refined
from tracking.decode import DecodeParams, decode_track, emission_costs, viterbi, viterbi_batch
from tracking.output import ClipOutput


def ball_clip(seed: int) -> tuple[ClipOutput, Clip]:
    """A flight with a racket following it 60 px off that the refiner prefers and the proposal does not (as in
    test_decode); no ball in the last 10 frames."""
    ball = flight(40)
    rows = np.arange(40)
    xy, prob, code, slot = candidate_set(ball, k=2, seed=seed, ball_prob=0.6)
    xy[rows, 1 - slot], prob[rows, 1 - slot] = ball + np.array([60.0, 0.0]), 0.8
    score = np.full(prob.shape, 0.05)
    score[rows, slot] = 0.9
    prob[30:], score[30:] = 0.05, 0.05
    codes = np.r_[np.ones(30, np.int64), np.zeros(10, np.int64)]
    labels = Labels(codes, np.where(codes[:, None] > 0, ball, -1.0), np.full(40, -1), None)
    clip = Clip(1, seed + 1, Path(f"clip{seed}"), tuple(Path(f"{i:04d}.jpg") for i in range(40)), labels, (1280, 720))
    return ClipOutput(None, Candidates(xy, score), Refined(prob, xy, code)), clip


def test_batched_viterbi_decodes_each_emission_as_viterbi_does():
    output, _ = ball_clip(0)
    params = [DecodeParams(presence_bias=b, proposal_weight=w) for b in (-2.0, 0.0) for w in (0.0, 1.0)]
    emissions = np.stack([emission_costs(output.refined.prob, output.candidates.score, p) for p in params])
    batched = viterbi_batch(output.refined.xy, emissions, DecodeParams())
    for row, p in zip(batched, params):
        np.testing.assert_array_equal(row, viterbi(output.refined.xy, output.refined.prob, p, output.candidates.score))


def test_calibration_finds_the_best_combination_of_the_grid(monkeypatch):
    grid = {"presence_bias": [-2.0, 0.0, 2.0], "start_cost": [1.0, 8.0], "max_gap": [3, 9],
            "proposal_weight": [0.0, 1.0], "static_px": [1.0, 6.0], "static_cost": [0.5, 3.0]}
    monkeypatch.setattr(bundle, "GRID", grid)
    outputs, clips = zip(*(ball_clip(seed) for seed in range(2)))
    outputs, clips = list(outputs), list(clips)
    best, best_score, base_score = bundle.calibrate_decode(outputs, clips)

    def objective(params):
        return bundle.calibration_objective(clips, [decode_track(o.refined.xy, o.refined.prob, o.refined.code, params,
                                                                 o.candidates.score, c.size)
                                                    for o, c in zip(outputs, clips)])

    every = [objective(replace(DecodeParams(), **dict(zip(grid, values))))
             for values in itertools.product(*grid.values())]
    assert best_score == max(every) > base_score
    assert objective(best) == best_score
    assert best.proposal_weight == 1.0  # the proposal's score is what tells the ball from the clutter here


def test_the_objective_is_the_mean_of_sibatracc_and_f1_at_10_px():
    _, clip = ball_clip(0)
    gt = clip.labels
    off = gt.xy.copy()
    off[:15] += [12.0, 0.0]  # half the balls 12 px off: 1 each in SiBaTrAcc, false positives at 10 px
    track = Track(gt.codes, off)
    sibatracc = 1 - 15 / (5 * 40)
    f1 = 2 * (15 / 30) * 1.0 / (15 / 30 + 1.0)  # precision 15 / 30, recall 15 / 15
    assert bundle.calibration_objective([clip], [track]) == pytest.approx((sibatracc + f1) / 2)


def test_the_calibration_leads_a_ball_that_the_networks_place_behind_its_label():
    ball = flight(15, velocity=(60.0, -40.0))  # about 70 px a frame: 0.25 of it behind is 18 px off
    xy, prob, code, slot = candidate_set(ball, k=2, seed=1)
    rows = np.arange(len(ball))
    xy[rows, slot] = ball - 0.25 * np.gradient(ball, axis=0)
    labels = Labels(np.ones(len(ball), np.int64), ball, np.full(len(ball), -1), None)
    clip = Clip(1, 1, Path("clip"), tuple(Path(f"{i:04d}.jpg") for i in rows), labels, (1280, 720))
    output = ClipOutput(None, Candidates(xy, prob), Refined(prob, xy, code))
    best, best_score, base_score = bundle.calibrate_decode([output], [clip], DecodeParams(lead=0.0))
    assert best.lead >= 0.15 and best_score > base_score  # 0.15 is the first lead that scores every ball right
    track = decode_track(xy, prob, code, best, size=clip.size)
    assert np.linalg.norm(track.xy - ball, axis=1).max() < 8.0
