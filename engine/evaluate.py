"""The evaluation behind ``evaluate.py`` and the demo: score a tracker (or saved predictions) on labelled clips,
write the run folder (report, predictions, videos, media) and log it; the usage is in ``evaluate.py``'s docstring.
"""
from __future__ import annotations

import argparse
import json
import logging
from functools import partial
from pathlib import Path

from data_prep.clips import Clip, DataError, clip_problems, discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from engine.config import git_commit
from engine.logger import RunLogger
from engine.runs import next_run_dir
from evaluation.breakdown import breakdown_scalars
from evaluation.metrics import DEFAULT_TOLERANCE_PX
from evaluation.predictions import Track, prediction_path, read_track
from evaluation.report import KeptTracks, score_tables, score_tracks
from evaluation.visualize import OverlayClip


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", type=Path, help="ROOT/gameG/clipC layout; default: the embedded synthetic data set")
    data.add_argument("--games", type=int, nargs="+", help="game numbers to score; default: the test games")
    what = parser.add_argument_group("what to score")
    what.add_argument("--predictions", type=Path, help="folder of saved game{G}_clip{C}.csv (frame,code,x,y)")
    what.add_argument("--weights", help="tracker weights: a file, a Google Drive id/URL; default: shipped weights")
    what.add_argument("--ensemble", action="store_true", help="the proposal's temporal ensemble (see track.py)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, help="output folder; default runs/exp_N")
    out.add_argument("--visualize", action="store_true", help="write overlay and probability mp4 per clip")
    out.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_PX,
                     help="pixel tolerance of precision/recall/F1 (full resolution)")
    out.add_argument("--wandb", choices=("offline", "online", "off"), default="offline",
                     help="W&B mode: offline (default; online when WANDB_API_KEY is set), online, or off")
    return parser.parse_args(argv)


def main(argv=None) -> float:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = args.data if args.data is not None else ensure_embedded()
    games = args.games if args.games else (None if args.data is not None else list(EMBEDDED.test_games))
    clips = discover_clips(root, games)
    problems = clip_problems(clips)  # every bad clip named before any work (and before a run folder exists)
    if problems:
        raise DataError(root, "cannot score these clips:\n  " + "\n  ".join(problems))
    if args.predictions is not None and args.out is not None \
            and (Path(args.out) / "predictions").resolve() == Path(args.predictions).resolve():
        raise DataError(args.predictions, "--out would overwrite the predictions being scored: choose another --out")
    out = Path(args.out or next_run_dir())
    print(f"scoring {len(clips)} clips of {root} -> {out}")
    if args.predictions is not None:
        track, probability, extra = partial(saved_track, args.predictions), None, {}
    else:
        from tracking.tracker import Tracker

        tracker = Tracker.load(args.weights, **({"ensemble": True} if args.ensemble else {}))
        track, probability, extra = tracker.track_clip, tracker.probability_maps, tracker.describe()
    config = {"stage": "evaluate", "data_root": str(root), "games": games, "clips": [clip.name for clip in clips],
              "predictions": args.predictions, "tolerance": args.tolerance, "git": git_commit(), **extra}
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=1, default=str))
    logger = RunLogger(out, json.loads(json.dumps(config, default=str)), "evaluate", args.wandb,
                       tags=["synthetic" if args.data is None else Path(args.data).name, config["git"]])
    kept = KeptTracks(track)
    try:
        report = score_tracks(clips, kept, out, args.tolerance, args.visualize, probability, extra)
        ordered = [kept.tracks[clip.name] for clip in clips]
        logger.media({"tables": score_tables(clips, ordered, report.clips),
                      "videos": [OverlayClip(clips[0], ordered[0])]}, step=0, prefix="eval")
        logger.log({f"eval/{k}": v for k, v in {**report.summary(), **breakdown_scalars(report.breakdown)}.items()},
                   step=0)
        logger.summary({**report.summary(), "run_dir": str(out)})
    finally:
        logger.finish()
    return report.sibatracc


def saved_track(folder: Path, clip: Clip) -> Track:
    """A tracker's saved output for ``clip``: ``folder/game{G}_clip{C}.csv``."""
    return read_track(prediction_path(folder, clip.name), len(clip))
