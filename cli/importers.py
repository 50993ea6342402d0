"""Command line of the importers (:mod:`data_prep.importers`): ``python -m cli.importers KIND SRC --out ROOT``
(``python -m data_prep.importers`` runs it too)."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from data_prep import importers
from data_prep.importers import (
    INTERRUPTED,
    import_labelled_video,
    import_tracknet,
    import_tracknetv3,
    import_video,
)

# ---------------------------------------------------------------------------------------------------- command line

def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("src", type=Path, help="source folder or file")
    common.add_argument("--out", type=Path, required=True, help="output root: clips go to OUT/gameG/clipC")
    common.add_argument("--max-frames", type=int, default=None, help="keep at most the first N frames of each clip")
    common.add_argument("--overwrite", action="store_true", help="replace clips that already exist")
    parser = argparse.ArgumentParser(prog="python -m data_prep.importers", description=importers.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")

    tracknet = kinds.add_parser("tracknet", parents=[common], help="TrackNet tennis layout (Label.csv)")
    tracknet.add_argument("--game", type=int, default=None,
                          help="game number for a game or clip folder (default: from the folder name, or 1)")
    tracknet.add_argument("--clip", type=int, default=None, help="clip number for a single clip folder (default 1)")
    tracknet.add_argument("--copy", action="store_true", help="copy frames instead of hard-linking them")
    tracknet.add_argument("--blank-visible", choices=("absent", "error"), default="absent",
                          help="a visible ball with blank x/y: import it as code 0 with a warning, or refuse")

    v3 = kinds.add_parser("tracknetv3", parents=[common], help="TrackNetV3 rallies (NNNNN.mp4 + NNNNN.csv)")
    v3.add_argument("--game", type=int, default=1, help="game of the first rally (default 1)")
    v3.add_argument("--first-clip", type=int, default=1, help="clip number of the first rally in each game")
    v3.add_argument("--clips-per-game", type=int, default=None,
                    help="spread rallies over consecutive games, N clips each (default: all in one game)")
    v3.add_argument("--rallies", nargs="+", default=None, metavar="ID", help="import only these rallies (e.g. 00001)")
    v3.add_argument("--truncate", action="store_true",
                    help="when csv rows and decoded frames differ, keep the common length instead of failing")

    labelled = kinds.add_parser("labelled-video", parents=[common],
                                help="video(s) + per-frame csv (frame,visibility,x-coordinate,y-coordinate,status)")
    labelled.add_argument("--game", type=int, default=1, help="game of the first match (default 1)")
    labelled.add_argument("--clip", type=int, default=None, help="clip number for a single video (default 1)")
    labelled.add_argument("--labels", type=Path, default=None,
                          help="the csv of a single video, when it is not VIDEO.csv beside it")

    video = kinds.add_parser("video", parents=[common], help="a video file or frame folder -> one unlabelled clip")
    video.add_argument("--game", type=int, default=1, help="game number (default 1)")
    video.add_argument("--clip", type=int, default=1, help="clip number (default 1)")
    video.add_argument("--copy", action="store_true", help="copy frames of a frame folder instead of hard-linking")
    video.add_argument("--width", type=int, default=None,
                       help="resize frames to this width, aspect kept (1280: the tracker's working width)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    common = dict(max_frames=args.max_frames, overwrite=args.overwrite)
    try:
        if args.kind == "tracknet":
            clips = import_tracknet(args.src, args.out, args.game, args.clip, link=not args.copy,
                                    blank_visible=args.blank_visible, **common)
        elif args.kind == "tracknetv3":
            clips = import_tracknetv3(args.src, args.out, args.game, first_clip=args.first_clip,
                                      clips_per_game=args.clips_per_game, rallies=args.rallies,
                                      truncate=args.truncate, **common)
        elif args.kind == "labelled-video":
            clips = import_labelled_video(args.src, args.out, args.game, args.clip, labels=args.labels, **common)
        else:
            clips = [import_video(args.src, args.out, args.game, args.clip, link=not args.copy, width=args.width,
                                  **common)]
    except (ValueError, FileExistsError) as error:  # DataError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback
        print(INTERRUPTED, file=sys.stderr)
        return 130
    for path in clips:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
