"""Command-line arguments checked without loading the heavy libraries, so that a mistyped path or flag fails at once
instead of after half a minute of imports: the checks ``track.py`` and ``evaluate.py`` share, and the options of
``evaluate.py`` (:class:`EvaluationOptions`, which the demo fills in directly)."""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from evaluation.metrics import DEFAULT_TOLERANCE_PX  # numpy only


class ArgumentError(ValueError):
    """A bad argument; the message starts with the path or flag."""


def check_weights_and_out(weights: str | None, out: Path | None) -> None:
    """``--weights`` that names a local file must exist (a Google Drive id or URL is checked when fetched);
    ``--out`` must be a folder or not exist yet."""
    if weights and not weights.startswith(("http://", "https://")) and ("/" in weights or weights.endswith(".pt")) \
            and not Path(weights).is_file():
        raise ArgumentError(f"{weights}: no such weights file")
    if out is not None and out.exists() and not out.is_dir():
        raise ArgumentError(f"{out}: --out exists and is not a folder")


@dataclass
class EvaluationOptions:
    """What ``evaluate.py`` scores and where it writes (its flags, same names and defaults)."""

    data: Path | None = None
    games: list[int] | None = None
    predictions: Path | None = None
    weights: str | None = None
    sha256: str | None = None
    ensemble: bool = False
    runtime: str = "onnx"
    out: Path | None = None
    visualize: bool = False
    tolerance: float = DEFAULT_TOLERANCE_PX
    wandb: str = "offline"


def parse_args(argv=None, description: str | None = None) -> EvaluationOptions:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", type=Path, help="ROOT/gameG/clipC layout; default: the embedded synthetic data set")
    data.add_argument("--games", type=int, nargs="+", help="game numbers to score; default: the test games")
    what = parser.add_argument_group("what to score")
    what.add_argument("--predictions", type=Path, help="folder of saved game{G}_clip{C}.csv (frame,code,x,y)")
    what.add_argument("--weights", help="tracker weights: a file, a Google Drive id/URL; default: shipped weights")
    what.add_argument("--sha256", help="the sha256 the --weights file must have (checked before loading)")
    what.add_argument("--ensemble", action="store_true", help="the proposal's temporal ensemble (see track.py)")
    what.add_argument("--runtime", choices=("torch", "onnx"), default=EvaluationOptions.runtime,
                      help="run the networks with onnxruntime (default; same tracks, faster) or PyTorch (see track.py)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, help="output folder; default runs/exp_N")
    out.add_argument("--visualize", action="store_true", help="write overlay and probability mp4 per clip")
    out.add_argument("--tolerance", type=float, default=EvaluationOptions.tolerance,
                     help="pixel tolerance of precision/recall/F1 and the failure breakdown (full resolution); "
                     "the figures at TrackNet's 10 px are printed too")
    out.add_argument("--wandb", choices=("offline", "online", "off"), default=EvaluationOptions.wandb,
                     help="W&B mode: offline (default; online when WANDB_API_KEY is set), online, or off")
    args = EvaluationOptions(**vars(parser.parse_args(argv)))
    check(args)
    return args


def check(args: EvaluationOptions) -> None:
    """Raise :class:`ArgumentError` for what is wrong before any work: paths that do not exist, values out of range."""
    if args.data is not None and not args.data.is_dir():
        raise ArgumentError(f"{args.data}: --data is not a folder")
    if args.predictions is not None and not args.predictions.is_dir():
        raise ArgumentError(f"{args.predictions}: --predictions is not a folder")
    if args.games and min(args.games) < 1:
        raise ArgumentError(f"--games: game numbers start at 1, got {min(args.games)}")
    if not (math.isfinite(args.tolerance) and args.tolerance > 0):
        raise ArgumentError(f"--tolerance: must be above 0 pixels, got {args.tolerance}")
    check_weights_and_out(args.weights, args.out)
    if args.predictions is not None and args.out is not None \
            and (args.out / "predictions").resolve() == args.predictions.resolve():
        raise ArgumentError(f"{args.predictions}: --out would overwrite the predictions being scored: "
                            "choose another --out")
