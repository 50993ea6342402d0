"""How tracking time and memory grow with clip length: should be linear in time and flat in memory (frames are
streamed, never held whole).

    python bench/scaling.py [--lengths 100 1000 10000] [--weights weights/tracker.pt]

Each length runs in a fresh process (peak memory is per process) over the embedded synthetic frames read from
disk in a loop, as a long video would arrive.
"""
from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

from measure import peak_rss_mb, report

REPO = Path(__file__).resolve().parents[1]


def run_one(length: int, weights: str | None) -> dict:
    from data_prep.clips import discover_clips, read_frame
    from data_prep.embedded import EMBEDDED, ensure_embedded
    from tracking.tracker import Tracker

    games = list(EMBEDDED.test_games)
    paths = [p for clip in discover_clips(ensure_embedded(games=games), games) for p in clip.frames]
    tracker = Tracker.load(weights)
    frames = (read_frame(p) for p in itertools.islice(itertools.cycle(paths), length))
    started = time.perf_counter()
    out = tracker.track_frames(frames)
    seconds = time.perf_counter() - started
    return {"frames": len(out.track), "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one length in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.weights)))
        return
    results = []
    for length in args.lengths:
        command = [sys.executable, __file__, "--one", str(length)]
        command += ["--weights", args.weights] if args.weights else []
        line = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout.strip().splitlines()
        results.append(json.loads(line[-1]))
    rows = [(f"{r['frames']} frames", f"{r['seconds']:.1f} s  ({r['frames'] / r['seconds']:.1f} frames/s)  "
             f"peak {r['peak_rss_mb']:.0f} MB") for r in results]
    report("scaling", rows, {"runs": results})


if __name__ == "__main__":
    main()
