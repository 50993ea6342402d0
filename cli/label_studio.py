"""Command line of the Label Studio round trip (:mod:`data_prep.label_studio`): ``python -m cli.label_studio
import|export ...`` (``python -m data_prep.label_studio`` runs it too)."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from data_prep import label_studio
from data_prep.label_studio import (
    BOX_PX,
    DEFAULT_LABELS,
    TOLERANCE_PX,
    export_dataset,
    export_track,
    import_export,
    parse_label_map,
)

# ---------------------------------------------------------------------------------------------------- command line

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_prep.label_studio", description=label_studio.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    label_help = "visibility label names and codes, NAME=CODE,... (default ball=1,ball_hard=2,ball_occluded=3)"

    imp = commands.add_parser("import", help="a Label Studio JSON export -> clips in the assignment layout")
    imp.add_argument("export", type=Path, help="the export (Export -> JSON in Label Studio)")
    imp.add_argument("--out", type=Path, required=True, help="output root: clips go to OUT/gameG/clipC")
    imp.add_argument("--media-root", type=Path, default=None,
                     help="where the tasks' media are: the local-files document root, Label Studio's data dir or "
                          "a folder holding the original files")
    imp.add_argument("--game", type=int, default=1, help="game for tasks whose media names no gameG/clipC")
    imp.add_argument("--labels", type=parse_label_map, default=DEFAULT_LABELS, help=label_help)
    imp.add_argument("--copy", action="store_true", help="copy image frames instead of hard-linking them")
    imp.add_argument("--overwrite", action="store_true", help="replace clips that already exist")

    exp = commands.add_parser("export", help="track.csv + its video -> a video task; or a data set -> image "
                                             "tasks, one a frame")
    exp.add_argument("src", type=Path, help="track.py's track.csv (frame,code,x,y), or a data root in the "
                                            "assignment layout (the local-files document root)")
    exp.add_argument("video", type=Path, nargs="?", default=None, help="the video that was tracked (with a track)")
    exp.add_argument("--out", type=Path, required=True, help="folder for tasks.json and config.xml (and the video)")
    exp.add_argument("--labels", type=parse_label_map, default=DEFAULT_LABELS, help=label_help)
    group = exp.add_argument_group("a track")
    group.add_argument("--fps", type=float, default=None, help="frame rate (default: the video's own)")
    group.add_argument("--box-px", type=float, default=BOX_PX, help=f"box side in pixels (default {BOX_PX:g})")
    group.add_argument("--tolerance-px", type=float, default=TOLERANCE_PX,
                       help="keyframes where interpolation would miss the track by more (0: every frame; default "
                            f"{TOLERANCE_PX:g})")
    group.add_argument("--url", default=None, help="the video's URL for Label Studio (default: a local-files URL of "
                                                   "the copy in OUT)")
    exp.add_argument("--document-root", type=Path, default=None,
                     help="Label Studio's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT the URLs are relative to (default: "
                          "the parent of OUT for a track, of ROOT for a data set)")
    group = exp.add_argument_group("a data set")
    group.add_argument("--predictions", type=Path, default=None,
                       help="folder of game{G}_clip{C}.csv to pre-annotate with (default: the clips' labels)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        if args.command == "import":
            paths = import_export(args.export, args.out, media_root=args.media_root, labels=args.labels,
                                  game=args.game, link=not args.copy, overwrite=args.overwrite)
        elif args.src.is_dir():
            if args.video is not None:
                raise ValueError("export of a data set takes no VIDEO")
            paths = [export_dataset(args.src, args.out, predictions=args.predictions, labels=args.labels,
                                    document_root=args.document_root)]
        elif args.video is None:
            raise ValueError("export of a track needs the tracked VIDEO after TRACK_CSV")
        else:
            paths = [export_track(args.src, args.video, args.out, labels=args.labels, box_px=args.box_px,
                                  tolerance_px=args.tolerance_px, fps=args.fps, url=args.url,
                                  document_root=args.document_root)]
    except (ValueError, FileExistsError, OSError) as error:  # DataError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback
        print("interrupted; run the command again", file=sys.stderr)
        return 130
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
