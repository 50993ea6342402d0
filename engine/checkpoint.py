"""Training checkpoints: model, optimiser, scheduler, RNG states, config and model args in one file, written
atomically; seeding.

They are read back with :func:`model.checkpoint.load_checkpoint` (``torch.load(weights_only=True)``: a checkpoint is
data, never code), so everything saved is tensors and plain Python values.
"""
from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import torch

from data_prep.atomic import atomic_path, sweep_dead_temps


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write ``payload`` (numpy values become tensors / Python numbers so ``weights_only`` loading accepts them)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        # Serialised in memory first: torch's zip writer reports a full disk as a RuntimeError ("unexpected pos"),
        # a plain file write as the OSError (ENOSPC) it is, named by atomic_path.
        buffer = io.BytesIO()
        torch.save(_plain(payload), buffer)
        tmp.write_bytes(buffer.getbuffer())
    # A process killed mid-save (SIGKILL runs no cleanup) leaves its temp file; the next save sweeps it away. Those
    # of live processes stay: another process may be saving into this folder right now.
    sweep_dead_temps(path.parent)


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
