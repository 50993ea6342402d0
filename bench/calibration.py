"""What calibrating the decoder buys on clips it has not seen: leave one game (match) out.

    python bench/calibration.py --data data/tennis_real --games 1 2 3                  # real tennis, by match
    python bench/calibration.py --data data/tennis_real --games 1 2 3 --with-embedded-val

For each game G the decoder is calibrated (``engine.bundle.calibrate_decode``) on the other games, plus the
embedded synthetic validation games with ``--with-embedded-val``, and game G is scored with the default decoder
parameters, with that calibration and with the bundle's own parameters. The search starts from the defaults, not
from the bundle's parameters: a bundle calibrated on game G would otherwise pass them on wherever the grid ties.
The mean over clips of the calibrated column (SiBaTrAcc's own averaging) is the figure to report.
"""
from __future__ import annotations

import argparse

import numpy as np
from measure import report

from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from engine.bundle import decode_score, leave_one_game_out, track_outputs
from tracking.decode import DecodeParams
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
    args = parser.parse_args()
    tracker = Tracker.load(args.weights, runtime=args.runtime)
    clips = discover_clips(args.data, args.games)
    val_games = list(EMBEDDED.val_games)
    extra_clips = discover_clips(ensure_embedded(games=val_games), val_games) if args.with_embedded_val else []
    outputs = track_outputs(tracker, clips)
    rows = leave_one_game_out(outputs, clips, DecodeParams(), (track_outputs(tracker, extra_clips), extra_clips))
    for row, output, clip in zip(rows, outputs, clips):
        row["sibatracc_bundled"] = decode_score([output], [clip], tracker.decode)
    base, calibrated, bundled = (float(np.mean([r[f"sibatracc_{k}"] for r in rows]))
                                 for k in ("base", "calibrated", "bundled"))
    table = [(f"{r['clip']} (held out)", f"SiBaTrAcc default {r['sibatracc_base']:.4f}  calibrated "
                                          f"{r['sibatracc_calibrated']:.4f}  bundled {r['sibatracc_bundled']:.4f}"
                                          f"  {r['decode']}") for r in rows]
    table.append(("mean over clips", f"SiBaTrAcc default {base:.4f}  calibrated {calibrated:.4f}  bundled "
                                     f"{bundled:.4f}"))
    report("calibration, leave one game out", table,
           {"data": args.data, "with_embedded_val": args.with_embedded_val, "games": rows,
            "sibatracc_base": base, "sibatracc_calibrated": calibrated, "sibatracc_bundled": bundled})


if __name__ == "__main__":
    main()
