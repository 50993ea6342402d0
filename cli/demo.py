"""The README's main command on the embedded default: render a small synthetic data set, train both stages briefly,
bundle them, evaluate on the held-out test games with videos, and compare the stages side by side.

    bash run.sh demo                   # about 10 minutes and 1.3 GB of disk on a 2-core CPU (measured: README)
    bash run.sh demo --quick           # a couple of minutes: tiny training, for a smoke check
    bash run.sh demo --remove-caches   # delete what the demo (and training) cached under cache/, then stop

The demo renders 16 of the embedded set's 80 games (the test games, the validation games and the first
``DEMO_TRAIN_GAMES`` training games: a clip depends only on its seed, game and clip, so these are the very clips a
full run renders). Caches go to ``cache/`` (JPEG frames at the proposal's size, the refiner's crops, mined
candidates) and are reused by the next run. Everything else lands in ``runs/demo_N``: both training runs,
``tracker.pt``, the evaluation report and videos, ``stages.json``.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

from cli.args import EvaluationOptions
from cli.bundle import print_bundle
from cli.evaluate import evaluate
from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from data_prep.frame_cache import DEFAULT_CACHE
from engine import train
from engine.bundle import bundle_tracker
from engine.config import ProposalConfig, RefineConfig
from engine.runs import next_run_dir
from tracking.stages import compare_stages
from tracking.tracker import Tracker

DEMO_TRAIN_GAMES = 12  # the first training games of the embedded split (games 5-16)
BRIEF = {"proposal": {"epochs": 6, "steps_per_epoch": 60, "batch_size": 24, "lr": 2e-3, "warmup_steps": 100},
         "refine": {"epochs": 4, "steps_per_epoch": 60}}
QUICK = {"proposal": {"epochs": 1, "steps_per_epoch": 10}, "refine": {"epochs": 1, "steps_per_epoch": 10}}
CACHE_ROOT = DEFAULT_CACHE.parent  # frames/, crops/, mined/
PROMISE = "about 10 minutes on a 2-core CPU and about 1.3 GB of disk (data/synthetic, cache/, the run folder)"


def demo_games() -> tuple[list[int], list[int], list[int]]:
    """(training, validation, test) games of the demo."""
    return list(EMBEDDED.train_games[:DEMO_TRAIN_GAMES]), list(EMBEDDED.val_games), list(EMBEDDED.test_games)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few training steps only (smoke check)")
    parser.add_argument("--out", type=Path, help="default runs/demo_N")
    parser.add_argument("--wandb", default="offline", help="offline | online | off")
    parser.add_argument("--remove-caches", action="store_true",
                        help=f"delete {CACHE_ROOT} (rebuilt when needed) and stop; data and runs stay")
    args = parser.parse_args(argv)
    if args.remove_caches:
        freed = disk_bytes(CACHE_ROOT)
        shutil.rmtree(CACHE_ROOT, ignore_errors=True)
        print(f"removed {CACHE_ROOT} ({freed / 1e9:.2f} GB)")
        return {"removed": str(CACHE_ROOT), "bytes": freed}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"demo: {PROMISE}; a second run reuses the data and caches")
    started = time.perf_counter()
    out = args.out or next_run_dir(prefix="demo")
    plan = QUICK if args.quick else BRIEF
    train_games, val_games, test_games = demo_games()
    games = {"games": train_games, "val_games": val_games, "wandb": args.wandb}

    root = ensure_embedded(games=[*test_games, *val_games, *train_games])
    proposal, refine, tracker = out / "proposal" / "best.pt", out / "refine" / "best.pt", out / "tracker.pt"
    train.run("proposal", ProposalConfig(out=out / "proposal", **games, **plan["proposal"]))
    train.run("refine", RefineConfig(proposal=proposal, out=out / "refine", **games, **plan["refine"]))
    print_bundle(tracker, bundle_tracker(tracker, proposal, refine, val_games=val_games))
    evaluate(EvaluationOptions(games=test_games, weights=str(tracker), visualize=True, out=out / "eval",
                               wandb=args.wandb))
    comparison = compare_stages(Tracker.load(out / "tracker.pt"), discover_clips(root, test_games))
    (out / "stages.json").write_text(json.dumps(comparison, indent=1))
    minutes = (time.perf_counter() - started) / 60
    used = {name: disk_bytes(path) / 1e9 for name, path in (("data", root), ("cache", CACHE_ROOT), ("run", out))}
    print(f"results in {out}: eval/report.json, eval/videos/, stages.json; report: python report.py {out}")
    print(f"demo took {minutes:.1f} min; disk: " + ", ".join(f"{k} {v:.2f} GB" for k, v in used.items())
          + f" (bash run.sh demo --remove-caches frees the {used['cache']:.2f} GB of cache)")
    return {**comparison, "minutes": minutes, "disk_gb": used}


def disk_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (0 when it does not exist)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


if __name__ == "__main__":
    main()
