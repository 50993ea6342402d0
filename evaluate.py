"""Score a tracker on labelled clips with SiBaTrAcc (exactly as the assignment) and the TrackNet figures.

    python evaluate.py --games 1 2                                   # tracker on the embedded synthetic test games
    python evaluate.py --data ROOT --games 1 2 --weights FILE --visualize
    python evaluate.py --data ROOT --games 1 2 --predictions DIR     # score saved DIR/game{G}_clip{C}.csv

Prints one line per clip and ends with ``SiBaTrAcc: 0.xxxx``; writes ``report.json`` (every figure per clip and
overall), the predictions and, with ``--visualize``, overlay and probability videos to ``--out`` (default
``runs/exp_N``). Like a training run it also writes ``config.json``, ``summary.json`` and ``media/`` (per-clip and
per-frame tables, a short overlay video of the first clip) and logs them to W&B (``--wandb``, offline by default),
so ``python report.py runs/exp_N`` can review it. The work is done by ``engine/evaluate.py``.
"""
import sys

from data_prep.clips import DataError
from engine.evaluate import main
from model.checkpoint import CheckpointError


def cli(argv=None) -> int:
    """The command line: bad data or weights print ``error: <file>: <message>`` (no traceback), exit status 2."""
    try:
        main(argv)
    except (DataError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())
