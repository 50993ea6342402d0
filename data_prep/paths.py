"""Project-wide names: the project folder that default data, cache, run and weight paths are anchored to (so a
command run from another folder still finds and writes them there), its runs folder, the W&B project, and the frame
rate a frame folder is taken to have (no imports: ``track.py`` checks its arguments with it before loading any)."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WANDB_PROJECT = "tennis-ball-tracker"
RUNS_DIR = PROJECT_ROOT / "runs"
FOLDER_FPS = 30.0  # a frame folder carries no frame rate (nor does a video that states none): the assignment's 30
