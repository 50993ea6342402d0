"""End-to-end tracker speed on 1280x720 JPEG frames, decoding included, and peak memory.

    python bench/tracker_speed.py [--weights weights/tracker.pt] [--data ROOT --games 1] [--frames 300]
    python bench/tracker_speed.py --runtime torch onnx --read-ahead 0 16     # each combination, one after the other
    python bench/tracker_speed.py --runtime onnx-fp32 onnx --repeat 3       # all float against the default
    python bench/tracker_speed.py --against 111e426 --repeat 3    # against an older commit's code, rounds alternating

Times ``Tracker.track_frames`` over frames read from disk (JPEG decode + resize + proposal + refine + decoding),
the way ``evaluate.py`` and ``track.py`` run it. With several runtimes or read-ahead depths every combination is
timed in turn, ``--repeat`` rounds (the best of each is kept: the machine may be shared), and each is compared
with the first. ``--against REV`` also runs that git revision's own ``bench/tracker_speed.py`` (its defaults, the
same frames, from a ``git archive`` of it) once per round, between this code's rounds, and prints the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import product
from pathlib import Path

from measure import bench_frames, peak_rss_mb, report

from data_prep.clips import read_frame
from data_prep.paths import PROJECT_ROOT
from tracking.tracker import READ_AHEAD, Tracker


def revision_tree(rev: str, folder: Path) -> Path:
    """The files of git revision ``rev`` of this project under ``folder``, sharing this checkout's data/."""
    archive = subprocess.run(["git", "archive", rev], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "data").symlink_to(PROJECT_ROOT / "data")
    return folder


def revision_fps(tree: Path, args: argparse.Namespace) -> float:
    """Frames/s of one run of the revision's own bench (its default runtime and settings) on the same frames."""
    command = [sys.executable, "bench/tracker_speed.py", "--frames", str(args.frames)]
    command += (["--data", args.data] if args.data else []) + (["--games", *map(str, args.games)] if args.games else [])
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=env, check=True)
    return max(json.loads(done.stdout.strip().splitlines()[-1])["fps"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--data", help="clips to read; default: the embedded synthetic test games")
    parser.add_argument("--games", type=int, nargs="+", help="games to read frames from")
    parser.add_argument("--frames", type=int, default=300, help="frames to time")
    parser.add_argument("--runtime", nargs="+", default=["onnx"], choices=["torch", "onnx", "onnx-fp32"],
                        help="runtimes to time (onnx: the default, its refiner by OpenVINO or int8; onnx-fp32: "
                             "all float)")
    parser.add_argument("--read-ahead", type=int, nargs="+", default=[READ_AHEAD], help="frames decoded ahead in a "
                        "reader thread (0: none; default: the tracker's)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds over the combinations; the best is kept")
    parser.add_argument("--against", metavar="REV", help="also time this git revision's code, once per round")
    args = parser.parse_args()
    root, clips, paths = bench_frames(args.data, args.games, args.frames)
    combos = list(product(args.runtime, args.read_ahead))
    trackers = {(runtime, depth): Tracker.load(args.weights, runtime=runtime.split("-")[0], read_ahead=depth,
                                               int8=runtime == "onnx") for runtime, depth in combos}
    best: dict[tuple, float] = {}
    older = float("inf")  # seconds of --against's code, best round
    with tempfile.TemporaryDirectory() as tmp:
        tree = revision_tree(args.against, Path(tmp)) if args.against else None
        for _ in range(args.repeat):
            for combo, tracker in trackers.items():
                tracker.track_frames(read_frame(p) for p in paths[:30])  # warm-up
                started = time.perf_counter()
                out = tracker.track_frames(read_frame(p) for p in paths)
                best[combo] = min(best.get(combo, float("inf")), time.perf_counter() - started)
            if tree is not None:
                older = min(older, len(paths) / revision_fps(tree, args))
    size = clips[0].size
    rows = [("frames", f"{len(paths)} at {size[0]}x{size[1]} from {root}")]
    first = best[combos[0]]
    for (runtime, depth), seconds in best.items():
        fps = len(paths) / seconds
        rows.append((f"{runtime}, read-ahead {depth}: frames/s (JPEG decode included)",
                     f"{fps:.1f}  ({1000 / fps:.1f} ms per frame, x{first / seconds:.2f} the first)"))
    if args.against:
        rows.append((f"{args.against}, its defaults: frames/s", f"{len(paths) / older:.1f}  (the first is "
                     f"x{older / first:.2f} that)"))
    rows += [("frames with a ball (last)", f"{int((out.track.codes > 0).sum())}"),
             ("peak memory", f"{peak_rss_mb():.0f} MB")]
    fps = {f"{runtime}_ahead{depth}": len(paths) / s for (runtime, depth), s in best.items()}
    if args.against:
        fps[args.against] = len(paths) / older
    report("tracker_speed", rows, {"fps": fps, "frames": len(paths), "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
