"""Bundle trained stages into one tracker file, with the decoder's parameters calibrated on validation clips.

    python -m tracking.bundle --proposal runs/proposal_1/best.pt --refine runs/refine_1/best.pt \
        --out weights/tracker.pt [--data ROOT --val-games 3]

The decoder's few costs (presence bias, start cost, gap length) are chosen by a small grid search maximising
SiBaTrAcc on the validation games; the stages' outputs are computed once and only the cheap decoding is repeated.
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
from dataclasses import asdict, replace
from pathlib import Path

from data_prep.clips import Clip
from data_prep.splits import resolve_splits
from engine.config import git_commit
from evaluation.metrics import Report, score_clip
from tracking.decode import DecodeParams, decode_track
from tracking.tracker import ClipOutput, Tracker
from tracking.weights import load_proposal, load_refine, write_bundle

log = logging.getLogger(__name__)

GRID = {"presence_bias": [-3.0, -2.0, -1.0, 0.0, 1.0], "start_cost": [1.0, 3.0, 5.0, 8.0], "max_gap": [3, 6, 9]}


def calibrate_decode(outputs: list[ClipOutput], clips: list[Clip], base: DecodeParams = DecodeParams()
                     ) -> tuple[DecodeParams, float, float]:
    """Grid-search the decoder on precomputed refiner outputs; returns (best params, its score, base score)."""
    def score(params: DecodeParams) -> float:
        report = Report()
        for out, clip in zip(outputs, clips):
            track = decode_track(out.refined.xy, out.refined.prob, out.refined.code, params)
            report.clips.append(score_clip(clip.name, clip.labels.codes, clip.labels.xy, track.codes, track.xy))
        return report.sibatracc

    base_score = score(base)
    best, best_score = base, base_score
    for values in itertools.product(*GRID.values()):
        params = replace(base, **dict(zip(GRID, values)))
        value = score(params)
        if value > best_score + 1e-9:
            best, best_score = params, value
    return best, best_score, base_score


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proposal", type=Path, required=True, help="proposal checkpoint (best.pt)")
    parser.add_argument("--refine", type=Path, help="refine checkpoint; omit for a proposal-only tracker")
    parser.add_argument("--out", type=Path, default=Path("weights") / "tracker.pt", help="bundle to write")
    parser.add_argument("--data", type=Path, help="data for calibration; default: the embedded synthetic set")
    parser.add_argument("--val-games", type=int, nargs="+", help="calibration games; default: the validation split")
    parser.add_argument("--no-calibrate", action="store_true", help="keep the default decoder parameters")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    proposal = load_proposal(args.proposal)
    refine = load_refine(args.refine) if args.refine else None
    tracker = Tracker(proposal, refine)
    decode, calibration = DecodeParams(), {}
    if refine is not None and not args.no_calibrate:
        _, _, val_clips = resolve_splits(args.data, None, args.val_games)
        outputs = [tracker.track_frames(clip.iter_frames()) for clip in val_clips]
        decode, best, base = calibrate_decode(outputs, val_clips)
        calibration = {"games": sorted({c.game for c in val_clips}), "sibatracc_default": base,
                       "sibatracc_calibrated": best}
        log.info("decoder calibrated on %d clips: SiBaTrAcc %.4f -> %.4f with %s", len(val_clips), base, best,
                 {k: getattr(decode, k) for k in GRID})
    settings = {"top_k": tracker.top_k, "min_score": tracker.min_score}
    provenance = {"proposal": str(args.proposal), "refine": str(args.refine) if args.refine else None,
                  "git": git_commit(), "calibration": calibration}
    digest = write_bundle(args.out, args.proposal, args.refine, decode, settings, provenance)
    print(json.dumps({"bundle": str(args.out), "sha256": digest, "decode": asdict(decode), **calibration}, indent=1))
    return {"sha256": digest, "decode": decode, **calibration}


if __name__ == "__main__":
    main()
