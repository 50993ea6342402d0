"""Reading saved checkpoints and choosing the device a model runs on: the part of checkpoint handling that both
inference (``tracking/``) and training (``engine/``) need, so it sits below both.

Loading uses ``torch.load(weights_only=True)``: a checkpoint is data, never code, so one from an untrusted source
cannot run anything. Writing checkpoints (with optimiser and RNG states) is training's: :mod:`engine.checkpoint`.
"""
from __future__ import annotations

from pathlib import Path

import torch


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated, corrupt or of the wrong kind; the message names the file."""


def read_payload(path: Path, stage: str | None = None) -> dict:
    """Read a saved dict with ``weights_only=True``; ``stage`` checks its ``stage`` entry."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for truncated/corrupt zip archives
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt?): {error}") from None
    return check_stage(payload, path, stage)


def check_stage(payload: dict, path: Path, stage: str | None = None) -> dict:
    """``payload`` if it is a checkpoint of this project (of ``stage`` when given), else :class:`CheckpointError`."""
    if not isinstance(payload, dict) or "stage" not in payload:
        raise CheckpointError(f"{path}: not a checkpoint of this project (no stage entry)")
    if stage is not None and payload["stage"] != stage:
        raise CheckpointError(f"{path}: checkpoint of stage {payload['stage']!r}, expected {stage!r}")
    return payload


def load_checkpoint(path: Path, stage: str | None = None, payload: dict | None = None) -> dict:
    """A training checkpoint: model weights, the model's constructor args, config, optimiser and RNG states.

    ``payload``: the file's contents when already read (each file is ``torch.load``-ed once).
    """
    payload = read_payload(path, stage) if payload is None else check_stage(payload, path, stage)
    if "model" not in payload or "model_args" not in payload:
        raise CheckpointError(f"{path}: not a training checkpoint (no model/model_args)")
    return payload


def resolve_device(name: str) -> torch.device:
    """``auto`` = CUDA when present, else the CPU; any other name as torch spells it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
