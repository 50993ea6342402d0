"""The README's main command on the embedded default: render the synthetic data set, train both stages briefly,
bundle them, evaluate on the held-out test games with videos, and compare the stages side by side.

    bash run.sh demo                 # about 15 minutes on a 2-core CPU
    bash run.sh demo --quick         # a couple of minutes: tiny training, for a smoke check

Everything lands in ``runs/demo_N``: both training runs, ``tracker.pt``, the evaluation report and videos.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from engine import evaluate, train
from engine.bundle import main as bundle
from engine.runs import next_run_dir
from tracking.stages import compare_stages
from tracking.tracker import Tracker

BRIEF = {"proposal": ["--epochs", "6", "--steps-per-epoch", "60", "--batch-size", "24", "--lr", "2e-3",
                      "--warmup-steps", "100"],  # the brief schedule the README's demo figure was measured with
         "refine": ["--epochs", "4", "--steps-per-epoch", "60"]}
QUICK = {"proposal": ["--epochs", "1", "--steps-per-epoch", "10"],
         "refine": ["--epochs", "1", "--steps-per-epoch", "10"]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few training steps only (smoke check)")
    parser.add_argument("--out", type=Path, help="default runs/demo_N")
    parser.add_argument("--wandb", default="offline", help="offline | online | off")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out = args.out or next_run_dir(prefix="demo")
    plan = QUICK if args.quick else BRIEF

    root = ensure_embedded()
    train.main(["--stage", "proposal", "--out", str(out / "proposal"), "--wandb", args.wandb] + plan["proposal"])
    train.main(["--stage", "refine", "--proposal", str(out / "proposal" / "best.pt"), "--out", str(out / "refine"),
                "--wandb", args.wandb] + plan["refine"])
    bundle(["--proposal", str(out / "proposal" / "best.pt"), "--refine", str(out / "refine" / "best.pt"),
            "--out", str(out / "tracker.pt")])
    games = [str(g) for g in EMBEDDED.test_games]
    evaluate.main(["--games", *games, "--weights", str(out / "tracker.pt"), "--visualize", "--out", str(out / "eval"),
                   "--wandb", args.wandb])
    comparison = compare_stages(Tracker.load(out / "tracker.pt"), discover_clips(root, list(EMBEDDED.test_games)))
    (out / "stages.json").write_text(json.dumps(comparison, indent=1))
    print(f"results in {out}: eval/report.json, eval/videos/, stages.json")
    return comparison


if __name__ == "__main__":
    main()
