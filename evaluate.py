"""Score a tracker on labelled clips with SiBaTrAcc (exactly as the assignment) and the TrackNet figures.

    python evaluate.py --games 1 2                                   # tracker on the embedded synthetic test games
    python evaluate.py --data ROOT --games 1 2 --weights FILE --visualize
    python evaluate.py --data ROOT --games 1 2 --predictions DIR     # score saved DIR/game{G}_clip{C}.csv

Prints one line per clip and ends with ``SiBaTrAcc: 0.xxxx``; writes ``report.json`` (every figure per clip and
overall), the predictions and, with ``--visualize``, overlay and probability videos to ``--out`` (default
``runs/exp_N``).
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from engine.runs import next_run_dir
from evaluation.metrics import DEFAULT_TOLERANCE_PX
from evaluation.predictions import prediction_path, read_track
from evaluation.report import score_tracks


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", type=Path, help="ROOT/gameG/clipC layout; default: the embedded synthetic data set")
    data.add_argument("--games", type=int, nargs="+", help="game numbers to score; default: the test games")
    what = parser.add_argument_group("what to score")
    what.add_argument("--predictions", type=Path, help="folder of saved game{G}_clip{C}.csv (frame,code,x,y)")
    what.add_argument("--weights", help="tracker weights: a file, a Google Drive id/URL; default: shipped weights")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, help="output folder; default runs/exp_N")
    out.add_argument("--visualize", action="store_true", help="write overlay and probability mp4 per clip")
    out.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_PX,
                     help="pixel tolerance of precision/recall/F1 (full resolution)")
    return parser.parse_args(argv)


def main(argv=None) -> float:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = args.data if args.data is not None else ensure_embedded()
    games = args.games if args.games else (None if args.data is not None else list(EMBEDDED.test_games))
    clips = discover_clips(root, games)
    out = args.out or next_run_dir()
    print(f"scoring {len(clips)} clips of {root} -> {out}")
    if args.predictions is not None:
        tracks = lambda clip: read_track(prediction_path(args.predictions, clip.name), len(clip))  # noqa: E731
        report = score_tracks(clips, tracks, out, args.tolerance, args.visualize)
    else:
        from tracking.tracker import Tracker

        tracker = Tracker.load(args.weights)
        report = score_tracks(clips, tracker.track_clip, out, args.tolerance, args.visualize,
                              probability=tracker.probability_maps, extra=tracker.describe())
    return report.sibatracc


if __name__ == "__main__":
    main()
