"""Run logging: a JSON line per event in ``log.jsonl`` and validation media in ``media/`` always, and Weights & Biases
when enabled.

W&B mode (:func:`wandb_mode`): offline by default, online with ``--wandb online`` or when ``WANDB_API_KEY`` is set,
off with ``--wandb off`` (or ``WANDB_MODE=disabled``). W&B is imported lazily and never fatal: any failure is
logged once and the run carries on with the local files, which hold everything the report command needs.

Media, as a stage's validation returns them (``train.py`` passes them to :meth:`RunLogger.media`):

* ``images``: a list of RGB arrays (H, W, 3) uint8, or of ``(name, array)``; -> ``media/{name}.png``
* ``videos``: a list of mp4/webm paths, or of objects with ``name`` and ``write(path) -> Path`` (rendered only
  when worth it, see :meth:`RunLogger.media`); -> ``media/{name}.webm``
* ``tables``: ``{name: (columns, rows)}`` of plain values; -> ``media/{name}.csv``

The files in ``media/`` hold the latest of each; W&B keeps every step.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from data_prep.atomic import write_text_atomic
from data_prep.paths import WANDB_PROJECT

log = logging.getLogger(__name__)


def wandb_mode(requested: str = "offline", environ: dict | None = None) -> str:
    """``off``, ``online`` or ``offline`` from the ``--wandb`` flag and the environment.

    ``off`` (flag, or ``WANDB_MODE=disabled``) wins, then an explicit ``online``, then a configured key
    (``WANDB_API_KEY``) makes the default go online, then ``WANDB_MODE``; otherwise offline.
    """
    environ = os.environ if environ is None else environ
    env_mode = environ.get("WANDB_MODE", "").lower()
    if requested not in ("offline", "online", "off"):
        raise ValueError(f"--wandb must be offline, online or off, got {requested!r}")
    if requested == "off" or env_mode in ("disabled", "off"):
        return "off"
    if requested == "online" or environ.get("WANDB_API_KEY"):
        return "online"
    return "online" if env_mode == "online" else "offline"


class RunLogger:
    """Everything a run reports, to ``run_dir`` and to a W&B run grouped by ``stage`` and tagged with ``tags``."""

    def __init__(self, run_dir: Path, config: dict, stage: str, mode: str = "offline", tags: list[str] | None = None,
                 resume_step: int | None = None):
        """``resume_step``: a run resumed from the checkpoint of this step; the rows ``log.jsonl`` holds beyond it
        (written after that checkpoint by the process that was stopped) are dropped, since the resumed run logs
        those steps again, so the log ends up as an uninterrupted run's."""
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.media_dir = self.run_dir / "media"
        path = self.run_dir / "log.jsonl"
        rows = truncate_log(path, resume_step) if resume_step is not None else []
        self.file = open(path, "a")
        self.last_epoch = int(config.get("epochs", 0)) - 1
        self.best = max((row["val/score"] for row in rows if "val/score" in row), default=float("-inf"))
        self.video_due = True  # until a validation score says otherwise (evaluate runs always render theirs)
        self.wandb = None
        self.mode = wandb_mode(mode)
        if self.mode == "off":
            return
        os.environ.setdefault("WANDB_SILENT", "true")
        for attempt in (self.mode, "offline") if self.mode == "online" else (self.mode,):
            try:
                import wandb

                self.wandb = wandb.init(project=WANDB_PROJECT, group=stage, job_type=stage, config=config,
                                        dir=str(self.run_dir), mode=attempt, tags=[t[:64] for t in tags or [] if t],
                                        name=self.run_dir.name, reinit="finish_previous",
                                        settings=wandb.Settings(init_timeout=60, console="off"))
                self.mode = attempt
                return
            except Exception as error:  # W&B must never stop a run
                log.warning("W&B %s failed: %s", attempt, error)
        self.mode = "off"

    def log(self, metrics: dict, step: int) -> None:
        numbers = (int, float, np.floating, np.integer)
        clean = {k: (float(v) if isinstance(v, numbers) else v) for k, v in metrics.items()}
        self.file.write(json.dumps({"step": step, "time": time.time(), **clean}) + "\n")
        self.file.flush()
        if "val/score" in clean:  # a validation: its video is worth rendering when it is the best or the last
            self.video_due = clean["val/score"] > self.best or clean.get("epoch") == self.last_epoch
            self.best = max(self.best, clean["val/score"])
        self._wandb("log", clean, step=step)

    def image(self, key: str, image: np.ndarray, step: int, caption: str = "") -> None:
        self._mirror_image(key, image)
        if self.wandb is not None:
            import wandb

            self._wandb("log", {key: wandb.Image(image, caption=caption or None)}, step=step)

    def media(self, media: dict, step: int, prefix: str = "val") -> None:
        """Log validation media (formats in the module docstring) under ``{prefix}/{name}``.

        Videos are rendered only when the last logged ``val/score`` is the best so far or comes from the last
        epoch (and always when no score was logged), so training epochs stay fast.
        """
        for i, item in enumerate(media.get("images", [])):
            name, image = item if isinstance(item, tuple) else (f"overlay_{i}", item)
            self.image(f"{prefix}/{name}", image, step, caption=name)
        if self.video_due:
            for video in media.get("videos", []):
                self.video(f"{prefix}/{_video_name(video)}", video, step)
        for name, (columns, rows) in media.get("tables", {}).items():
            self.table(f"{prefix}/{name}", columns, rows, step)

    def video(self, key: str, video, step: int) -> None:
        """``video``: an mp4/webm path, or an object with ``write(path)``; copied or rendered into ``media/``."""
        path = self.media_dir / f"{_slug(key)}{Path(video).suffix if isinstance(video, (str, Path)) else '.webm'}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(video, (str, Path)):
                if Path(video).resolve() != path.resolve():
                    shutil.copyfile(video, path)
            else:
                video.write(path)
        except Exception as error:  # a video that cannot be written must not stop training
            log.warning("video %s not written: %s", key, error)
            return
        if self.wandb is not None:
            import wandb

            self._wandb("log", {key: wandb.Video(str(path))}, step=step)

    def table(self, key: str, columns: list[str], rows: list[list], step: int) -> None:
        path = self.media_dir / f"{_slug(key)}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows(rows)
        if self.wandb is not None:
            import wandb

            self._wandb("log", {key: wandb.Table(columns=list(columns), data=[list(row) for row in rows])}, step=step)

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

    def _mirror_image(self, key: str, image: np.ndarray) -> None:
        self.media_dir.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(self.media_dir / f"{_slug(key)}.png"), cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR))

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


def truncate_log(path: Path, step: int) -> list[dict]:
    """Keep the rows of the ``log.jsonl`` at ``path`` up to ``step`` (rewritten atomically) and return them.

    A line that does not parse (the last one of a process killed while writing it) is dropped too.
    """
    if not path.exists():
        return []
    lines, rows = [], []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and row.get("step", 0) <= step:
            lines.append(line + "\n")
            rows.append(row)
    write_text_atomic(path, "".join(lines))
    return rows


def _video_name(video) -> str:
    return Path(video).stem if isinstance(video, (str, Path)) else video.name


def _slug(key: str) -> str:
    """``val/overlay_0`` -> ``val_overlay_0``: a media key as a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("_")
