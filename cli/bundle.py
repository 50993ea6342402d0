"""Command line of the bundling (:mod:`engine.bundle`): ``python -m cli.bundle --proposal P --refine R --out FILE``
or ``--recalibrate BUNDLE`` (``python -m engine.bundle`` runs it too)."""
from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path

from engine import bundle
from engine.bundle import bundle_tracker
from tracking.weights import DEFAULT_BUNDLE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=bundle.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--proposal", type=Path, help="proposal checkpoint (best.pt) to bundle, or a tracker bundle "
                        "whose proposal is kept (e.g. weights/tracker.pt for a refiner trained on its candidates)")
    source.add_argument("--recalibrate", type=Path, metavar="BUNDLE",
                        help="an existing tracker bundle whose decoder is calibrated again (its stages are kept)")
    parser.add_argument("--refine", type=Path, help="refine checkpoint; omit for a proposal-only tracker")
    parser.add_argument("--out", type=Path, default=DEFAULT_BUNDLE, help="bundle to write")
    parser.add_argument("--data", type=Path, help="data for calibration; default: the embedded synthetic set")
    parser.add_argument("--val-games", type=int, nargs="+",
                        help="calibration games of --data; default: its validation split")
    parser.add_argument("--with-embedded-val", action="store_true",
                        help="also calibrate on the embedded synthetic validation games (frames without a ball)")
    parser.add_argument("--no-calibrate", action="store_true", help="keep the default decoder parameters")
    return parser


def main(argv=None) -> dict:
    args = _parser().parse_args(argv)
    if args.recalibrate is not None and (args.refine is not None or args.no_calibrate):
        raise SystemExit("error: --recalibrate keeps the bundle's stages and calibrates: no --refine/--no-calibrate")
    if args.recalibrate is not None and args.recalibrate.resolve() == args.out.resolve():
        raise SystemExit(f"error: --out {args.out} would overwrite the bundle being recalibrated; name another file")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = bundle_tracker(args.out, args.proposal, args.refine, args.recalibrate, args.data, args.val_games,
                            args.with_embedded_val, calibrate=not args.no_calibrate)
    print_bundle(args.out, result)
    return result


def print_bundle(out: Path, result: dict) -> None:
    """The bundle's JSON line: file, sha256, decoder parameters and the calibration's scores."""
    print(json.dumps({"bundle": str(out), "sha256": result["sha256"], "decode": asdict(result["decode"]),
                      **{k: v for k, v in result.items() if k not in ("clips", "sha256", "decode")}}, indent=1))


if __name__ == "__main__":
    main()
