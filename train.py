"""Train one stage of the tracker.

    python train.py --stage proposal                       # embedded synthetic data, default config
    python train.py --stage refine                         # needs a proposal checkpoint (weights/ or --proposal)
    python train.py --stage proposal --data ROOT --games 1 2 3 --val-games 4 --epochs 20
    python train.py --stage proposal --resume runs/proposal_3
    python train.py --stage all --data ROOT --games 1 2 3 --val-games 4 --test-games 5   # both stages, bundle, report
    torchrun --standalone --nproc_per_node=2 train.py --stage proposal   # N processes, same global batch

The flags are parsed in ``cli/train.py``; the loop itself is ``engine/train.py``: config -> seed -> data -> model
-> optimiser -> resume -> train, validate and checkpoint each epoch.

Bad input stops with ``error: <file or flag>: <message>`` and exit status 2: unreadable or missing data, a missing
or corrupt checkpoint, a run folder another process is training in, a config value out of range, a loss that
became NaN or infinite; a full disk names the file. Ctrl-C prints how to resume (exit status 130). Anything else
is a bug and shows its traceback.
"""
import sys

from cli import recipe
from cli.train import main
from data_prep.atomic import os_error_line
from data_prep.clips import DataError
from engine.loop import NonFiniteLoss
from engine.runs import Interrupted, RunFolderBusy
from engine.train import ConfigError
from model.checkpoint import CheckpointError


def cli(argv=None) -> int:
    """The command line: bad input prints ``error: <file>: <message>`` (no traceback) and exits with status 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if (rest := recipe.recipe_argv(argv)) is not None:
            recipe.main(rest)
        else:
            main(argv)
    except (DataError, CheckpointError, RunFolderBusy, ConfigError, NonFiniteLoss) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a read-only run folder: the file (or run folder) and the reason
        print(f"error: {os_error_line(error)}", file=sys.stderr)
        return 2
    except Interrupted as interrupted:  # Ctrl-C: how to go on, not a traceback
        print(interrupted, file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(cli())
