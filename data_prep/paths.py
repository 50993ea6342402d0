"""Project-wide names: the project folder that default data, cache, run and weight paths are anchored to (so a
command run from another folder still finds and writes them there), its runs folder, and the W&B project."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WANDB_PROJECT = "tennis-ball-tracker"
RUNS_DIR = PROJECT_ROOT / "runs"
