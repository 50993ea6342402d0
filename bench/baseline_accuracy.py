"""Accuracy of our tracker next to the assignment's baseline UNet on the same held-out clips, with the training
time each was given.

    python bench/baseline_accuracy.py --baseline runs/baseline_synthetic/best.pt            # synthetic test games
    python bench/baseline_accuracy.py --weights runs/badminton_bundle/tracker.pt \\
        --baseline runs/baseline_badminton/best.pt --data data/badminton --games 26 27 28 29 30 31 32 33

SiBaTrAcc, F1 and mean error in full-resolution pixels for each; training minutes are read from the ``log.jsonl``
of the runs behind the weights (for our bundle, the proposal and refine runs it was made from).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from measure import report

from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from evaluation.report import score_tracks
from model.checkpoint import read_payload
from tracking.tracker import Tracker


def training_minutes(checkpoint: str | Path) -> float | None:
    """Wall-clock minutes of the run that wrote ``checkpoint`` (its last logged ``minutes``), if it is known."""
    log = Path(checkpoint).parent / "log.jsonl"
    if not log.is_file():
        return None
    minutes = [json.loads(line).get("minutes") for line in log.read_text().splitlines() if line.strip()]
    minutes = [m for m in minutes if m is not None]
    return minutes[-1] if minutes else None


def budget(weights: str | None) -> float | None:
    """Training minutes behind a tracker bundle (proposal + refine runs) or a baseline checkpoint."""
    from tracking.weights import resolve_weights

    payload = read_payload(resolve_weights(weights))
    if payload["stage"] != "tracker":
        return training_minutes(resolve_weights(weights))
    parts = [training_minutes(payload["provenance"][k]) for k in ("proposal", "refine") if
             payload.get("provenance", {}).get(k)]
    return sum(parts) if parts and None not in parts else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="a `train.py --stage baseline` checkpoint")
    parser.add_argument("--weights", help="our tracker bundle; default: the shipped weights")
    parser.add_argument("--baseline-threshold", type=float,
                        help="baseline presence threshold; default: the one its validation chose (else 0.5)")
    parser.add_argument("--data", help="data root; default: the embedded synthetic data set")
    parser.add_argument("--games", type=int, nargs="+", help="games to score; default: the synthetic test games")
    args = parser.parse_args()
    games = args.games or (None if args.data else list(EMBEDDED.test_games))
    root = args.data or ensure_embedded(games=games)
    clips = discover_clips(root, games)
    results = {}
    baseline = {"threshold": args.baseline_threshold} if args.baseline_threshold is not None else {}
    for name, weights, overrides in (("ours", args.weights, {}), ("baseline", args.baseline, baseline)):
        print(f"-- {name}")
        tracker = Tracker.load(weights, **overrides)
        summary = score_tracks(clips, tracker.track_clip).summary()
        results[name] = {**{k: summary[k] for k in ("sibatracc", "precision", "recall", "f1", "mean_error_px")},
                         "training_minutes": budget(weights)}
    rows = [(name, f"SiBaTrAcc {r['sibatracc']:.4f}  F1 {r['f1']:.3f}  err {r['mean_error_px']:.2f} px  trained "
             + (f"{r['training_minutes']:.1f} min" if r["training_minutes"] is not None else "? min"))
            for name, r in results.items()]
    frames = sum(len(clip) for clip in clips)
    report("baseline_accuracy", rows + [("clips", f"{len(clips)} ({frames} frames) of {root}")],
           {"data": str(root), "games": args.games, "frames": frames, **results})


if __name__ == "__main__":
    main()
