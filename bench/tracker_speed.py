"""End-to-end tracker speed on 1280x720 JPEG frames, decoding included, and peak memory.

    python bench/tracker_speed.py [--weights weights/tracker.pt] [--data ROOT --games 1] [--frames 300]

Times ``Tracker.track_frames`` over frames read from disk (JPEG decode + resize + proposal + refine + decoding),
the way ``evaluate.py`` and ``track.py`` run it.
"""
from __future__ import annotations

import argparse
import time
from itertools import islice

from measure import peak_rss_mb, report

from data_prep.clips import discover_clips, read_frame
from data_prep.embedded import EMBEDDED, ensure_embedded
from tracking.tracker import Tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--data", help="clips to read; default: the embedded synthetic test games")
    parser.add_argument("--games", type=int, nargs="+", help="games to read frames from")
    parser.add_argument("--frames", type=int, default=300, help="frames to time")
    args = parser.parse_args()
    games = args.games or (None if args.data else list(EMBEDDED.test_games))
    root = args.data or ensure_embedded(games=games)
    clips = discover_clips(root, games)
    paths = list(islice((p for clip in clips for p in clip.frames), args.frames))
    tracker = Tracker.load(args.weights)
    tracker.track_frames(read_frame(p) for p in paths[:30])  # warm-up
    started = time.perf_counter()
    out = tracker.track_frames(read_frame(p) for p in paths)
    seconds = time.perf_counter() - started
    fps = len(paths) / seconds
    size = clips[0].size
    report("tracker_speed", [("frames", f"{len(paths)} at {size[0]}x{size[1]} from {root}"),
                             ("frames/s (JPEG decode included)", f"{fps:.1f}"),
                             ("ms per frame", f"{1000 / fps:.1f}"),
                             ("frames with a ball", f"{int((out.track.codes > 0).sum())}"),
                             ("peak memory", f"{peak_rss_mb():.0f} MB")],
           {"fps": fps, "frames": len(paths), "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
