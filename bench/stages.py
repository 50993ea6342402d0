"""Accuracy of each stage alone next to the full tracker, on labelled clips (the README's results table).

    python bench/stages.py                                         # shipped weights, synthetic test games 1 2
    python bench/stages.py --weights runs/demo_1/tracker.pt --data data/badminton --games 26 27 28 29 30 31 32 33
"""
from __future__ import annotations

import argparse

from measure import peak_rss_mb, report

from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from tracking.stages import compare_stages
from tracking.tracker import Tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--data", help="data root; default: the embedded synthetic data set")
    parser.add_argument("--games", type=int, nargs="+", help="games to score; default: the synthetic test games")
    args = parser.parse_args()
    games = args.games or (None if args.data else list(EMBEDDED.test_games))
    root = args.data or ensure_embedded(games=games)
    clips = discover_clips(root, games)
    result = compare_stages(Tracker.load(args.weights), clips)
    rows = [(name, f"SiBaTrAcc {s['sibatracc']:.4f}  F1 {s['f1']:.3f}  err {s['mean_error_px']:.2f} px")
            for name, s in result.items() if name in ("proposal", "refine", "tracker")]
    report("stages", rows + [("peak memory", f"{peak_rss_mb():.0f} MB")],
           {"data": str(root), "clips": len(clips), **result})


if __name__ == "__main__":
    main()
