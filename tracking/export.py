"""Export a tracker bundle for the ONNX runtime: both networks as ONNX, the rest as JSON.

    python -m tracking.export --out exported/                       # the shipped weights
    python -m tracking.export --out exported/ --weights runs/demo_1/tracker.pt
    python track.py match.mp4 --runtime onnx --weights exported/    # then runs without importing torch

Writes ``proposal.onnx`` (stacks (b, t, h, w, 3) uint8 -> logits, offset), ``refine.onnx`` (crops (b, t, P, P, 3)
uint8 -> prob, xy, code) and ``tracker.json`` (stack and crop layouts, presence threshold, decoder parameters,
settings, the source bundle's sha256). The graphs are the inference heads of :mod:`tracking.torch_nets`, the
very modules the PyTorch runtime runs, traced by the classic exporter (``dynamo=False``: no onnxscript needed)
with a free batch axis.

Also ``refine.int8.onnx`` (dynamic int8 quantisation of the refiner's matrix products), which the ONNX runtime runs
by default where OpenVINO is not installed (docs/experiments.md); ``--fp32`` leaves it out. The proposal stays
float: its static int8 copy was 2.5 % faster end to end and moved the scores (commit cfcdaf2, docs/experiments.md).
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

from tracking.onnx_nets import INT8, MANIFEST
from tracking.torch_nets import ProposalInference, RefineInference
from tracking.weights import CACHE_DIR, load_bundle, resolve_weights, sha256_of

log = logging.getLogger(__name__)
OPSET = 17
FORMAT = 3  # of an exported folder: 2 added int8 copies, 3 dropped the proposal's (older cached exports are redone)


def _export(module: torch.nn.Module, example: torch.Tensor, path: Path, inputs: str, outputs: list[str]) -> None:
    axes = {name: {0: "batch"} for name in [inputs, *outputs]}
    with warnings.catch_warnings():  # the shape asserts of the forwards are constants of the traced graph: right
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(module.eval(), (example,), str(path), input_names=[inputs], output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def export(weights: str | Path | None, out: Path, int8: bool = True) -> dict:
    """Write ``out``/proposal.onnx, refine.onnx and tracker.json from a tracker bundle; returns the manifest.
    ``int8``: also the refiner's int8 copy (see the module's doc)."""
    path = resolve_weights(weights)
    bundle = load_bundle(path, "cpu")
    out.mkdir(parents=True, exist_ok=True)
    spec = bundle.proposal.spec
    stacks = torch.randint(0, 256, (2, spec.frames, spec.height, spec.width, 3), dtype=torch.uint8)
    _export(ProposalInference(bundle.proposal.model), stacks, out / "proposal.onnx", "stacks", ["logits", "offset"])
    manifest = {"proposal": {"spec": asdict(spec), "threshold": bundle.proposal.threshold,
                             "peak_radius": bundle.proposal.model.args.peak_radius},
                "refine": None, "decode": asdict(bundle.decode), "settings": bundle.settings,
                "source": {"weights": str(path), "sha256": sha256_of(path)}, "opset": OPSET, "format": FORMAT,
                "int8": {}}
    if bundle.refine is not None:
        crop = bundle.refine.spec
        crops = torch.randint(0, 256, (2, crop.frames, crop.crop, crop.crop, 3), dtype=torch.uint8)
        _export(RefineInference(bundle.refine.model), crops, out / "refine.onnx", "crops", ["prob", "xy", "code"])
        manifest["refine"] = {"spec": asdict(crop)}
    if int8 and bundle.refine is not None:
        from onnxruntime.quantization import QuantType, quantize_dynamic  # ~1 s to import: only an export needs it

        quantize_dynamic(out / "refine.onnx", out / INT8["refine"], weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Gemm"])
        manifest["int8"] = {"refine": INT8["refine"]}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def cached_export(path: Path) -> Path:
    """The exported folder of the tracker bundle at ``path`` (a local file, already resolved and checked by
    :func:`tracking.weights.resolve_weights`), exported once into the weights cache (keyed by the bundle's sha256),
    so ``Tracker.load(bundle.pt, runtime="onnx")`` pays the export (a few seconds) only the first time."""
    folder = CACHE_DIR / "onnx" / f"{sha256_of(path)[:16]}-{FORMAT}"
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
