"""Command line of the pseudo-labeller (:mod:`tracking.pseudo_labels`): ``python -m cli.pseudo_labels ROOT``
(``python -m tracking.pseudo_labels`` runs it too)."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from data_prep.clips import DataError
from tracking import pseudo_labels
from tracking.pseudo_labels import pseudo_label_root
from tracking.tracker import Tracker


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=pseudo_labels.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="unlabelled clips: ROOT/gameG/clipC/0000.jpg ...")
    parser.add_argument("--games", type=int, nargs="+", help="games to label; default: all")
    parser.add_argument("--weights", help="the teacher's tracker bundle; default: the shipped weights")
    parser.add_argument("--overwrite", action="store_true", help="also replace label files written by people")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        print(label_root(args.root, Tracker.load(args.weights), args.games, args.overwrite))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def label_root(root: Path, teacher: Tracker, games: list[int] | None = None, overwrite: bool = False) -> str:
    """Pseudo-label ``root``, printing a line per clip; returns the summary line (clips, balls, frames kept)."""
    totals, clips = np.zeros(4, np.int64), 0  # frames, balls, no ball, ignored
    for path, counts in pseudo_label_root(root, teacher, games, overwrite):
        totals, clips = totals + counts, clips + 1
        print(f"{path}: {counts[1]} balls, {counts[2]} no ball, {counts[3]} ignored of {counts[0]} frames")
    return (f"{clips} clips: {totals[1]} balls, {totals[2]} no ball, {totals[3]} ignored of {totals[0]} frames "
            f"({1 - totals[3] / max(totals[0], 1):.0%} kept)")


if __name__ == "__main__":
    sys.exit(main())
