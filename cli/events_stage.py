"""Command line that ships a trained event detector (:mod:`engine.events_stage`): ``python -m cli.events_stage
ship runs/events_1/best.pt`` (``python -m engine.events_stage`` runs it too)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine import events_stage
from engine.events_stage import ship
from tracking.events import DEFAULT_EVENTS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=events_stage.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["ship"])
    parser.add_argument("checkpoint", type=Path, help="a train.py --stage events checkpoint (best.pt)")
    parser.add_argument("--out", type=Path, default=DEFAULT_EVENTS, help="default weights/events.pt")
    args = parser.parse_args(argv)
    print(f"{args.out}: sha256 {ship(args.checkpoint, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
