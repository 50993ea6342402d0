"""Command line of the label audit (:mod:`data_prep.label_audit`): ``python -m cli.label_audit audit ROOT ...``
(``python -m data_prep.label_audit`` runs it too)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data_prep import label_audit
from data_prep.clips import DataError, discover_clips
from data_prep.label_audit import Thresholds, audit


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_prep.label_audit", description=label_audit.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("audit", help="report labels that contradict their neighbours or the set")
    check.add_argument("root", type=Path, metavar="ROOT", help="labelled clips: ROOT/gameG/clipC/labels.csv")
    check.add_argument("--games", type=int, nargs="+", help="audit only these games (default: all)")
    check.add_argument("--strict", action="store_true", help="exit status 1 when anything is found")
    defaults = Thresholds()
    check.add_argument("--jump-px", type=float, default=defaults.jump_px,
                       help="a jump this far from both neighbours is reported (px at 1280 wide)")
    check.add_argument("--hidden-px", type=float, default=defaults.hidden_px,
                       help="a hidden (code 3) ball this far off its run's line is reported (px at 1280 wide)")
    check.add_argument("--still-px", type=float, default=defaults.still_px,
                       help="a ball moving at most this much a frame at a clip's start or end is still (held)")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    for flag in ("jump_px", "hidden_px", "still_px"):
        if not getattr(args, flag) > 0:
            print(f"error: --{flag.replace('_', '-')}: must be above 0, got {getattr(args, flag)}", file=sys.stderr)
            return 2
    try:
        found = discover_clips(args.root, args.games, require_labels=False)
        clips = [clip for clip in found if clip.labels is not None]
        if not clips:
            raise DataError(args.root, "no labelled clip (labels.csv or Label.csv) to audit")
        findings, summary = audit(clips, Thresholds(args.jump_px, args.hidden_px, args.still_px))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(summary["kinds"].items())) or "none"
    unlabelled = len(found) - len(clips)
    print(f"{len(findings)} findings in {summary['clips']} clips, {summary['frames']} frames"
          + (f" ({unlabelled} unlabelled clips skipped)" if unlabelled else "") + f": {kinds}")
    print("gaps of 1-2 frames in a flight: " + ", ".join(f"{n} {state}" for state, n in summary["gaps"].items()))
    for side in ("start", "end"):
        print(f"clips by how they {side}: " + ", ".join(f"{n} {state}" for state, n in sorted(summary[side].items())))
    return 1 if args.strict and findings else 0
