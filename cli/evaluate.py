"""The evaluation behind ``evaluate.py`` and the demo: score a tracker (or saved predictions) on labelled clips,
write the run folder (report, predictions, videos, media) and log it; the usage is in ``evaluate.py``'s docstring.
"""
from __future__ import annotations

import json
import logging
import shutil
from functools import partial
from pathlib import Path

from cli.args import EvaluationOptions, parse_args
from data_prep.atomic import naming, write_text_atomic
from data_prep.clips import Clip, DataError, clip_problems, discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from engine.config import git_commit
from engine.logger import RunLogger
from engine.runs import LOCK_NAME, next_run_dir, run_folder_lock
from evaluation.breakdown import breakdown_scalars
from evaluation.predictions import Track, prediction_path, read_track
from evaluation.report import KeptTracks, score_tables, score_tracks
from evaluation.visualize import OverlayClip

log = logging.getLogger(__name__)
# What an evaluation writes into its folder, recorded in its config.json ("outputs"): an earlier evaluation's are
# removed, so none is left stale beside the new report (a clip no longer scored, videos of a run without
# --visualize). A folder holding anything that no evaluation recorded (a training run, the user's files) is refused.
EVALUATION_OUTPUTS = ("report.json", "summary.json", "config.json", "log.jsonl", "predictions", "videos", "media",
                      "wandb")


def main(argv=None, description: str | None = None) -> float:
    """Score and write the run folder; returns SiBaTrAcc. ``description``: the ``--help`` text (``evaluate.py``'s)."""
    return evaluate(parse_args(argv, description))


def evaluate(args: EvaluationOptions) -> float:
    """Score what ``args`` names and write the run folder; returns SiBaTrAcc."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    games = args.games if args.games else (None if args.data is not None else list(EMBEDDED.test_games))
    root = args.data if args.data is not None else ensure_embedded(games=games)
    clips = discover_clips(root, games)
    problems = clip_problems(clips)  # every bad clip named before any work (and before a run folder exists)
    if problems:
        raise DataError(root, "cannot score these clips:\n  " + "\n  ".join(problems))
    if args.predictions is not None:
        track, probability, extra = partial(saved_track, args.predictions), None, {}
    else:
        from tracking.tracker import Tracker

        tracker = Tracker.load(args.weights, sha256=args.sha256, **({"ensemble": True} if args.ensemble else {}),
                               runtime=args.runtime)
        track, probability, extra = tracker.track_clip, tracker.probability_maps, tracker.describe()
    out = Path(args.out or next_run_dir())  # only once the clips and weights are known to be good
    with run_folder_lock(out):
        try:
            return _evaluate(args, root, games, clips, out, track, probability, extra)
        except OSError as error:  # a full disk: the message names the file, else the run folder
            _remove_if_empty(out)
            raise naming(error, out) from None
        except BaseException:
            _remove_if_empty(out)  # a run that failed before writing anything leaves no empty runs/exp_N behind
            raise


def _evaluate(args, root: Path, games, clips: list[Clip], out: Path, track, probability, extra: dict) -> float:
    earlier = [out / name for name in _earlier_outputs(out) if (out / name).exists()]
    if earlier:
        log.info("%s: replacing an earlier evaluation's outputs (%s)", out, ", ".join(p.name for p in earlier))
        for path in earlier:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    print(f"scoring {len(clips)} clips of {root} -> {out}")
    config = {"stage": "evaluate", "data_root": str(root), "games": games, "clips": [clip.name for clip in clips],
              "predictions": args.predictions, "tolerance": args.tolerance, "git": git_commit(), **extra,
              "outputs": list(EVALUATION_OUTPUTS)}
    (out / "config.json").write_text(json.dumps(config, indent=1, default=str))
    logger = RunLogger(out, json.loads(json.dumps(config, default=str)), "evaluate", args.wandb,
                       tags=["synthetic" if args.data is None else Path(args.data).name, config["git"]])
    kept = KeptTracks(track)
    try:
        report = score_tracks(clips, kept, out, args.tolerance, args.visualize, probability, extra)
        ordered = [kept.tracks[clip.name] for clip in clips]
        events = score_events(clips, ordered, out / "report.json")
        if events:
            logger.log({f"eval/events_{k}": v for k, v in events.items()}, step=0)
        logger.media({"tables": score_tables(clips, ordered, report.clips),
                      "videos": [OverlayClip(clips[0], ordered[0])]}, step=0, prefix="eval")
        logger.log({f"eval/{k}": v for k, v in {**report.summary(), **breakdown_scalars(report.breakdown)}.items()},
                   step=0)
        logger.summary({**report.summary(), "run_dir": str(out)})
    finally:
        logger.finish()
    return report.sibatracc


def _earlier_outputs(out: Path) -> list[str]:
    """The names an earlier evaluation recorded as its own in ``out/config.json`` (none in an empty folder); raises
    :class:`DataError` for a folder that holds anything else, so no training run or user file is replaced."""
    try:
        config = json.loads((out / "config.json").read_text())
    except (OSError, ValueError):
        config = None
    if isinstance(config, dict) and config.get("stage") == "evaluate":
        return [str(name) for name in config.get("outputs", EVALUATION_OUTPUTS)]  # older evaluations: the fixed list
    found = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)
    if found:
        raise DataError(out, f"--out holds files no evaluation wrote ({', '.join(found[:6])}"
                             f"{', ...' if len(found) > 6 else ''}); evaluate into a new or empty folder")
    return []


def score_events(clips: list[Clip], tracks: list[Track], report: Path) -> dict:
    """Hits and bounces found on the tracks by the shipped detector, scored against the labels' ``q`` (status)
    where the clips carry it: prints ``Events F1: 0.xxxx`` and per-kind figures, adds ``events`` to ``report``.
    Empty when no clip is labelled with events or the detector's weights are missing."""
    from data_prep.events import EventTrack, clip_event_track, has_events
    from evaluation.events import event_scores
    from tracking.events import EventDetector

    truths = [(clip, track, clip_event_track(clip)) for clip, track in zip(clips, tracks) if clip.labels is not None]
    labelled = [(clip, track, truth) for clip, track, truth in truths if has_events(truth)]
    detector = EventDetector.shipped() if labelled else None
    if detector is None:
        return {}
    pairs = []
    for clip, track, truth in labelled:
        found = detector.detect(EventTrack(clip.name, clip.game, track.xy, track.codes > 0, truth.events, clip.size))
        pairs.append((truth.events, found))
    figures = event_scores(pairs)  # clip folders carry no frame rate: 30 fps, as the assignment's data
    print(f"events on {len(pairs)} clips: " + "  ".join(
        f"{kind} P {figures[f'{kind}_precision']:.3f} R {figures[f'{kind}_recall']:.3f} F1 {figures[f'{kind}_f1']:.3f}"
        f" ({figures[f'{kind}_true']})" for kind in ("hit", "bounce")))
    print(f"Events F1: {figures['f1']:.4f}")
    if report.is_file():
        data = json.loads(report.read_text())
        data["events"] = figures
        write_text_atomic(report, json.dumps(data, indent=1))
    return figures


def _remove_if_empty(folder: Path) -> None:
    """Delete ``folder`` when it holds nothing but its lock file."""
    if folder.is_dir() and all(p.name == LOCK_NAME for p in folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)


def saved_track(folder: Path, clip: Clip) -> Track:
    """A tracker's saved output for ``clip``: ``folder/game{G}_clip{C}.csv``."""
    return read_track(prediction_path(folder, clip.name), len(clip))
