"""Command line of the court finder (:mod:`tracking.court`): ``python -m cli.court SOURCE [--frame N] --out OUT.json``
(``python -m tracking.court`` runs it too)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data_prep.clips import DataError
from data_prep.video import read_still
from tracking import court
from tracking.court import detect_court


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracking.court", description=court.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="an image or a video")
    parser.add_argument("--frame", type=int, default=0, help="the video's frame to look at (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    try:
        if args.frame < 0:
            raise DataError(args.source, f"--frame must be 0 or more, got {args.frame}")
        fit = detect_court(read_still(args.source, args.frame))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fit.to_json() if fit else {"court": None}, indent=1))
    print(f"{'court found' if fit else 'no court'}: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
