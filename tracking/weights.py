"""Trained weights for inference: loading stage checkpoints and the tracker bundle that ships both stages, and
fetching bundles. Writing a bundle is training's: :mod:`engine.bundle`.

A *bundle* (``weights/tracker.pt``) holds each stage's constructor args and weights, the proposal's presence
threshold, the decoder's parameters and the tracker's settings: the tracker is rebuilt from it alone. Everything
is loaded with ``torch.load(weights_only=True)``, so a file can never run code, and checked on reading
(:func:`model.checkpoint.read_payload`): its contents must match the digest it carries and its weights,
threshold and decoder parameters must be finite.

Sources accepted by :func:`resolve_weights`, each checked against ``sha256`` when one is given: ``None`` or a path
to the shipped bundle (then checked against ``weights/SHA256SUMS`` unless another sha256 is given), a local path,
a Google Drive file id or URL, or any http(s) URL (fetched with gdown into ``~/.cache/tennis-tracker``). A download
is kept in that cache only once it passes every check; a cached copy that stops reading as good weights is deleted and
fetched again (one that only misses the given sha256 is refused and kept).
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

import torch

from data_prep.atomic import atomic_path
from data_prep.crops import CropSpec
from data_prep.paths import PROJECT_ROOT
from data_prep.stacks import StackSpec
from model.checkpoint import CheckpointError, check_stage, load_checkpoint, read_payload
from model.proposal import build_proposal
from model.refine import build_refine
from tracking.decode import DecodeParams
from tracking.nets import Bundle, ProposalStage, RefineStage  # noqa: F401 (their home before)

log = logging.getLogger(__name__)

WEIGHTS_DIR = PROJECT_ROOT / "weights"
DEFAULT_BUNDLE = WEIGHTS_DIR / "tracker.pt"
CHECKSUMS = WEIGHTS_DIR / "SHA256SUMS"
CACHE_DIR = Path(os.environ.get("TENNIS_TRACKER_CACHE", Path.home() / ".cache" / "tennis-tracker"))
DRIVE_ID = re.compile(r"[A-Za-z0-9_-]{20,}")


def _proposal_from(part: dict, path: Path, device) -> ProposalStage:
    model = build_proposal(part["model_args"])
    model.load_state_dict(part["model"])
    spec = StackSpec(**part["spec"])
    return ProposalStage(model.to(device).eval(), spec, float(part["threshold"]), Path(path))


def _refine_from(part: dict, path: Path, device) -> RefineStage:
    model = build_refine(part["model_args"])
    model.load_state_dict(part["model"])
    args = part["model_args"]
    return RefineStage(model.to(device).eval(), CropSpec(args["crop"], args["frames"] // 2), Path(path))


def proposal_part(payload: dict) -> dict:
    """The inference part of a proposal training checkpoint."""
    config = payload["config"]
    threshold = payload.get("metrics", {}).get("best_threshold", config["score_threshold"])
    return {"model_args": payload["model_args"], "model": payload["model"], "threshold": float(threshold),
            "spec": {"frames": config["frames"], "width": config["width"], "height": config["height"]}}


def load_proposal(path: Path, device: torch.device | str = "cpu") -> ProposalStage:
    """From a proposal training checkpoint or from the proposal part of a tracker bundle."""
    return _proposal_from(stage_part(path, "proposal"), path, device)


def stage_part(path: Path, stage: str) -> dict:
    """The inference part of ``stage`` (``model_args``, ``model``, and the proposal's threshold and spec): from a
    training checkpoint of that stage or from a tracker bundle holding it."""
    payload = read_payload(path)
    if payload["stage"] == "tracker":
        if not payload.get(stage):
            raise CheckpointError(f"{path}: this tracker bundle holds no {stage} stage")
        return payload[stage]
    checkpoint = load_checkpoint(path, stage, payload)
    return proposal_part(checkpoint) if stage == "proposal" else refine_part(checkpoint)


def load_refine(path: Path, device: torch.device | str = "cpu") -> RefineStage:
    return _refine_from(refine_part(load_checkpoint(path, "refine")), path, device)


def refine_part(payload: dict) -> dict:
    """The inference part of a refine training checkpoint."""
    return {"model_args": payload["model_args"], "model": payload["model"]}


def load_bundle(path: Path, device: torch.device | str = "cpu", payload: dict | None = None) -> Bundle:
    """The stages, decoder parameters and settings of a tracker bundle.

    ``payload``: its contents if already read with :func:`model.checkpoint.read_payload`, which checked them.
    """
    payload = read_payload(path, "tracker") if payload is None else check_stage(payload, path, "tracker")
    try:
        proposal = _proposal_from(payload["proposal"], path, device)
        refine = _refine_from(payload["refine"], path, device) if payload.get("refine") else None
        return Bundle(proposal, refine, DecodeParams(**payload["decode"]), dict(payload.get("settings", {})))
    except (KeyError, TypeError, RuntimeError) as error:
        raise CheckpointError(f"{path}: tracker bundle is incomplete or does not match the code: {error}") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def known_checksum(name: str) -> str | None:
    if not CHECKSUMS.exists():
        return None
    for line in CHECKSUMS.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == name:
            return parts[0]
    return None


def verify(path: Path, expected: str | None) -> Path:
    if expected is not None and sha256_of(path) != expected.lower():
        raise CheckpointError(f"{path}: sha256 {sha256_of(path)} does not match the expected {expected}; the file "
                              "is corrupt, truncated or not the published weights")
    return path


def resolve_weights(source: str | Path | None = None, sha256: str | None = None, cache_dir: Path = CACHE_DIR) -> Path:
    """A verified local path for ``source`` (see the module docstring); downloads are cached by name/id."""
    if source is None:
        if not DEFAULT_BUNDLE.is_file():
            raise CheckpointError(f"{DEFAULT_BUNDLE}: no shipped weights; train them with `bash run.sh demo` or "
                                  "pass --weights")
        source = DEFAULT_BUNDLE
    text = str(source)
    if Path(text).is_file():
        shipped = Path(text).resolve() == DEFAULT_BUNDLE.resolve()
        return verify(Path(text), sha256 or (known_checksum(DEFAULT_BUNDLE.name) if shipped else None))
    if text.startswith(("http://", "https://")) or DRIVE_ID.fullmatch(text):
        return _download(text, sha256, Path(cache_dir))
    raise CheckpointError(f"{text}: not a file, a Google Drive id or an http(s) URL")


def _usable(path: Path, sha256: str | None) -> Path:
    """``path`` once it matches ``sha256`` (when given) and reads as a checked checkpoint."""
    read_payload(verify(path, sha256))
    return path


def _download(source: str, sha256: str | None, cache_dir: Path) -> Path:
    drive = re.search(r"(?:/d/|id=)([A-Za-z0-9_-]{20,})", source)
    key = drive.group(1) if drive else (source if DRIVE_ID.fullmatch(source) else hashlib.sha1(source.encode())
                                        .hexdigest()[:16])
    target = cache_dir / f"{key}.pt"
    if target.is_file():
        try:
            read_payload(target)
        except CheckpointError as error:
            log.warning("cached download of %s is unusable, deleted; downloading again (%s)", source, error)
            target.unlink(missing_ok=True)
        else:  # good weights: a sha256 they do not match is refused, and the cached file kept (the sha256 may be wrong)
            return verify(target, sha256)
    _fetch(source, key if drive or DRIVE_ID.fullmatch(source) else None, target)
    try:
        _usable(target, sha256)
    except CheckpointError as error:
        # A bad download must not be served from the cache once the source is fixed.
        target.unlink(missing_ok=True)
        raise CheckpointError(f"{source}: the downloaded file is unusable and was not kept: {error}") from None
    if sha256 is None:
        log.warning("%s: no checksum given; downloaded file has sha256 %s", source, sha256_of(target))
    return target


def _fetch(source: str, drive_id: str | None, target: Path) -> None:
    """Download ``source`` (by ``drive_id`` when it is a Google Drive file) to ``target``, atomically."""
    import gdown

    try:
        with atomic_path(target) as tmp:
            # gdown resolves Drive share links and ids (confirm pages included) and plain URLs alike.
            by_id = {"id": drive_id} if drive_id else {"url": source}
            result = gdown.download(**by_id, output=str(tmp), quiet=True, timeout=60)
            if result is None or not tmp.is_file():
                raise CheckpointError(f"{source}: download failed")
    except CheckpointError:
        raise
    except Exception as error:  # gdown raises its own types and requests' ones
        raise CheckpointError(f"{source}: download failed: {error}") from None
