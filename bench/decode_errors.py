"""Where the tracker's remaining error sits on labelled clips, by kind, and how far its positions trail the ball.

    python bench/decode_errors.py --data data/tennis_real --games 1 2 3 --cache cache/outputs
    python bench/decode_errors.py ... --lead 0          # the same without leading positions along the motion

Decodes each clip with the bundle's decoder parameters (``--lead`` overrides its lead) and splits the SiBaTrAcc
error (units summed over frames, with the frame count) by kind: a labelled ball missed, a ball invented, and balls
placed over ``--tolerance`` px off: gap-filled (code 3), a wrong pick (another candidate was within the tolerance:
the decoder's choice) or localisation (no candidate was: the networks). Then the lag: the error along the track's
per-frame velocity (central difference of detected neighbours), by speed band; ``lead to zero it`` is the decoder's
lead that would remove it on these clips (``tracking.decode``'s ``lead``). A clip's SiBaTrAcc loss is its units over
5 x frames. ``--cache`` as in ``bench/calibration.py``.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from measure import report

from data_prep.clips import discover_clips
from engine.calibration import cached_outputs
from evaluation.metrics import TRACKNET_TOLERANCE_PX, frame_errors
from tracking.decode import decode_track
from tracking.tracker import Tracker

KINDS = ("missed", "invented", "gap-filled", "wrong pick", "localisation")
SPEEDS = (0.0, 5.0, 15.0, 30.0, np.inf)  # px / frame at the clip's size


def error_kinds(gt_codes: np.ndarray, gt_xy: np.ndarray, codes: np.ndarray, xy: np.ndarray,
                candidates: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: (n,) SiBaTrAcc error and (n,) index into ``KINDS`` (-1: within ``tolerance``, or both absent).

    gt_codes, codes (n,); gt_xy, xy (n, 2); candidates (n, K, 2): the refined candidates the decoder chose from.
    """
    errors = frame_errors(gt_codes, gt_xy, codes, xy)
    off = np.linalg.norm(xy - gt_xy, axis=1) > tolerance
    nearest = np.linalg.norm(candidates - gt_xy[:, None], axis=-1).min(axis=1)
    both = (gt_codes > 0) & (codes > 0)
    kind = np.select([(gt_codes > 0) & (codes == 0), (gt_codes == 0) & (codes > 0), both & off & (codes == 3),
                      both & off & (nearest <= tolerance), both & off], range(len(KINDS)), -1)
    return errors, kind


def velocities(codes: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) central-difference velocity of frames detected with both neighbours, and that (n,) mask."""
    inner = np.zeros(len(codes), bool)
    inner[1:-1] = (codes[1:-1] > 0) & (codes[:-2] > 0) & (codes[2:] > 0)
    velocity = np.zeros_like(xy)
    velocity[1:-1] = (xy[2:] - xy[:-2]) / 2
    return velocity, inner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--data", required=True, help="labelled data root, e.g. data/tennis_real")
    parser.add_argument("--games", type=int, nargs="+", help="games to score; default: all")
    parser.add_argument("--tolerance", type=float, default=TRACKNET_TOLERANCE_PX, help="px; default 10 (TrackNet)")
    parser.add_argument("--lead", type=float, help="decoder lead instead of the bundle's")
    parser.add_argument("--cache", type=Path, help="folder keeping the networks' outputs per clip and weights")
    args = parser.parse_args()
    tracker = Tracker.load(args.weights, runtime="onnx")
    params = tracker.decode if args.lead is None else replace(tracker.decode, lead=args.lead)
    clips = discover_clips(args.data, args.games)
    units, frames = np.zeros(len(KINDS)), np.zeros(len(KINDS), int)
    along, speed = [], []  # error along the velocity, and the speed, of frames placed within 30 px
    for clip, output in zip(clips, cached_outputs(tracker, clips, args.cache)):
        out = output.refined
        track = decode_track(out.xy, out.prob, out.code, params, output.candidates.score, clip.size)
        gt = clip.labels
        errors, kind = error_kinds(gt.codes, gt.xy, track.codes, track.xy, out.xy, args.tolerance)
        for k in range(len(KINDS)):
            units[k] += errors[kind == k].sum()
            frames[k] += (kind == k).sum()
        velocity, inner = velocities(track.codes, track.xy)
        error = track.xy - gt.xy
        keep = inner & (gt.codes > 0) & (np.linalg.norm(error, axis=1) <= 30)
        norm = np.linalg.norm(velocity[keep], axis=1)
        along += list((error[keep] * velocity[keep]).sum(1) / np.maximum(norm, 1e-9))
        speed += list(norm)
    along, speed = np.array(along), np.array(speed)
    total = sum(len(clip) for clip in clips)
    rows = [(f"{name} > {args.tolerance:g} px" if k >= 2 else name, f"{units[k]:6.1f} units  {frames[k]:4d} frames")
            for k, name in enumerate(KINDS)]
    rows.append(("all", f"{units.sum():6.1f} units of {5 * total} ({total} frames, lead {params.lead:g})"))
    bands = []
    for low, high in zip(SPEEDS[:-1], SPEEDS[1:]):
        band = (speed >= low) & (speed < high)
        if band.any():
            mean = float(along[band].mean())
            bands.append({"speed": [low, high], "frames": int(band.sum()), "along_px": mean})
            rows.append((f"speed {low:g}-{high:g} px/frame",
                         f"along-track error {mean:+.2f} px  {band.sum():4d} frames"))
    # least squares: along = -alpha * speed, so a lead of (lead + alpha) would zero it
    alpha = float(-(along * speed).sum() / max((speed ** 2).sum(), 1e-9))
    rows.append(("lead to zero it", f"{params.lead + alpha:.3f}"))
    report("decoder errors by kind", rows,
           {"data": args.data, "games": args.games, "tolerance_px": args.tolerance, "lead": params.lead,
            "units": dict(zip(KINDS, units.tolist())), "frames": dict(zip(KINDS, frames.tolist())),
            "lag_bands": bands, "lead_to_zero": params.lead + alpha})


if __name__ == "__main__":
    main()
