"""Command line of the ONNX export (:mod:`tracking.export`): ``python -m cli.export --out DIR`` (``python -m
tracking.export`` runs it too)."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tracking import export as onnx_export
from tracking.export import MANIFEST


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=onnx_export.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder to write the ONNX files and tracker.json to")
    parser.add_argument("--weights", help="tracker bundle: file, Google Drive id or URL; default: shipped weights")
    parser.add_argument("--fp32", action="store_true", help="no int8 copy of the refiner")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    manifest = onnx_export.export(args.weights, args.out, int8=not args.fp32)
    files = ["proposal.onnx"] + (["refine.onnx"] if manifest["refine"] else []) + list(manifest["int8"].values())
    print(f"wrote {args.out}: {', '.join(files)}, {MANIFEST}")


if __name__ == "__main__":
    main()
