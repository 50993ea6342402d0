"""Re-run a stage's validation on any games with a saved checkpoint (the figures train.py logs each epoch).

    python -m cli.validate runs/proposal_1/best.pt                       # its own validation games
    python -m cli.validate runs/proposal_1/best.pt --games 1 2 --ensemble  # temporal ensemble, test games
    python -m cli.validate runs/proposal_1/best.pt --games 1 2 --peak-radius 1  # another candidate suppression
    python -m cli.validate runs/refine_1/best.pt --data ROOT --games 26 27 28
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

from data_prep.clips import discover_clips
from data_prep.crops import CropSpec
from data_prep.embedded import EMBEDDED, ensure_embedded
from data_prep.frame_cache import FrameCache
from data_prep.stacks import StackSpec
from engine.baseline_stage import validate_baseline
from engine.proposal_stage import validate_proposal
from engine.refine_stage import propose, validate_refine
from model.checkpoint import read_payload, resolve_device
from tracking.baseline import BaselineTracker
from tracking.weights import load_proposal, load_refine


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, help="a proposal, refine or baseline checkpoint")
    parser.add_argument("--data", type=Path, help="data root; default: the checkpoint's own data")
    parser.add_argument("--games", type=int, nargs="+", help="games; default: the checkpoint's validation games")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ensemble", action=argparse.BooleanOptionalAction, default=None,
                        help="proposal: average each frame over every stack that holds it (3x the compute); "
                             "default: as the checkpoint was validated in training")
    parser.add_argument("--peak-radius", type=float,
                        help="proposal: suppress candidates within this many heatmap cells of a better one, after "
                             "their offsets (0 = 3x3 max-pool on the cells); default: the checkpoint's own")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    payload = read_payload(args.checkpoint)
    config = payload["config"]
    games = args.games or config.get("val_games") or list(EMBEDDED.val_games)
    data = args.data or (Path(config["data"]) if config.get("data") else ensure_embedded(games=games))
    clips = discover_clips(data, games)
    cache, device = FrameCache(Path(config["cache"])), resolve_device(args.device)
    if payload["stage"] == "proposal":
        stage = load_proposal(args.checkpoint, device)
        if args.peak_radius is not None:
            stage.model.args = dataclasses.replace(stage.model.args, peak_radius=args.peak_radius)
        spec = StackSpec(config["frames"], config["width"], config["height"])
        ensemble = config.get("ensemble", False) if args.ensemble is None else args.ensemble
        metrics = validate_proposal(stage.model, clips, spec, cache, config["top_k"], stage.threshold, device,
                                    ensemble=ensemble)
    elif payload["stage"] == "baseline":
        tracker = BaselineTracker.load(args.checkpoint, device)
        spec = StackSpec(config["frames"], config["width"], config["height"])
        metrics = validate_baseline(tracker.model, clips, spec, cache, config["max_gap"], 0, device)
    else:
        proposal, refine = load_proposal(config["proposal_used"], device), load_refine(args.checkpoint, device)
        candidates = [propose(proposal, clip, cache, config["top_k"]) for clip in clips]
        spec = CropSpec(config["crop"], config["context"])
        metrics = validate_refine(refine.model, proposal, clips, candidates, spec, cache, device)
    metrics.pop("images", None)
    print(json.dumps({"checkpoint": str(args.checkpoint), "data": str(data), "games": games, **metrics}, indent=1))
    return metrics


if __name__ == "__main__":
    main()
