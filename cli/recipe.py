"""Train a tracker on your own labelled footage as one resumable command: both stages, the bundle with its decoder
calibrated on the validation games, and the held-out report.

    python train.py --stage all --data ROOT --games 1 ... 25 --val-games 26 ... 29 --test-games 30 ... 33
    python train.py --stage all --data ROOT ... --out runs/my_tracker --max-minutes 90 --init weights/tracker.pt
    python train.py --stage all --data ROOT ... --proposal-flags "--batch-size 24" --refine-flags "--top-k 8"

Steps, each into ``OUT`` and each skipped when its result is there (kill the command and run it again to go on; a
killed training resumes from its last checkpoint; ``OUT/recipe.json`` records the flags, and a rerun with other data,
games or flags is refused):

1. ``OUT/proposal``: the proposal stage (as ``train.py --stage proposal``: :func:`engine.train.run`) on ``--games``,
   checkpoint and presence threshold chosen on ``--val-games``;
2. ``OUT/refine``: the refine stage on the candidates of that proposal, same games;
3. ``OUT/tracker.pt``: both stages bundled, the decoder's costs calibrated on ``--val-games``
   (:func:`engine.bundle.bundle_tracker`);
4. ``OUT/held_out.json`` (with ``--test-games``): each stage alone and the full tracker on the test games, and where
   the tracker's misses were lost (``tracking.stages``). Test games are never trained, validated or calibrated on.

The budget: ``--max-minutes M`` is the whole training time, two thirds for the proposal and one third for the
refiner (by default each stage's own: the proposal 28 min, the refiner at most 28 min and usually ~16, its epochs
capped at 12). Each stage fits its learning-rate schedule to the epochs that fit its share at the machine's pace.
Both networks start from random weights; ``--init weights/tracker.pt`` fine-tunes the shipped tracker's instead
(the same networks: the stages' architecture flags must stay at their defaults), and step 3 then keeps the starting
networks unless the fine-tuned ones beat them on ``--val-games`` (``engine.fine_tune_guard``).
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from cli.bundle import print_bundle
from cli.train import ensure_trained, stage_config
from data_prep.atomic import write_text_atomic
from data_prep.clips import discover_clips
from data_prep.embedded import ensure_embedded
from engine import train
from engine.bundle import bundle_tracker, calibration_clips
from engine.fine_tune_guard import bundle_the_better
from engine.runs import Interrupted, next_run_dir
from tracking.stages import compare_stages
from tracking.tracker import Tracker
from tracking.weights import DEFAULT_BUNDLE

log = logging.getLogger(__name__)
PROPOSAL_SHARE = 2 / 3  # of --max-minutes; the refiner gets the rest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train.py --stage all", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="labelled root (ROOT/gameG/clipC); default: the embedded set")
    parser.add_argument("--games", type=int, nargs="+", help="training games (default: all but the others named)")
    parser.add_argument("--val-games", type=int, nargs="+",
                        help="validation games: checkpoints, thresholds and the decoder are chosen on them")
    parser.add_argument("--test-games", type=int, nargs="+",
                        help="held-out games scored at the end (never trained, validated or calibrated on)")
    parser.add_argument("--extra-data", type=Path, nargs="+", help="more labelled roots joining training")
    parser.add_argument("--out", type=Path, help="run folder (default runs/tracker_N); rerun with it to go on")
    parser.add_argument("--max-minutes", type=float,
                        help="training budget of both stages together (default: each stage's own, ~44 min)")
    parser.add_argument("--init", type=Path, metavar="BUNDLE",
                        help=f"tracker bundle whose networks both stages start from, e.g. {DEFAULT_BUNDLE} to "
                             "fine-tune the shipped tracker (default: random weights)")
    parser.add_argument("--with-embedded-val", action="store_true",
                        help="calibrate the decoder on the embedded synthetic validation games too: for data whose "
                             "validation games have (almost) no frame without a ball, e.g. the TrackNet tennis clips")
    parser.add_argument("--proposal-flags", default="", metavar="FLAGS",
                        help="more flags for the proposal stage, quoted (train.py --stage proposal --help)")
    parser.add_argument("--refine-flags", default="", metavar="FLAGS",
                        help="more flags for the refine stage, quoted (train.py --stage refine --help)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--wandb", default="offline", choices=["offline", "online", "off"])
    return parser


def recipe_argv(argv: list[str]) -> list[str] | None:
    """The recipe's own flags when ``argv`` asks for ``--stage all`` (anywhere, or ``--stage=all``), else None."""
    for i, arg in enumerate(argv):
        if arg == "--stage=all":
            return argv[:i] + argv[i + 1:]
        if arg == "--stage" and argv[i + 1:i + 2] == ["all"]:
            return argv[:i] + argv[i + 2:]
    return None


def _check_same_request(out: Path, args: argparse.Namespace) -> None:
    """Record what ``out`` trains on (``out/recipe.json``) at its first run; a rerun asking for other data, games or
    flags is refused, since the stages already there were trained on what the first run asked for."""
    request = json.loads(json.dumps({key: value for key, value in vars(args).items() if key not in ("out", "device",
                                     "wandb")}, default=lambda path: str(Path(path).resolve())))
    saved_path = out / "recipe.json"
    if saved_path.is_file():
        saved = json.loads(saved_path.read_text())
        differ = [key for key in sorted(set(saved) | set(request)) if saved.get(key) != request.get(key)]
        if differ:
            raise train.ConfigError(f"{out}: started with other flags (" + "; ".join(
                f"--{key.replace('_', '-')} {saved.get(key)} then, {request.get(key)} now" for key in differ)
                + "); rerun with the first run's flags to go on, or train into another --out")
    else:
        write_text_atomic(saved_path, json.dumps(request, indent=1) + "\n")


def main(argv=None) -> dict:
    args = _parser().parse_args(argv)
    if args.max_minutes is not None and args.max_minutes <= 0:
        raise train.ConfigError(f"--max-minutes: must be above 0, got {args.max_minutes}")
    if args.data is not None:  # the split in full, so that no default puts a test game in training or validation
        found = sorted({clip.game for clip in discover_clips(args.data, require_labels=False, skip_broken=True)})
        free = [game for game in found if game not in set(args.test_games or [])]
        args.val_games = args.val_games or free[-1:]
        args.games = args.games or [game for game in free if game not in args.val_games]
    if args.test_games and set(args.test_games) & set((args.games or []) + (args.val_games or [])):
        raise train.ConfigError("--test-games: a test game is also a training or validation game")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    out = (args.out or next_run_dir(prefix="tracker")).resolve()
    common = {"data": args.data, "games": args.games, "val_games": args.val_games, "extra_data": args.extra_data,
              "seed": args.seed, "device": args.device, "wandb": args.wandb, "init": args.init}
    budget = {stage: {"max_minutes": float(f"{args.max_minutes * share:.4g}")} if args.max_minutes else {}
              for stage, share in (("proposal", PROPOSAL_SHARE), ("refine", 1 - PROPOSAL_SHARE))}
    proposal = out / "proposal" / "best.pt"
    configs = {"proposal": stage_config("proposal", args.proposal_flags, **common, **budget["proposal"]),
               "refine": stage_config("refine", args.refine_flags, **common, **budget["refine"], proposal=proposal)}

    _check_same_request(out, args)
    try:
        for stage, cfg in configs.items():
            ensure_trained(out / stage, stage, cfg)
    except Interrupted:  # the recipe goes on from where it stopped when run again, not the stage alone
        raise Interrupted(f"interrupted; go on with the same command (--stage all ... --out {out})") from None
    tracker = out / "tracker.pt"
    calibration = {"data": args.data, "val_games": args.val_games, "with_embedded_val": args.with_embedded_val}
    result = {"tracker": str(tracker)}
    if not tracker.is_file() and args.init is None:
        print_bundle(tracker, bundle_tracker(tracker, proposal, out / "refine" / "best.pt", **calibration))
    elif not tracker.is_file():  # fine-tuned: kept only when it beats the starting networks on the validation games
        result["init_guard"] = bundle_the_better(tracker, args.init, proposal, out / "refine" / "best.pt",
                                                 calibration, calibration_clips(args.data, args.val_games, False),
                                                 args.device)
    if args.test_games:
        root = args.data or ensure_embedded(games=args.test_games)
        print(f"== held out: games {' '.join(map(str, args.test_games))} of {root}")
        result["held_out"] = compare_stages(Tracker.load(tracker, device=args.device),
                                            discover_clips(root, args.test_games))
        write_text_atomic(out / "held_out.json", json.dumps(result["held_out"], indent=1) + "\n")
    minutes = (time.perf_counter() - started) / 60
    print(f"tracker: {tracker} ({minutes:.1f} min this invocation); track a video with "
          f"python track.py VIDEO --weights {tracker}")
    return result
