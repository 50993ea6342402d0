"""Live (fixed-lag) tracking against offline tracking on the same frames: frames/s of each and their ratio.

    python bench/live_speed.py [--data data/tennis_real] [--frames 150] [--lag 8] [--chunk 16] [--profile]

Frames are read into memory first, so both modes time the tracker alone (resize, proposal, refine, decoding).
``--data`` defaults to ``data/tennis_real`` when present (``python -m data_prep.importers labelled-video
../shared/data/tennis_labelled --out data/tennis_real``), else the embedded synthetic test games. ``--chunk`` is
the live chunk (default: track.py's); ``--profile`` prints the top functions of one live run by cumulative time.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from itertools import islice
from pathlib import Path

from measure import report

from data_prep.clips import discover_clips, read_frame
from data_prep.embedded import EMBEDDED, ensure_embedded
from tracking.tracker import LIVE_CHUNK, Tracker

REAL = Path("data/tennis_real")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--data", type=Path, help="clips to read; default: data/tennis_real, else synthetic")
    parser.add_argument("--frames", type=int, default=150, help="frames to track in each mode")
    parser.add_argument("--lag", type=int, default=8, help="live decoder lag (track.py --live LAG)")
    parser.add_argument("--chunk", type=int, default=LIVE_CHUNK, help="live chunk; default: track.py's")
    parser.add_argument("--profile", action="store_true", help="print where one live run spends its time")
    args = parser.parse_args()
    root = args.data or (REAL if REAL.is_dir() else ensure_embedded(games=EMBEDDED.test_games))
    clips = discover_clips(root, None if args.data or root == REAL else list(EMBEDDED.test_games))
    frames = [read_frame(p) for p in islice((p for clip in clips for p in clip.frames), args.frames)]
    offline = Tracker.load(args.weights)
    live = Tracker.load(args.weights, chunk=args.chunk)
    offline.track_frames(frames[:30])  # warm-up
    list(live.track_live(frames[:30], args.lag))

    started = time.perf_counter()
    offline.track_frames(frames)
    offline_fps = len(frames) / (time.perf_counter() - started)
    started = time.perf_counter()
    decided = list(live.track_live(frames, args.lag))
    live_fps = len(frames) / (time.perf_counter() - started)
    assert [f for f, _, _ in decided] == list(range(len(frames))), "live mode must decide every frame once"

    latency = live.live_latency(args.lag)
    report("live_speed", [("frames", f"{len(frames)} at {frames[0].shape[1]}x{frames[0].shape[0]} from {root}"),
                          ("offline frames/s (chunk %d)" % offline.chunk, f"{offline_fps:.1f}"),
                          ("live frames/s (chunk %d, lag %d)" % (live.chunk, args.lag), f"{live_fps:.1f}"),
                          ("offline / live time", f"{offline_fps / live_fps:.2f}x"),
                          ("live latency", f"{latency} frames")],
           {"frames": len(frames), "offline_fps": offline_fps, "live_fps": live_fps, "chunk": live.chunk,
            "lag": args.lag, "latency_frames": latency, "slowdown": offline_fps / live_fps})
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: list(live.track_live(frames, args.lag)))
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
