"""Run logging: a JSON line per event in ``log.jsonl`` always, and Weights & Biases when available.

W&B is offline by default (``WANDB_MODE`` or ``--wandb online`` to sync), imported lazily, and never fatal: any
failure is logged once and the run carries on with the local log.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class RunLogger:
    def __init__(self, run_dir: Path, config: dict, stage: str, mode: str = "offline", tags: list[str] | None = None):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.file = open(self.run_dir / "log.jsonl", "a")
        self.wandb = None
        mode = os.environ.get("WANDB_MODE", mode) if mode != "off" else "off"
        if mode == "off":
            return
        try:
            import wandb

            os.environ.setdefault("WANDB_SILENT", "true")
            self.wandb = wandb.init(project="tennis-ball-tracker", group=stage, job_type=stage, config=config,
                                    dir=str(self.run_dir), mode=mode, tags=tags or [], name=self.run_dir.name,
                                    settings=wandb.Settings(init_timeout=60, console="off"))
        except Exception as error:  # W&B must never stop a run
            log.warning("W&B disabled: %s", error)
            self.wandb = None

    def log(self, metrics: dict, step: int) -> None:
        numbers = (int, float, np.floating, np.integer)
        clean = {k: (float(v) if isinstance(v, numbers) else v) for k, v in metrics.items()}
        self.file.write(json.dumps({"step": step, "time": time.time(), **clean}) + "\n")
        self.file.flush()
        self._wandb("log", clean, step=step)

    def image(self, key: str, image: np.ndarray, step: int, caption: str = "") -> None:
        if self.wandb is not None:
            import wandb

            self._wandb("log", {key: wandb.Image(image, caption=caption)}, step=step)

    def video(self, key: str, path: Path, step: int) -> None:
        if self.wandb is not None:
            import wandb

            self._wandb("log", {key: wandb.Video(str(path), format="mp4")}, step=step)

    def table(self, key: str, columns: list[str], rows: list[list], step: int) -> None:
        if self.wandb is not None:
            import wandb

            self._wandb("log", {key: wandb.Table(columns=columns, data=rows)}, step=step)

    def summary(self, values: dict) -> None:
        (self.run_dir / "summary.json").write_text(json.dumps(values, indent=1, default=str))
        if self.wandb is not None:
            try:
                self.wandb.summary.update(values)
            except Exception as error:
                self._fail(error)

    def finish(self) -> None:
        self.file.close()
        if self.wandb is not None:
            try:
                self.wandb.finish()
            except Exception as error:
                self._fail(error)

    def _wandb(self, method: str, *args, **kwargs) -> None:
        if self.wandb is None:
            return
        try:
            getattr(self.wandb, method)(*args, **kwargs)
        except Exception as error:
            self._fail(error)

    def _fail(self, error: Exception) -> None:
        log.warning("W&B logging failed, continuing without it: %s", error)
        self.wandb = None
