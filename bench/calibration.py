"""What calibrating the decoder buys on clips it has not seen: leave one game (match) out.

    python bench/calibration.py --data data/tennis_real --games 1 2 3                  # real tennis, by match
    python bench/calibration.py --data data/tennis_real --games 1 2 3 --with-embedded-val
    python bench/calibration.py ... --cache cache/outputs      # reuse the networks' outputs (decoder experiments)

For each game G the decoder is calibrated (``engine.bundle.calibrate_decode``) on the other games, plus the
embedded synthetic validation games with ``--with-embedded-val``, and game G is scored with the default decoder
parameters, with that calibration and with the bundle's own parameters. The search starts from the defaults, not
from the bundle's parameters: a bundle calibrated on game G would otherwise pass them on wherever the grid ties.
The mean over clips of the calibrated column (SiBaTrAcc's own averaging) is the figure to report, with precision,
recall and F1 at TrackNet's 10 px pooled over the held-out clips' frames (the papers' figures).
"""
from __future__ import annotations

import argparse
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
from measure import report

from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from data_prep.clips import Clip
from engine.bundle import decode_score, leave_one_game_out, track_outputs
from evaluation.metrics import TRACKNET_TOLERANCE_PX, DetectionCounts, detection_counts
from tracking.decode import DecodeParams, decode_track
from tracking.output import ClipOutput
from tracking.tracker import Tracker
from tracking.weights import sha256_of


def cached_outputs(tracker: Tracker, clips: list[Clip], cache: Path | None) -> list[ClipOutput]:
    """The networks' outputs on ``clips``, read from ``cache`` when that folder holds them for the same weights
    (keyed by the bundle's sha256 and the clip's folder), computed and stored there otherwise."""
    if cache is None:
        return track_outputs(tracker, clips)
    key = sha256_of(Path(tracker.source))[:16]
    files = [cache / key / f"{str(clip.path.resolve()).strip('/').replace('/', '_')}.pkl" for clip in clips]
    missing = [i for i, f in enumerate(files) if not f.exists()]
    for i, output in zip(missing, track_outputs(tracker, [clips[i] for i in missing])):
        files[i].parent.mkdir(parents=True, exist_ok=True)
        files[i].write_bytes(pickle.dumps(output))
    return [pickle.loads(f.read_bytes()) for f in files]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--data", required=True, help="labelled data root, e.g. data/tennis_real")
    parser.add_argument("--games", type=int, nargs="+", help="games (matches) to rotate over; default: all")
    parser.add_argument("--with-embedded-val", action="store_true",
                        help="calibrate on the embedded synthetic validation games too")
    parser.add_argument("--runtime", choices=("torch", "onnx"), default="onnx", help="run the networks with "
                        "onnxruntime (default) or PyTorch")
    parser.add_argument("--cache", type=Path, help="folder keeping the networks' outputs per clip and weights")
    args = parser.parse_args()
    tracker = Tracker.load(args.weights, runtime=args.runtime)
    clips = discover_clips(args.data, args.games)
    val_games = list(EMBEDDED.val_games)
    extra_clips = discover_clips(ensure_embedded(games=val_games), val_games) if args.with_embedded_val else []
    outputs = cached_outputs(tracker, clips, args.cache)
    extra = (cached_outputs(tracker, extra_clips, args.cache), extra_clips)
    rows = leave_one_game_out(outputs, clips, DecodeParams(), extra)
    counts = DetectionCounts()
    for row, output, clip in zip(rows, outputs, clips):
        row["sibatracc_bundled"] = decode_score([output], [clip], tracker.decode)
        out = output.refined
        track = decode_track(out.xy, out.prob, out.code, replace(DecodeParams(), **row["decode"]),
                             output.candidates.score, clip.size)
        counts += detection_counts(clip.labels.codes, clip.labels.xy, track.codes, track.xy, TRACKNET_TOLERANCE_PX)
    base, calibrated, bundled = (float(np.mean([r[f"sibatracc_{k}"] for r in rows]))
                                 for k in ("base", "calibrated", "bundled"))
    table = [(f"{r['clip']} (held out)", f"SiBaTrAcc default {r['sibatracc_base']:.4f}  calibrated "
                                          f"{r['sibatracc_calibrated']:.4f}  bundled {r['sibatracc_bundled']:.4f}"
                                          f"  {r['decode']}") for r in rows]
    table.append(("mean over clips", f"SiBaTrAcc default {base:.4f}  calibrated {calibrated:.4f}  bundled "
                                     f"{bundled:.4f}"))
    table.append((f"calibrated, at {TRACKNET_TOLERANCE_PX:g} px", f"P {counts.precision:.4f}  R {counts.recall:.4f}  "
                                                                  f"F1 {counts.f1:.4f}"))
    report("calibration, leave one game out", table,
           {"data": args.data, "with_embedded_val": args.with_embedded_val, "games": rows,
            "sibatracc_base": base, "sibatracc_calibrated": calibrated, "sibatracc_bundled": bundled,
            "calibrated_tracknet": {"tolerance_px": TRACKNET_TOLERANCE_PX, "precision": counts.precision,
                                    "recall": counts.recall, "f1": counts.f1}})


if __name__ == "__main__":
    main()
