"""Where the tracker's misses are lost: each missed ball charged to exactly one stage."""
import numpy as np

from evaluation.predictions import Track
from tracking.candidates import Candidates, Refined
from tracking.stages import best_refined, recall_losses


def test_each_missed_ball_is_charged_to_the_stage_that_lost_it():
    # Five frames with a ball at x = 100 (frame 4: no ball). Candidate 0 is a distractor at x = 300.
    gt_codes = np.array([1, 1, 1, 1, 0])
    gt_xy = np.array([[100.0, 50.0]] * 4 + [[-1.0, -1.0]])
    cand_xy = np.zeros((5, 2, 2))
    cand_xy[:, 0] = [300.0, 50.0]
    cand_xy[:, 1] = [102.0, 50.0]  # near the ball (2 px)...
    cand_xy[1, 1] = [140.0, 50.0]  # ...except in frame 1: no candidate near it
    candidates = Candidates(cand_xy, np.full((5, 2), 0.9))
    prob = np.array([[0.1, 0.9],   # frame 0: the refiner picks the ball, the track has it      -> found
                     [0.1, 0.9],   # frame 1: nothing near the ball among the candidates         -> proposal
                     [0.9, 0.2],   # frame 2: the refiner prefers the distractor                 -> refiner
                     [0.1, 0.9],   # frame 3: the refiner picks the ball, the decoder drops it   -> decoder
                     [0.1, 0.1]])
    refined = Refined(prob, cand_xy.copy(), np.ones((5, 2), np.int64))
    track = Track(np.array([1, 1, 1, 0, 0]), np.array([[101.0, 50.0], [140.0, 50.0], [300.0, 50.0],
                                                       [-1.0, -1.0], [-1.0, -1.0]]))
    losses = recall_losses(gt_codes, gt_xy, candidates, best_refined(refined), track)
    assert losses == {"balls": 4, "in_candidates": 3, "found": 1, "lost_proposal": 1, "lost_refiner": 1,
                      "lost_decoder": 1}
    # Without a refiner a ball among the candidates that the track misses is the decoder's.
    losses = recall_losses(gt_codes, gt_xy, candidates, None, track)
    assert losses["lost_refiner"] == 0 and losses["lost_decoder"] == 2 and losses["lost_proposal"] == 1
