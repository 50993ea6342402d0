"""Export a tracker bundle for the ONNX runtime: both networks as ONNX, the rest as JSON.

    python -m tracking.export --out exported/                       # the shipped weights
    python -m tracking.export --out exported/ --weights runs/demo_1/tracker.pt
    python track.py match.mp4 --runtime onnx --weights exported/    # then runs without importing torch

Writes ``proposal.onnx`` (stacks (b, t, h, w, 3) uint8 -> logits, offset), ``refine.onnx`` (crops (b, t, P, P, 3)
uint8 -> prob, xy, code) and ``tracker.json`` (stack and crop layouts, presence threshold, decoder parameters,
settings, the source bundle's sha256). The graphs are the inference heads of :mod:`tracking.torch_nets`, the
very modules the PyTorch runtime runs, traced by the classic exporter (``dynamo=False``: no onnxscript needed)
with a free batch axis.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

import torch

from tracking.onnx_nets import MANIFEST
from tracking.torch_nets import ProposalInference, RefineInference
from tracking.weights import CACHE_DIR, load_bundle, resolve_weights, sha256_of

log = logging.getLogger(__name__)
OPSET = 17


def _export(module: torch.nn.Module, example: torch.Tensor, path: Path, inputs: str, outputs: list[str]) -> None:
    axes = {name: {0: "batch"} for name in [inputs, *outputs]}
    with warnings.catch_warnings():  # the shape asserts of the forwards are constants of the traced graph: right
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(module.eval(), (example,), str(path), input_names=[inputs], output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def export(weights: str | Path | None, out: Path) -> dict:
    """Write ``out``/proposal.onnx, refine.onnx and tracker.json from a tracker bundle; returns the manifest."""
    path = resolve_weights(weights)
    bundle = load_bundle(path, "cpu")
    out.mkdir(parents=True, exist_ok=True)
    spec = bundle.proposal.spec
    stacks = torch.randint(0, 256, (2, spec.frames, spec.height, spec.width, 3), dtype=torch.uint8)
    _export(ProposalInference(bundle.proposal.model), stacks, out / "proposal.onnx", "stacks", ["logits", "offset"])
    manifest = {"proposal": {"spec": asdict(spec), "threshold": bundle.proposal.threshold,
                             "peak_radius": bundle.proposal.model.args.peak_radius},
                "refine": None, "decode": asdict(bundle.decode), "settings": bundle.settings,
                "source": {"weights": str(path), "sha256": sha256_of(path)}, "opset": OPSET}
    if bundle.refine is not None:
        crop = bundle.refine.spec
        crops = torch.randint(0, 256, (2, crop.frames, crop.crop, crop.crop, 3), dtype=torch.uint8)
        _export(RefineInference(bundle.refine.model), crops, out / "refine.onnx", "crops", ["prob", "xy", "code"])
        manifest["refine"] = {"spec": asdict(crop)}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def cached_export(path: Path) -> Path:
    """The exported folder of the tracker bundle at ``path`` (a local file, already resolved and checked by
    :func:`tracking.weights.resolve_weights`), exported once into the weights cache (keyed by the bundle's sha256),
    so ``Tracker.load(bundle.pt, runtime="onnx")`` pays the export (a few seconds) only the first time."""
    folder = CACHE_DIR / "onnx" / sha256_of(path)[:16]
    if not (folder / MANIFEST).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))  # complete, or not there at all
        try:
            export(path, tmp)
            try:
                os.replace(tmp, folder)
            except OSError:  # another process exported the same bundle first
                if not (folder / MANIFEST).is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


if __name__ == "__main__":  # the command line is cli/export.py
    from cli.export import main

    main()
