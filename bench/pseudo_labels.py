"""How trustworthy the tracker's pseudo-labels are: the teacher run on labelled clips as if they were unlabelled.

    python bench/pseudo_labels.py --data data/tennis_real          # the real TrackNet clips (import: README)
    python bench/pseudo_labels.py                                  # the synthetic test games

For each clip the tracker runs forwards and backwards and :func:`tracking.pseudo_labels.pseudo_labels` keeps what
time vouches for. Printed per clip and pooled: the share of frames kept, the share of kept balls within 8 px of the
label (and of labelled balls there at all), the share of kept "no ball" frames that truly have none, SiBaTrAcc on
the kept frames next to the plain tracker's SiBaTrAcc on every frame.
"""
from __future__ import annotations

import argparse

import numpy as np
from measure import report

from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from evaluation.metrics import frame_errors, sibatracc
from tracking.pseudo_labels import label_clip
from tracking.tracker import Tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="teacher bundle; default: the shipped weights")
    parser.add_argument("--data", help="labelled clips; default: the synthetic test games")
    parser.add_argument("--games", type=int, nargs="+")
    args = parser.parse_args()
    games = args.games or (None if args.data else list(EMBEDDED.test_games))
    root = args.data or ensure_embedded(games=games)
    teacher = Tracker.load(args.weights)
    rows, pooled = [], {"frames": 0, "kept": 0, "balls": 0, "balls_right": 0, "none": 0, "none_right": 0}
    kept_errors, all_errors = [], []
    for clip in discover_clips(root, games):
        labels, forward = label_clip(teacher, clip)
        gt_codes, gt_xy = clip.labels.codes, clip.labels.xy
        ball, none = labels.code > 0, labels.code == 0
        right = (gt_codes > 0) & (np.linalg.norm(labels.xy - gt_xy, axis=1) < 8)
        pooled["frames"] += len(clip)
        pooled["kept"] += int(labels.kept.sum())
        pooled["balls"] += int(ball.sum())
        pooled["balls_right"] += int((ball & right).sum())
        pooled["none"] += int(none.sum())
        pooled["none_right"] += int((none & (gt_codes == 0)).sum())
        errors = frame_errors(gt_codes, gt_xy, np.maximum(labels.code, 0), labels.xy)
        kept_errors.append(errors[labels.kept])
        all_errors.append(frame_errors(gt_codes, gt_xy, forward.track.codes, forward.track.xy))
        rows.append((clip.name, f"kept {labels.kept.mean():.2f}  balls {ball.sum()} ({(ball & right).sum()} within "
                                f"8 px)  no ball {none.sum()} ({(none & (gt_codes == 0)).sum()} right)  SiBaTrAcc "
                                f"kept {sibatracc(errors[labels.kept]) if labels.kept.any() else float('nan'):.3f}"))
    kept = np.concatenate(kept_errors)
    summary = {**pooled, "kept_share": pooled["kept"] / pooled["frames"],
               "ball_precision_8px": pooled["balls_right"] / max(pooled["balls"], 1),
               "none_precision": pooled["none_right"] / max(pooled["none"], 1),
               "sibatracc_kept_frames": sibatracc(kept) if len(kept) else float("nan"),
               "sibatracc_tracker_all_frames": sibatracc(np.concatenate(all_errors))}
    report("pseudo_labels", rows + [(k, f"{v:.3f}" if isinstance(v, float) else str(v)) for k, v in summary.items()],
           {"data": str(root), **summary})


if __name__ == "__main__":
    main()
