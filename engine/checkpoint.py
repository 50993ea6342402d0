"""Checkpoints: model, optimiser, scheduler, RNG states, config and model args in one file, written atomically.

Loading uses ``torch.load(weights_only=True)``: a checkpoint is data, never code, so one from an untrusted source
cannot run anything. Everything saved is therefore tensors and plain Python values.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated, corrupt or of the wrong kind; the message names the file."""


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write ``payload`` (numpy values become tensors / Python numbers so ``weights_only`` loading accepts them)."""
    payload = _plain(payload)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    # A process killed mid-save (SIGKILL runs no cleanup) leaves its temp file; the next save sweeps it away.
    for stale in path.parent.glob(".*.pt.*.tmp"):
        if not stale.name.endswith(f".{os.getpid()}.tmp"):
            stale.unlink(missing_ok=True)


def read_payload(path: Path, stage: str | None = None) -> dict:
    """Read a saved dict with ``weights_only=True``; ``stage`` checks its ``stage`` entry."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for truncated/corrupt zip archives
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt?): {error}") from None
    if not isinstance(payload, dict) or "stage" not in payload:
        raise CheckpointError(f"{path}: not a checkpoint of this project (no stage entry)")
    if stage is not None and payload["stage"] != stage:
        raise CheckpointError(f"{path}: checkpoint of stage {payload['stage']!r}, expected {stage!r}")
    return payload


def load_checkpoint(path: Path, stage: str | None = None) -> dict:
    """A training checkpoint: model weights, the model's constructor args, config, optimiser and RNG states."""
    payload = read_payload(path, stage)
    if "model" not in payload or "model_args" not in payload:
        raise CheckpointError(f"{path}: not a training checkpoint (no model/model_args)")
    return payload


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    return value


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(legacy=False), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(_as_tuple(state["python"]))
    numpy_state = state["numpy"]
    numpy_state["state"]["key"] = np.asarray(numpy_state["state"]["key"], np.uint32)
    np.random.set_state(numpy_state)
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value):
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
