"""Where a tracker fails: the failure breakdown read at a glance, on real and synthetic clips alike.

Groups of labelled ball frames (pooled over clips, each group's SiBaTrAcc is ``1 - sum(e) / (5 * frames)`` over its
own frames and its recall is TrackNet's ``TP / (TP + FN)`` at the report's tolerance):

* ``far``: the ball in the upper half of the frame (the far court and the air above it in a broadcast view);
* ``near``: the ball in the lower half (the near court);
* ``occluded``: label code 3 (counts as present: the tracker must output a position).

False positives are predictions of a ball that is not there within the tolerance (TrackNet's FP1 + FP2), split by
where the predicted point lies: ``on_court`` inside the clip's *play area*, ``off_court`` outside it (crowd, boards,
scoreboard, ball kids). The play area is the convex hull of the clip's own labelled ball positions, grown by
``margin`` pixels: where the ball actually went, court and air above it. It needs no court detector, so it works on
any labelled clip; with fewer than three labelled balls no false positive can be placed and all count as on court.

``filled``: frames the tracker calls occluded (code 3: the decoder's gap filling and the refiner's occluded calls),
with their mean distance to the labelled ball where there is one, and how many fall on frames without a ball.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from evaluation.metrics import DEFAULT_TOLERANCE_PX, MISS_ERROR, frame_errors

OCCLUDED = 3
PLAY_AREA_MARGIN_PX = 48.0  # six SiBaTrAcc steps: a ball a little beyond the labelled ones is still in play


@dataclass(frozen=True)
class ClipFrames:
    """Labels and predictions of one clip, full-resolution pixels.

    gt_codes, pred_codes: (n,) int, 0 = no ball; gt_xy, pred_xy: (n, 2) float, -1 where absent; size: (width, height)
    """

    gt_codes: np.ndarray
    gt_xy: np.ndarray
    pred_codes: np.ndarray
    pred_xy: np.ndarray
    size: tuple[int, int]


def play_area_distance(gt_codes: np.ndarray, gt_xy: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(m,) signed distance of ``points`` (m, 2) to the convex hull of the labelled balls: > 0 inside, < 0 outside.

    +inf for every point when fewer than three balls are labelled (no area can be drawn).
    """
    balls = np.asarray(gt_xy, np.float32)[np.asarray(gt_codes) > 0]
    if len(np.unique(balls, axis=0)) < 3:
        return np.full(len(points), np.inf)
    hull = cv2.convexHull(balls)
    return np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x, y in points], np.float64)


def failure_breakdown(clips: list[ClipFrames], tolerance: float = DEFAULT_TOLERANCE_PX,
                      margin: float = PLAY_AREA_MARGIN_PX) -> dict:
    """The breakdown of :mod:`this module <evaluation.breakdown>` as a JSON-ready dict."""
    errors, gt_codes, far, near, found, missed, wrong_place = [], [], [], [], [], [], []
    on_court = off_court = frames = 0
    filled_distance, filled_absent = [], 0
    for clip in clips:
        e = frame_errors(clip.gt_codes, clip.gt_xy, clip.pred_codes, clip.pred_xy)
        gt_present, pred_present = clip.gt_codes > 0, clip.pred_codes > 0
        distance = np.linalg.norm(np.asarray(clip.gt_xy, np.float64) - clip.pred_xy, axis=1)
        close = gt_present & pred_present & (distance <= tolerance)
        upper = clip.gt_xy[:, 1] < clip.size[1] / 2
        errors.append(e)
        gt_codes.append(clip.gt_codes)
        far.append(gt_present & upper)
        near.append(gt_present & ~upper)
        found.append(close)
        missed.append(gt_present & ~pred_present)
        wrong_place.append(gt_present & pred_present & ~close)
        false_positive = pred_present & ~close
        inside = play_area_distance(clip.gt_codes, clip.gt_xy, clip.pred_xy[false_positive]) >= -margin
        on_court += int(inside.sum())
        off_court += int((~inside).sum())
        filled = clip.pred_codes == OCCLUDED
        filled_distance.append(distance[filled & gt_present])
        filled_absent += int((filled & ~gt_present).sum())
        frames += len(e)
    errors, gt_codes = np.concatenate(errors), np.concatenate(gt_codes)
    far, near, found = np.concatenate(far), np.concatenate(near), np.concatenate(found)
    missed, wrong_place = np.concatenate(missed), np.concatenate(wrong_place)
    filled_distance = np.concatenate(filled_distance)

    def group(mask: np.ndarray) -> dict:
        n = int(mask.sum())
        tp, fn = int((found & mask).sum()), int((missed & mask).sum())
        return {"frames": n, "sibatracc": 1.0 - errors[mask].sum() / (MISS_ERROR * n) if n else None,
                "recall": tp / (tp + fn) if tp + fn else None, "missed": fn,
                "wrong_place": int((wrong_place & mask).sum())}

    per_1000 = 1000.0 / frames if frames else 0.0
    return {
        "tolerance_px": tolerance, "frames": frames,
        "far": group(far), "near": group(near), "occluded": group(gt_codes == OCCLUDED),
        "false_positives": {"on_court": on_court, "off_court": off_court,
                            "on_court_per_1000_frames": on_court * per_1000,
                            "off_court_per_1000_frames": off_court * per_1000, "play_area_margin_px": margin},
        "filled": {"frames": len(filled_distance) + filled_absent, "on_ball_frames": len(filled_distance),
                   "mean_error_px": float(filled_distance.mean()) if len(filled_distance) else None,
                   "on_absent_frames": filled_absent},
    }


def breakdown_lines(breakdown: dict) -> list[str]:
    """The breakdown as a few printed lines."""
    def fmt(value, spec: str = ".3f") -> str:
        return "-" if value is None else format(value, spec)

    lines = []
    for name in ("far", "near", "occluded"):
        g = breakdown[name]
        lines.append(f"{name + ' balls':>16s}  frames {g['frames']:5d}  SiBaTrAcc {fmt(g['sibatracc'], '.4f')}  "
                     f"R {fmt(g['recall'])}  missed {g['missed']}  wrong place {g['wrong_place']}")
    fp, filled = breakdown["false_positives"], breakdown["filled"]
    lines.append(f"{'false positives':>16s}  on court {fp['on_court']} ({fp['on_court_per_1000_frames']:.1f} per "
                 f"1000 frames)  off court {fp['off_court']} ({fp['off_court_per_1000_frames']:.1f} per 1000)")
    lines.append(f"{'code-3 output':>16s}  frames {filled['frames']}  mean error "
                 f"{fmt(filled['mean_error_px'], '.1f')} px  on ball-less frames {filled['on_absent_frames']}")
    return lines


def breakdown_scalars(breakdown: dict, prefix: str = "breakdown/") -> dict[str, float]:
    """The breakdown's numbers as flat ``{'breakdown/far/recall': 0.8, ...}`` for a run logger (None left out)."""
    return {f"{prefix}{group}/{key}": value for group, figures in breakdown.items() if isinstance(figures, dict)
            for key, value in figures.items() if isinstance(value, (int, float))}
