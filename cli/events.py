"""Command line of the hit and bounce detector (:mod:`tracking.events`): ``python -m cli.events TRACK.csv --out DIR``
(``python -m tracking.events`` runs it too)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data_prep.clips import DataError
from data_prep.events import NET_FPS
from tracking import events as event_detection
from tracking.events import EventDetector, read_track_csv, write_event_csv


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=event_detection.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracks", type=Path, nargs="+", help="track CSV(s): frame,code,x,y (as track.py writes)")
    parser.add_argument("--out", type=Path, required=True, help="output folder: DIR/<same name>.csv")
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 720), metavar=("W", "H"),
                        help="frame size of the track's pixels (default 1280 720)")
    parser.add_argument("--fps", type=float, default=NET_FPS, help="frame rate of the track (default 30)")
    parser.add_argument("--weights", type=Path, help="event detector weights; default weights/events.pt")
    args = parser.parse_args(argv)
    from model.checkpoint import CheckpointError

    try:
        if min(args.size) <= 0 or not 0 < args.fps <= 1000:
            raise DataError("--size/--fps", "the size must be positive and the rate in (0, 1000]")
        tracks = [read_track_csv(path, tuple(args.size), args.fps) for path in args.tracks]  # all checked first
        detector = EventDetector.load(args.weights)
    except (DataError, CheckpointError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for path, (track, header, rows) in zip(args.tracks, tracks):
        events = detector.detect(track)
        write_event_csv(args.out / path.name, header, rows, int(float(rows[0][[h.strip().lower() for h in header]
                                                                              .index("frame")])), events)
        print(f"{path}: {int((events == 1).sum())} hits, {int((events == 2).sum())} bounces -> "
              f"{args.out / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
