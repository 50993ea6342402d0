"""Export a tracker bundle for the ONNX runtime: both networks as ONNX, the rest as JSON.

    python -m tracking.export --out exported/                       # the shipped weights
    python -m tracking.export --out exported/ --weights runs/demo_1/tracker.pt
    python track.py match.mp4 --runtime onnx --weights exported/    # then runs without importing torch
    python -m tracking.export --out exported/ --calibration data/synthetic/game3/clip1 match.mp4

Writes ``proposal.onnx`` (stacks (b, t, h, w, 3) uint8 -> logits, offset), ``refine.onnx`` (crops (b, t, P, P, 3)
uint8 -> prob, xy, code) and ``tracker.json`` (stack and crop layouts, presence threshold, decoder parameters,
settings, the source bundle's sha256). The graphs are the inference heads of :mod:`tracking.torch_nets`, the
very modules the PyTorch runtime runs, traced by the classic exporter (``dynamo=False``: no onnxscript needed)
with a free batch axis.

Also int8 copies, which the ONNX runtime runs by default (about twice as fast here, same accuracy:
docs/experiments.md): ``refine.int8.onnx`` (dynamic quantisation of the matrix products: no data needed) and
``proposal.int8.onnx`` (static quantisation of the convolutions, QDQ, activation ranges calibrated on frames). The
shipped weights come with theirs (``weights/proposal_int8.onnx``, made by the second command above from the
embedded synthetic validation games and unlabelled real broadcasts); another bundle gets one only from
``--calibration`` frames, else its proposal stays float. ``--fp32`` writes no int8 copies.
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

import numpy as np
import torch

from data_prep.clips import FULL_SIZE, read_frame
from data_prep.stack_spec import StackSpec, clip_stacks
from data_prep.video import iter_video_frames, resize_frame
from tracking.candidates import stack_frames
from tracking.onnx_nets import INT8, MANIFEST
from tracking.torch_nets import ProposalInference, RefineInference
from tracking.weights import CACHE_DIR, WEIGHTS_DIR, known_checksum, load_bundle, resolve_weights, sha256_of, verify

log = logging.getLogger(__name__)
OPSET = 17
FORMAT = 2  # of an exported folder: 2 added the int8 copies (cached exports of format 1 are exported again)
SHIPPED_INT8 = WEIGHTS_DIR / "proposal_int8.onnx"  # the shipped bundle's int8 proposal (its source sha256 inside)


def _export(module: torch.nn.Module, example: torch.Tensor, path: Path, inputs: str, outputs: list[str]) -> None:
    axes = {name: {0: "batch"} for name in [inputs, *outputs]}
    with warnings.catch_warnings():  # the shape asserts of the forwards are constants of the traced graph: right
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(module.eval(), (example,), str(path), input_names=[inputs], output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def export(weights: str | Path | None, out: Path, int8: bool = True, calibration: list[Path] | None = None) -> dict:
    """Write ``out``/proposal.onnx, refine.onnx and tracker.json from a tracker bundle; returns the manifest.

    ``int8``: also the int8 copies (see the module's doc); ``calibration``: clip folders (frames) or videos whose
    frames calibrate the int8 proposal (default: the shipped one for the shipped bundle, none for another).
    """
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
    if int8:
        manifest["int8"] = quantize(out, manifest, calibration)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def quantize(out: Path, manifest: dict, calibration: list[Path] | None) -> dict[str, str]:
    """The int8 copies of the exported networks in ``out``: {"proposal": file, "refine": file}, each if made."""
    from onnxruntime.quantization import QuantType, quantize_dynamic  # here: ~1 s to import, only an export needs it

    made = {}
    sha = manifest["source"]["sha256"]
    if calibration:
        quantize_proposal(out / "proposal.onnx", out / INT8["proposal"], calibration_stacks(calibration, manifest),
                          sha)
    elif SHIPPED_INT8.is_file() and _source_sha(SHIPPED_INT8) == sha:
        shutil.copyfile(verify(SHIPPED_INT8, known_checksum(SHIPPED_INT8.name)), out / INT8["proposal"])
    if (out / INT8["proposal"]).is_file():
        made["proposal"] = INT8["proposal"]
    if manifest["refine"] is not None:
        quantize_dynamic(out / "refine.onnx", out / INT8["refine"], weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Gemm"])
        made["refine"] = INT8["refine"]
    return made


def calibration_stacks(sources: list[Path], manifest: dict, per_source: int = 48) -> np.ndarray:
    """Proposal input stacks (n, t, h, w, 3) uint8 from the first ``per_source`` frames of each clip folder (its
    .jpg/.png frames in name order) and of each video (from its frame 60: past a broadcast's opening titles)."""
    spec = StackSpec(**manifest["proposal"]["spec"])
    clips = []
    for source in map(Path, sources):
        if source.is_dir():
            paths = sorted(p for p in source.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
            clips.append([read_frame(p) for p in paths[:per_source]])
        else:
            frames = list(iter_video_frames(source, per_source, start=60))
            width = FULL_SIZE[0]  # the tracker's working width (tracking.tracker.Tracker._work_size)
            clips.append([resize_frame(f, (width, round(f.shape[0] * width / f.shape[1]))) for f in frames])
    stacks = []
    for frames in clips:
        low = [resize_frame(f, spec.size) for f in frames]
        stacks.append(stack_frames(low, clip_stacks(len(low), spec.frames), spec.frames))
    return np.concatenate(stacks)


def quantize_proposal(src: Path, dst: Path, stacks: np.ndarray, source_sha256: str, batch: int = 4) -> None:
    """Static int8 quantisation of the proposal's convolutions (per-channel int8 weights, uint8 activations, QDQ),
    the activation ranges the min/max over ``stacks``; the source bundle's sha256 goes into the model's metadata."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"stacks": stacks[i:i + batch]} for i in range(0, len(stacks), batch)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"])
    model = onnx.load(str(dst))
    onnx.helper.set_model_props(model, {"source_sha256": source_sha256})
    onnx.save(model, str(dst))


def _source_sha(path: Path) -> str | None:
    import onnx

    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return props.get("source_sha256")


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
