"""Command line for the synthetic broadcast-tennis renderer (:mod:`data_prep.synth`; ``python -m data_prep.synth``
runs it too).

Render a data set (``DIR/gameG/clipC/0000.jpg ... labels.csv``, games 1..G, clips 1..C; resumes an interrupted
render, identical output for a seed whatever ``--workers``)::

    python -m data_prep.synth --out data/synthetic --games 10 --clips 3 --seed 0 [--frames 120] [--workers 2]

Contact sheet of any data set in that layout (random labelled frames with ball insets and the code distribution)::

    python -m data_prep.synth contact-sheet --data data/synthetic --out docs/synthetic_contact_sheet.png
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from data_prep.synth.render import SeedMismatch, render_dataset
from data_prep.synth.sheet import contact_sheet


def render_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_prep.synth", description="Render synthetic broadcast "
                                     "tennis clips. Use 'python -m data_prep.synth contact-sheet --help' for sheets.")
    parser.add_argument("--out", type=Path, required=True, help="output root; clips go to OUT/gameG/clipC")
    parser.add_argument("--games", type=int, required=True, help="number of games (venue, camera, players)")
    parser.add_argument("--clips", type=int, required=True, help="clips per game")
    parser.add_argument("--seed", type=int, default=0, help="data set seed; a clip depends only on (seed, game, clip)")
    parser.add_argument("--frames", type=int, default=120, help="frames per clip at 30 fps")
    parser.add_argument("--workers", type=int, default=2, help="parallel processes, one clip each")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def sheet_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_prep.synth contact-sheet",
                                     description="PNG grid of random labelled frames of a data set")
    parser.add_argument("--data", type=Path, required=True, help="data root in the ROOT/gameG/clipC layout")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--tiles", type=int, default=12, help="number of frames shown")
    parser.add_argument("--columns", type=int, default=4, help="tiles per row")
    parser.add_argument("--tile-width", type=int, default=320, help="tile width in pixels")
    parser.add_argument("--seed", type=int, default=0, help="which frames are picked")
    parser.add_argument("--palette", action="store_true", help="256-colour PNG, about a quarter of the size")
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if argv and argv[0] == "contact-sheet":
        args = sheet_parser().parse_args(argv[1:])
        contact_sheet(args.data, args.out, tiles=args.tiles, columns=args.columns, tile_width=args.tile_width,
                      seed=args.seed, palette=args.palette)
        return
    args = render_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        render_dataset(args.out, args.games, args.clips, args.seed, frames=args.frames, workers=args.workers,
                       progress=not args.quiet)
    except SeedMismatch as error:  # another seed's folder: a message, not a traceback
        sys.exit(f"error: {error}")
    logging.getLogger(__name__).info("rendered %s in %.1f s", args.out, time.perf_counter() - start)


if __name__ == "__main__":
    main()
