"""End-to-end tracker speed on 1280x720 JPEG frames, decoding included, and peak memory.

    python bench/tracker_speed.py [--weights weights/tracker.pt] [--data ROOT --games 1] [--frames 300]
    python bench/tracker_speed.py --runtime torch onnx --read-ahead 0 16     # each combination, one after the other
    python bench/tracker_speed.py --runtime onnx-fp32 onnx --repeat 3       # float against int8 networks

Times ``Tracker.track_frames`` over frames read from disk (JPEG decode + resize + proposal + refine + decoding),
the way ``evaluate.py`` and ``track.py`` run it. With several runtimes or read-ahead depths every combination is
timed in turn, ``--repeat`` rounds (the best of each is kept: the machine may be shared), and each is compared
with the first.
"""
from __future__ import annotations

import argparse
import time
from itertools import product

from measure import bench_frames, peak_rss_mb, report

from data_prep.clips import read_frame
from tracking.tracker import READ_AHEAD, Tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--data", help="clips to read; default: the embedded synthetic test games")
    parser.add_argument("--games", type=int, nargs="+", help="games to read frames from")
    parser.add_argument("--frames", type=int, default=300, help="frames to time")
    parser.add_argument("--runtime", nargs="+", default=["onnx"], choices=["torch", "onnx", "onnx-fp32"],
                        help="runtimes to time (onnx: its int8 networks, the default; onnx-fp32: its float ones)")
    parser.add_argument("--read-ahead", type=int, nargs="+", default=[READ_AHEAD], help="frames decoded ahead in a "
                        "reader thread (0: none; default: the tracker's)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds over the combinations; the best is kept")
    args = parser.parse_args()
    root, clips, paths = bench_frames(args.data, args.games, args.frames)
    combos = list(product(args.runtime, args.read_ahead))
    trackers = {(runtime, depth): Tracker.load(args.weights, runtime=runtime.split("-")[0], read_ahead=depth,
                                               int8=runtime == "onnx") for runtime, depth in combos}
    best: dict[tuple, float] = {}
    for _ in range(args.repeat):
        for combo, tracker in trackers.items():
            tracker.track_frames(read_frame(p) for p in paths[:30])  # warm-up
            started = time.perf_counter()
            out = tracker.track_frames(read_frame(p) for p in paths)
            best[combo] = min(best.get(combo, float("inf")), time.perf_counter() - started)
    size = clips[0].size
    rows = [("frames", f"{len(paths)} at {size[0]}x{size[1]} from {root}")]
    first = best[combos[0]]
    for (runtime, depth), seconds in best.items():
        fps = len(paths) / seconds
        rows.append((f"{runtime}, read-ahead {depth}: frames/s (JPEG decode included)",
                     f"{fps:.1f}  ({1000 / fps:.1f} ms per frame, x{first / seconds:.2f} the first)"))
    rows += [("frames with a ball (last)", f"{int((out.track.codes > 0).sum())}"),
             ("peak memory", f"{peak_rss_mb():.0f} MB")]
    fps = {f"{runtime}_ahead{depth}": len(paths) / s for (runtime, depth), s in best.items()}
    report("tracker_speed", rows, {"fps": fps, "frames": len(paths), "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
