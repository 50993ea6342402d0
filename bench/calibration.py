"""What calibrating the decoder buys on clips it has not seen: leave one game (match) out.

    python bench/calibration.py --data data/tennis_real --games 1 2 3                  # real tennis, by match
    python bench/calibration.py --data data/tennis_real --games 1 2 3 --with-embedded-val
    python bench/calibration.py ... --cache cache/outputs      # reuse the networks' outputs (decoder experiments)

For each game G the decoder is calibrated (``engine.bundle.calibrate_decode``) on the other games, plus the
embedded synthetic validation games with ``--with-embedded-val``, and game G is scored with the default decoder
parameters, with that calibration and with the bundle's own parameters: :func:`engine.calibration.leave_one_match_out`
(which self-training calls too; its docstring says which figure to report).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from measure import report

from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from engine.calibration import leave_one_match_out
from evaluation.metrics import TRACKNET_TOLERANCE_PX
from tracking.tracker import Tracker


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
    result = leave_one_match_out(tracker, clips, extra_clips, args.cache)
    rows, counts = result["games"], result["calibrated_tracknet"]
    base, calibrated, bundled = (result[f"sibatracc_{k}"] for k in ("base", "calibrated", "bundled"))
    table = [(f"{r['clip']} (held out)", f"SiBaTrAcc default {r['sibatracc_base']:.4f}  calibrated "
                                          f"{r['sibatracc_calibrated']:.4f}  bundled {r['sibatracc_bundled']:.4f}"
                                          f"  {r['decode']}") for r in rows]
    table.append(("mean over clips", f"SiBaTrAcc default {base:.4f}  calibrated {calibrated:.4f}  bundled "
                                     f"{bundled:.4f}"))
    table.append((f"calibrated, at {TRACKNET_TOLERANCE_PX:g} px", f"P {counts['precision']:.4f}  "
                                                                  f"R {counts['recall']:.4f}  F1 {counts['f1']:.4f}"))
    report("calibration, leave one game out", table,
           {"data": args.data, "with_embedded_val": args.with_embedded_val, **result})


if __name__ == "__main__":
    main()
