"""Score a tracker on labelled clips with SiBaTrAcc (exactly as the assignment) and the TrackNet figures.

    python evaluate.py --games 1 2                                   # tracker on the embedded synthetic test games
    python evaluate.py --data ROOT --games 1 2 --weights FILE --visualize
    python evaluate.py --data ROOT --games 1 2 --predictions DIR     # score saved DIR/game{G}_clip{C}.csv

Prints one line per clip (a progress bar while a clip is tracked, on a terminal) and ends with
``SiBaTrAcc: 0.xxxx`` (and, when the labels carry ``q``, the hits and bounces found on the tracks scored per kind and
``Events F1: 0.xxxx``); writes ``report.json`` (every figure per clip and overall), the predictions and, with
``--visualize``, overlay and probability videos to ``--out`` (default ``runs/exp_N``; an earlier evaluation in that
folder is replaced, and a folder another evaluation is writing is refused). Like a training run it also writes
``config.json``, ``summary.json`` and ``media/`` (per-clip and per-frame tables, a short overlay video of the first
clip) and logs them to W&B (``--wandb``, offline by default), so ``python report.py runs/exp_N`` can review it. The
work is done by ``cli/evaluate.py``. Arguments are checked before the libraries load; bad data, weights or
arguments print ``error: <file or flag>: <message>`` and exit with status 2.
"""
import sys

from cli.args import ArgumentError, EvaluationOptions, parse_args


def main(argv=None) -> float:
    """Score and write the run folder (see above); returns SiBaTrAcc."""
    return evaluate(parse_args(argv, __doc__))


def evaluate(args: EvaluationOptions) -> float:
    from cli.evaluate import evaluate

    return evaluate(args)


def cli(argv=None) -> int:
    """The command line: bad data or weights print ``error: <file>: <message>`` (no traceback), exit status 2."""
    try:
        args = parse_args(argv, __doc__)  # before the imports below: a bad argument fails at once
        from data_prep.atomic import os_error_line
        from data_prep.clips import DataError
        from engine.runs import RunFolderBusy
        from model.checkpoint import CheckpointError

        try:
            evaluate(args)
        except (DataError, CheckpointError, RunFolderBusy) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except OSError as error:  # a full disk, a read-only --out
            print(f"error: {os_error_line(error)}", file=sys.stderr)
            return 2
    except ArgumentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback (a rerun replaces the partial evaluation)
        print("interrupted; run the command again to redo it", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(cli())
