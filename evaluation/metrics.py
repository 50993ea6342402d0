"""SiBaTrAcc exactly as the tennis tracking assignment defines it, plus the TrackNet detection figures.

Per frame, with GT and prediction each a ``(code, x, y)`` in full-resolution pixels:

* e = 5 if the ball is there (GT code != 0) and the prediction says none (code 0);
* e = 5 if the ball is absent and the prediction says one;
* otherwise e = min(floor(d / 8) ** 1.5, 5), d the Euclidean distance between GT and predicted (x, y).

The last rule also applies when both say code 0: the GT then holds x = y = -1, so a predictor that says "no ball"
must emit x = y = -1 too or it pays for the distance. Clip score = 1 - sum(e) / (5 * frames); the data set
score is the mean of clip scores.

Detection figures follow the TrackNet/WASB convention at a pixel tolerance ``tol``: TP = both present and
d <= tol; FP1 = both present, d > tol; FP2 = predicted present, GT absent; FN = GT present, predicted absent;
TN = both absent. precision = TP / (TP + FP1 + FP2), recall = TP / (TP + FN), F1 their harmonic mean.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MISS_ERROR = 5.0  # e1 and e2 of the assignment
STEP_PX = 8.0
ALPHA = 1.5
DEFAULT_TOLERANCE_PX = 8.0  # SiBaTrAcc is flat under 8 px; the usual TrackNet tolerance at 1280x720 is 4-10 px
TRACKNET_TOLERANCE_PX = 10.0  # the TrackNet papers' tennis figures (TrackNetV2 F1 0.973, V4 0.975) at 1280x720


def frame_errors(gt_codes: np.ndarray, gt_xy: np.ndarray, pred_codes: np.ndarray, pred_xy: np.ndarray) -> np.ndarray:
    """Per-frame SiBaTrAcc error.

    gt_codes, pred_codes: (n,) ints, 0 = no ball
    gt_xy, pred_xy:       (n, 2) float full-resolution pixels (-1 where absent)
    returns:              (n,) float errors in [0, 5]
    """
    gt_codes, pred_codes = np.asarray(gt_codes), np.asarray(pred_codes)
    gt_xy, pred_xy = np.asarray(gt_xy, np.float64), np.asarray(pred_xy, np.float64)
    assert gt_codes.shape == pred_codes.shape and gt_xy.shape == pred_xy.shape == (len(gt_codes), 2), (
        f"GT and prediction must cover the same frames: {gt_codes.shape} vs {pred_codes.shape}")
    distance = np.linalg.norm(gt_xy - pred_xy, axis=1)
    position_error = np.minimum(np.floor(distance / STEP_PX) ** ALPHA, MISS_ERROR)
    missed = (gt_codes != 0) & (pred_codes == 0)
    invented = (gt_codes == 0) & (pred_codes != 0)
    return np.where(missed | invented, MISS_ERROR, position_error)


def sibatracc(errors: np.ndarray) -> float:
    """Clip score 1 - sum(e) / (5 * frames) from per-frame errors."""
    errors = np.asarray(errors, np.float64)
    assert errors.size > 0, "SiBaTrAcc of an empty clip is undefined"
    return float(1.0 - errors.sum() / (MISS_ERROR * errors.size))


def running_sibatracc(errors: np.ndarray) -> np.ndarray:
    """(n,) SiBaTrAcc of frames 0..t for every t: the curve drawn on the assignment's videos."""
    errors = np.asarray(errors, np.float64)
    return 1.0 - np.cumsum(errors) / (MISS_ERROR * np.arange(1, errors.size + 1))


@dataclass
class DetectionCounts:
    """TrackNet-style confusion counts at a pixel tolerance, with the sum of distances of matched frames."""

    tp: int = 0
    fp1: int = 0
    fp2: int = 0
    fn: int = 0
    tn: int = 0
    distance_sum: float = 0.0  # over frames where both GT and prediction say "ball"
    distance_count: int = 0

    def __add__(self, other: DetectionCounts) -> DetectionCounts:
        return DetectionCounts(*(getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__))

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp1 + self.fp2)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return _ratio(2 * p * r, p + r)

    @property
    def mean_error(self) -> float:
        """Mean distance (px) between GT and prediction over frames where both say the ball is there."""
        return self.distance_sum / self.distance_count if self.distance_count else float("nan")


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def detection_counts(gt_codes, gt_xy, pred_codes, pred_xy, tolerance: float = DEFAULT_TOLERANCE_PX) -> DetectionCounts:
    gt_present, pred_present = np.asarray(gt_codes) != 0, np.asarray(pred_codes) != 0
    both = gt_present & pred_present
    distance = np.linalg.norm(np.asarray(gt_xy, np.float64) - np.asarray(pred_xy, np.float64), axis=1)
    close = both & (distance <= tolerance)
    return DetectionCounts(
        tp=int(close.sum()), fp1=int((both & ~close).sum()), fp2=int((pred_present & ~gt_present).sum()),
        fn=int((gt_present & ~pred_present).sum()), tn=int((~gt_present & ~pred_present).sum()),
        distance_sum=float(distance[both].sum()), distance_count=int(both.sum()))


@dataclass
class ClipScore:
    """Every figure of one clip; ``errors`` are the per-frame SiBaTrAcc errors."""

    name: str
    errors: np.ndarray
    counts: DetectionCounts

    @property
    def sibatracc(self) -> float:
        return sibatracc(self.errors)

    def summary(self) -> dict:
        c = self.counts
        return {"clip": self.name, "frames": int(self.errors.size), "sibatracc": self.sibatracc,
                "precision": c.precision, "recall": c.recall, "f1": c.f1, "mean_error_px": c.mean_error,
                "tp": c.tp, "fp1": c.fp1, "fp2": c.fp2, "fn": c.fn, "tn": c.tn}


def score_clip(name: str, gt_codes, gt_xy, pred_codes, pred_xy, tolerance: float = DEFAULT_TOLERANCE_PX) -> ClipScore:
    return ClipScore(name, frame_errors(gt_codes, gt_xy, pred_codes, pred_xy),
                     detection_counts(gt_codes, gt_xy, pred_codes, pred_xy, tolerance))


@dataclass
class Report:
    """Scores of a set of clips: SiBaTrAcc is the mean of clip scores, detection figures pool all frames."""

    clips: list[ClipScore] = field(default_factory=list)
    tolerance: float = DEFAULT_TOLERANCE_PX
    breakdown: dict | None = None  # evaluation.breakdown.failure_breakdown of the same clips, when computed
    tracknet: DetectionCounts | None = None  # pooled counts at TRACKNET_TOLERANCE_PX, when computed

    @property
    def sibatracc(self) -> float:
        return float(np.mean([clip.sibatracc for clip in self.clips])) if self.clips else float("nan")

    @property
    def counts(self) -> DetectionCounts:
        return sum((clip.counts for clip in self.clips), DetectionCounts())

    def summary(self) -> dict:
        c = self.counts
        summary = {"sibatracc": self.sibatracc, "precision": c.precision, "recall": c.recall, "f1": c.f1,
                   "mean_error_px": c.mean_error, "tolerance_px": self.tolerance, "clips": len(self.clips),
                   "frames": int(sum(clip.errors.size for clip in self.clips))}
        if self.tracknet is not None:
            t = self.tracknet
            summary.update({"tracknet_tolerance_px": TRACKNET_TOLERANCE_PX, "tracknet_precision": t.precision,
                            "tracknet_recall": t.recall, "tracknet_f1": t.f1})
        return summary


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the probability that a random positive outscores a random negative (ties half)."""
    labels, scores = np.asarray(labels, bool), np.asarray(scores, np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
