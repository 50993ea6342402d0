"""Reading saved checkpoints and choosing the device a model runs on: the part of checkpoint handling that both
inference (``tracking/``) and training (``engine/``) need, so it sits below both.

Loading uses ``torch.load(weights_only=True)``: a checkpoint is data, never code, so one from an untrusted source
cannot run anything. Every file read is then checked: its ``digest`` entry (:func:`content_digest`, sha256 over
everything else it holds in a canonical order) must match its contents, so a flipped byte that still unpickles
is caught without an external checksum; and the entries that decide inference (weights, thresholds, decoder
parameters, settings) must be finite. Writing checkpoints (with optimiser and RNG states) is training's:
:mod:`engine.checkpoint`.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

DIGEST = "digest"  # the payload entry holding content_digest() of the rest
# What decides a training checkpoint's inference behaviour; its optimiser, RNG states and metrics do not (a metric
# may well be NaN, a mean error over no detections). A tracker bundle is checked whole, bar its provenance.
STAGE_ENTRIES = ("model", "model_args", "config")


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated, corrupt or of the wrong kind; the message names the file."""


def read_payload(path: Path, stage: str | None = None) -> dict:
    """Read a saved dict with ``weights_only=True`` and check it (see the module docstring); ``stage`` checks its
    ``stage`` entry."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for truncated/corrupt zip archives
        # Never pass on torch's advice to load the file with weights_only=False (code execution).
        if refused := re.search(r"Unsupported global: GLOBAL (\S+)", str(error)):
            raise CheckpointError(f"{path}: holds Python objects a weights-only load refuses ({refused.group(1)}): "
                                  "not weights this project wrote, and never loaded as code") from None
        reason = re.search(r"Unpickler error: ([^\n]*)", str(error))
        reason = reason.group(1) if reason else str(error) if "weights_only" not in str(error) else "unpickling failed"
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt?): {reason}") from None
    return check_contents(check_stage(payload, path, stage), path)


def check_stage(payload: dict, path: Path, stage: str | None = None) -> dict:
    """``payload`` if it is a checkpoint of this project (of ``stage`` when given), else :class:`CheckpointError`."""
    if not isinstance(payload, dict) or "stage" not in payload:
        raise CheckpointError(f"{path}: not a checkpoint of this project (no stage entry)")
    if stage is not None and payload["stage"] != stage:
        raise CheckpointError(f"{path}: checkpoint of stage {payload['stage']!r}, expected {stage!r}")
    return payload


def check_contents(payload: dict, path: Path) -> dict:
    """``payload`` if its digest matches and its behaviour-deciding entries are finite, else :class:`CheckpointError`.

    A tracker bundle without a digest (written before digests were recorded) passes with a warning; a training
    checkpoint without one passes silently.
    """
    if DIGEST in payload:
        if payload[DIGEST] != content_digest(payload):
            raise CheckpointError(f"{path}: contents do not match their digest: the file is corrupt")
    elif payload.get("stage") == "tracker":
        log.warning("%s: tracker bundle without a content digest (an older file): its contents are not verified; "
                    "rewrite it with this code to add one", path)
    if payload.get("stage") == "tracker":
        entries = {k: v for k, v in payload.items() if k not in (DIGEST, "provenance")}
    else:
        entries = {k: payload[k] for k in STAGE_ENTRIES if k in payload}
        if "best_threshold" in (payload.get("metrics") or {}):
            entries["metrics.best_threshold"] = payload["metrics"]["best_threshold"]
    bad = next(_non_finite(entries, ""), None)
    if bad is not None:
        raise CheckpointError(f"{path}: {bad} holds NaN or inf: the weights are unusable")
    return payload


def _non_finite(value, name: str) -> Iterator[str]:
    """The dotted names of the entries under ``value`` that are non-finite floats or tensors holding one."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _non_finite(item, f"{name}[{i}]")
    elif isinstance(value, torch.Tensor):
        if (value.is_floating_point() or value.is_complex()) and not torch.isfinite(value).all():
            yield name
    elif isinstance(value, float) and not math.isfinite(value):
        yield name


def content_digest(payload: dict) -> str:
    """sha256 over every entry of ``payload`` but :data:`DIGEST`: keys in sorted order, tensors as dtype, shape and
    raw bytes, numbers and strings tagged by type. Numpy values count as the tensors / Python numbers that
    :func:`engine.checkpoint.save_checkpoint` turns them into, so the digest of a payload before saving equals
    that of the file read back."""
    digest = hashlib.sha256()
    _feed(digest, {k: v for k, v in payload.items() if k != DIGEST})
    return digest.hexdigest()


def _feed(digest, value) -> None:
    def tag(kind: bytes, size: int) -> None:
        digest.update(kind + struct.pack("<q", size))

    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value.copy())
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        tag(b"d", len(value))
        for key in sorted(value, key=lambda k: (type(k).__name__, str(k))):
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        tag(b"l", len(value))
        for item in value:
            _feed(digest, item)
    elif isinstance(value, torch.Tensor):
        header = f"{value.dtype}{tuple(value.shape)}".encode()  # fixes the number of raw bytes that follow
        tag(b"t", len(header))
        digest.update(header)
        digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    elif isinstance(value, bool) or value is None:
        tag(b"b", {None: 2, False: 0, True: 1}[value])
    elif isinstance(value, int):
        text = str(value).encode()
        tag(b"i", len(text))
        digest.update(text)
    elif isinstance(value, float):
        tag(b"f", 8)
        digest.update(struct.pack("<d", value))
    elif isinstance(value, (str, bytes)):
        data = value.encode() if isinstance(value, str) else value
        tag(b"s" if isinstance(value, str) else b"y", len(data))
        digest.update(data)
    else:  # the few other types weights_only loading admits (torch.dtype, torch.device, ...)
        text = f"{type(value).__name__}:{value!r}".encode()
        tag(b"r", len(text))
        digest.update(text)


def load_checkpoint(path: Path, stage: str | None = None, payload: dict | None = None) -> dict:
    """A training checkpoint: model weights, the model's constructor args, config, optimiser and RNG states.

    ``payload``: the file's contents when already read with :func:`read_payload` (each file is ``torch.load``-ed
    and checked once).
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
