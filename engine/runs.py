"""Experiment folders ``runs/exp_1``, ``runs/exp_2``, ... numbered automatically, in the project's ``runs/`` unless
told otherwise."""
from __future__ import annotations

import re
from pathlib import Path

from data_prep.paths import RUNS_DIR


def next_run_dir(root: Path = RUNS_DIR, prefix: str = "exp") -> Path:
    """Create and return the next free ``root/prefix_N`` (N = 1 + the largest existing number)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.fullmatch(rf"{prefix}_(\d+)", p.name))]
    number = max(numbers, default=0) + 1
    while True:
        path = root / f"{prefix}_{number}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took it between listing and mkdir
            number += 1
