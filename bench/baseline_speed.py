"""Speed of our tracker next to the assignment's baseline UNet on the same 1280x720 frames, decoding included.

    python bench/baseline_speed.py --baseline runs/baseline_synthetic/best.pt [--weights weights/tracker.pt]
                                   [--frames 120] [--rounds 3] [--device auto]

Each measurement runs in a fresh process (so peak memory is each model's own) and the two models alternate
(ours, baseline, ours, baseline, ...) so that a background load hits both alike. Each process reads the same
JPEG frames from disk, warms up, then times ``track_frames`` end to end: JPEG decode, resizing, networks and the
temporal decoding (our Viterbi decoder; the baseline's row/column sums and gap interpolation). The median of the
rounds is reported, with the ratio. On CUDA the same script measures the GPU (``--device cuda``, the default
picks it when present).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

from measure import peak_rss_mb, report

REPO = Path(__file__).resolve().parents[1]


def measure_one(weights: str | None, frames: int, device: str) -> dict:
    import torch

    from data_prep.clips import discover_clips, read_frame
    from data_prep.embedded import EMBEDDED, ensure_embedded
    from tracking.tracker import Tracker

    clips = discover_clips(ensure_embedded(games=EMBEDDED.test_games), list(EMBEDDED.test_games))
    paths = list(islice((p for clip in clips for p in clip.frames), frames))
    tracker = Tracker.load(weights, device=device)
    tracker.track_frames(read_frame(p) for p in paths[:8])  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    out = tracker.track_frames(read_frame(p) for p in paths)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {"fps": len(paths) / seconds, "frames": len(out.track), "peak_rss_mb": peak_rss_mb(),
            "model": tracker.describe().get("model", "ours"), "device": str(tracker.device)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="a `train.py --stage baseline` checkpoint")
    parser.add_argument("--weights", help="our tracker bundle; default: the shipped weights")
    parser.add_argument("--frames", type=int, default=120, help="frames timed per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each model, alternating")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # internal: (weights or '-', device) in-process
    args = parser.parse_args()
    if args.one:
        weights, device = args.one
        print(json.dumps(measure_one(None if weights == "-" else weights, args.frames, device)))
        return
    runs = {"ours": [], "baseline": []}
    for _ in range(args.rounds):
        for name, weights in (("ours", args.weights or "-"), ("baseline", args.baseline)):
            command = [sys.executable, __file__, "--baseline", args.baseline, "--frames", str(args.frames),
                       "--one", weights, args.device]
            out = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{name} run failed:\n{out.stderr[-2000:]}")
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    fps = {name: statistics.median(r["fps"] for r in rs) for name, rs in runs.items()}
    memory = {name: max(r["peak_rss_mb"] for r in rs) for name, rs in runs.items()}
    ratio = fps["ours"] / fps["baseline"]
    device = runs["ours"][0]["device"]
    rows = [(name, f"{fps[name]:7.2f} frames/s  ({1000 / fps[name]:7.1f} ms/frame)  peak {memory[name]:.0f} MB  "
             "runs " + ", ".join(f"{r['fps']:.2f}" for r in runs[name])) for name in runs]
    report("baseline_speed", rows + [("ratio ours / baseline", f"{ratio:.1f}x"),
                                     ("frames", f"{args.frames} at 1280x720 JPEG, {args.rounds} rounds on {device}")],
           {"fps": fps, "peak_rss_mb": memory, "ratio": ratio, "frames": args.frames, "rounds": args.rounds,
            "device": device, "runs": runs})


if __name__ == "__main__":
    main()
