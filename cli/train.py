"""The flags of ``train.py --stage proposal|refine|baseline|events``: one ``--field`` per field of the stage's config
dataclass (``engine.config``), parsed into that config and handed to :func:`engine.train.run`. ``--stage all`` is
:mod:`cli.recipe`."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import shlex
import sys
from pathlib import Path

from cli.config_args import add_config_args, config_from_args
from engine import train as engine_train
from engine.runs import training_state
from engine.train import STAGES

log = logging.getLogger(__name__)


def parse_args(argv=None):
    """(stage, config, flags given explicitly on the command line, --overwrite)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--stage", choices=STAGES, required="-h" not in argv and "--help" not in argv)
    stage = pre.parse_known_args(argv)[0].stage or "proposal"
    config_cls, _ = STAGES[stage]
    parser = argparse.ArgumentParser(description=engine_train.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=STAGES, required=True, metavar="{" + ",".join([*STAGES, "all"]) + "}",
                        help="which stage to train (or all: both stages, bundle and report; --stage all --help)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run already in --out (without it such a folder is refused: --resume it)")
    add_config_args(parser.add_argument_group(f"{stage} config"), config_cls)
    args = parser.parse_args(argv)
    # The same flags with no defaults: what remains was typed by the user (resuming keeps everything else).
    explicit = argparse.ArgumentParser(add_help=False)
    add_config_args(explicit, config_cls, defaults=False)
    given = set(vars(explicit.parse_known_args(argv)[0]))
    return args.stage, config_from_args(config_cls, args), given, args.overwrite


def main(argv=None) -> dict:
    """Train the stage the flags name; returns the last figures (:func:`engine.train.run`)."""
    stage, cfg, given, overwrite = parse_args(argv)
    return engine_train.run(stage, cfg, given, overwrite)


def stage_config(stage: str, flags: str = "", **fields):
    """The ``stage``'s config from ``flags`` as a user types them after ``train.py --stage STAGE`` (the recipe's
    ``--proposal-flags``), ``fields`` filling what the flags leave out (a flag typed wins)."""
    _, cfg, given, _ = parse_args(["--stage", stage, *shlex.split(flags)])
    return dataclasses.replace(cfg, **{name: value for name, value in fields.items() if name not in given})


def ensure_trained(run: Path, stage: str, cfg) -> None:
    """Train ``stage`` with ``cfg`` into ``run``: skipped when that run finished, resumed (with the config it
    saved) when it was started and killed."""
    state = training_state(run)
    if state == "finished":
        log.info("%s: done, kept", run)
    elif state == "started":
        config_cls, _ = STAGES[stage]
        engine_train.run(stage, config_cls(resume=Path(run)), {"resume"})
    else:
        engine_train.run(stage, dataclasses.replace(cfg, out=Path(run)))
