"""What a run folder holds, read back for review: training runs (``runs/proposal_N``, ``runs/refine_N``) and
evaluation runs (``runs/exp_N``) alike.

Everything comes from the local files the run wrote (no W&B needed): ``config.json``, ``log.jsonl`` (per-step
losses and learning rate, per-epoch validation), ``summary.json``, ``report.json`` (evaluation), and ``media/``
(validation images, the overlay video, per-clip and per-frame tables; see :mod:`engine.logger`).
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from data_prep.clips import Clip, DataError, discover_clips, read_frame
from data_prep.paths import RUNS_DIR

log = logging.getLogger(__name__)

WANDB_RUN = re.compile(r"(?:offline-)?run-\d{8}_\d{6}-(\w+)")


@dataclass
class RunData:
    """One run folder, read back.

    history: the ``log.jsonl`` records in order (``step``, ``train/...``, ``val/...``, ``epoch``)
    per_clip: one dict per clip (``clip``, ``frames``, ``sibatracc``, ``precision``, ``recall``, ``f1``, ...)
    frames: one dict per scored frame (``clip``, ``frame``, ``error`` and, when the run logged them, the label
        ``gt_code``, ``gt_x``, ``gt_y`` and the prediction ``code``, ``x``, ``y``)
    images: validation images by name (``media/*.png``); videos: browser-playable overlays (``media/*.webm``)
    breakdown: the evaluation's failure breakdown (:mod:`evaluation.breakdown`), empty for a training run
    """

    path: Path
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    per_clip: list[dict] = field(default_factory=list)
    frames: list[dict] = field(default_factory=list)
    images: dict[str, Path] = field(default_factory=dict)
    videos: list[Path] = field(default_factory=list)
    breakdown: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stage(self) -> str:
        return str(self.config.get("stage") or ("evaluate" if (self.path / "report.json").is_file() else "?"))

    @property
    def sibatracc(self) -> float:
        """The run's headline figure: SiBaTrAcc of an evaluation, the best validation score of a training."""
        for key in ("sibatracc", "best_score", "last_score"):
            if isinstance(self.summary.get(key), (int, float)):
                return float(self.summary[key])
        return float("nan")

    @property
    def wandb_ids(self) -> list[str]:
        """IDs of the W&B runs logged into this folder (offline or online), oldest first."""
        folders = sorted((self.path / "wandb").glob("*run-*"))
        return [m.group(1) for p in folders if p.is_dir() and (m := WANDB_RUN.fullmatch(p.name))]

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of every ``log.jsonl`` record holding a finite ``key``."""
        points = [(r["step"], r[key]) for r in self.history if _finite(r.get(key))]
        steps, values = zip(*points) if points else ((), ())
        return np.asarray(steps, np.float64), np.asarray(values, np.float64)

    def clip(self, name: str) -> Clip | None:
        """The labelled clip ``name`` from the run's data root, or None when it cannot be found here."""
        root = self.config.get("data_root")
        match = re.fullmatch(r"game(\d+)_clip(\d+)", name)
        if not root or not match or not Path(root).is_dir():
            return None
        try:
            clips = discover_clips(Path(root), [int(match.group(1))])
        except DataError as error:
            log.warning("%s: %s", self.name, error)
            return None
        return next((c for c in clips if c.name == name), None)

    def frame_image(self, clip_name: str, frame: int) -> np.ndarray | None:
        """Full-resolution RGB frame of a scored clip, or None when the data is not available."""
        clip = self.clip(clip_name)
        return read_frame(clip.frames[frame]) if clip is not None and frame < len(clip) else None


RUN_FILES = ("config.json", "log.jsonl", "report.json", "summary.json")  # a run folder holds at least one


def is_run_folder(path: Path) -> bool:
    return any((Path(path) / name).exists() for name in RUN_FILES)


def run_folders(path: Path) -> list[Path]:
    """The run folders ``path`` names: itself, or else the run folders directly inside it (a demo's ``runs/demo_N``
    holds ``proposal``, ``refine`` and ``eval``); raises FileNotFoundError naming ``path`` when there are none."""
    path = Path(path)
    if is_run_folder(path):
        return [path]
    inside = sorted(p for p in path.iterdir() if p.is_dir() and is_run_folder(p)) if path.is_dir() else []
    if not inside:
        what = "no such folder" if not path.exists() else f"not a run folder (no {', '.join(RUN_FILES)})"
        raise FileNotFoundError(f"{path}: {what}, nor a folder of run folders")
    return inside


def load_run(path: Path) -> RunData:
    """Read a run folder; raises FileNotFoundError when it holds none of the files a run writes."""
    path = Path(path)
    if not is_run_folder(path):
        raise FileNotFoundError(f"{path}: not a run folder (no {', '.join(RUN_FILES)})")
    run = RunData(path, config=_json(path / "config.json"), history=_jsonl(path / "log.jsonl"),
                  summary=_json(path / "summary.json"))
    report = _json(path / "report.json")
    if report:
        run.summary = {**report.get("overall", {}), **run.summary}
        run.breakdown = report.get("breakdown") or {}
    media = path / "media"
    run.per_clip = _table(_newest(media.glob("*per_clip.csv"))) or [
        {k: v for k, v in clip.items() if k != "frame_errors"} for clip in report.get("clips", [])]
    run.frames = _table(_newest(media.glob("*frame_errors.csv"))) or [
        {"clip": clip["clip"], "frame": i, "error": e} for clip in report.get("clips", [])
        for i, e in enumerate(clip.get("frame_errors", []))]
    run.images = {p.stem: p for p in sorted(media.glob("*.png"))}
    run.videos = sorted(media.glob("*.webm"))
    return run


def find_runs(spec: str | None = None, root: Path = RUNS_DIR) -> list[Path]:
    """Run folders to review: ``spec`` lists them (separated by ``os.pathsep``), else the newest run of each
    kind under ``root`` (training runs by stage, then evaluation runs)."""
    if spec:
        return [Path(p) for p in spec.split(os.pathsep) if p]
    newest: dict[str, Path] = {}
    candidates = [p for p in Path(root).glob("*") if (p / "config.json").is_file() or (p / "report.json").is_file()]
    for path in sorted(candidates, key=lambda p: p.stat().st_mtime):
        newest[_json(path / "config.json").get("stage", "evaluate")] = path
    if not newest:
        raise FileNotFoundError(f"no run folders under {root}: train or evaluate first, or name the runs")
    return list(newest.values())


def _json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        log.warning("%s: unreadable (%s)", path, error)
        return {}


def _jsonl(path: Path) -> list[dict]:
    """Records of a JSON-lines file; a line cut short by a killed run is skipped."""
    records = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def _newest(paths) -> Path | None:
    paths = sorted(paths, key=lambda p: p.stat().st_mtime)
    return paths[-1] if paths else None


def _table(path: Path | None) -> list[dict]:
    """A CSV table with numbers parsed back (``nan`` included)."""
    if path is None:
        return []
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
