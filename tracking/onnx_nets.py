"""The tracker's networks run by onnxruntime from a folder written by ``python -m tracking.export``; no torch.

The folder holds ``proposal.onnx``, ``refine.onnx`` (absent for a proposal-only bundle) and ``tracker.json``: the
stack and crop layouts, the proposal's presence threshold, the decoder's parameters and the tracker's settings;
and, where the export made it, the refiner's int8 copy (``refine.int8.onnx``, listed under ``int8`` in the
manifest). Unless ``int8=False`` the refiner runs by OpenVINO where it is installed (:class:`OpenVinoRefiner`),
else that int8 copy by onnxruntime; the proposal always runs float.
:func:`load_onnx_bundle` gives the same :class:`tracking.nets.Bundle` that :func:`tracking.weights.load_bundle`
gives from a ``.pt`` bundle, so ``Tracker.load(folder, runtime="onnx")`` runs the same pipeline.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import onnxruntime

from data_prep.clips import DataError
from data_prep.crops import CropSpec
from data_prep.stack_spec import StackSpec
from tracking.decode import DecodeParams
from tracking.nets import Bundle, NumpyNet, ProposalStage, RefineStage

MANIFEST = "tracker.json"
INT8 = {"refine": "refine.int8.onnx"}


def session(path: Path) -> onnxruntime.InferenceSession:
    """A CPU inference session (onnxruntime's default intra-op threads: one per core)."""
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle pool threads sleep instead of spinning: a spinning thread holds a core that the frame reader thread
    # (Tracker read_ahead) and, on a shared machine, other work need; on 2 busy cores spinning cost 1.4x the CPU
    # time per frame (docs/experiments.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxProposal(NumpyNet):
    """stacks (b, t, h, w, 3) uint8 -> logits (b, t, h/4, w/4), offset (b, t, 2, h/4, w/4) (see tracking.nets)."""

    # Stacks per run the tracker sends: one stack's activations stay in cache; int8 on 2 cores, per frame: 2.24 ms
    # with 1, 2.57 with 2, 2.89 with 4 (docs/experiments.md)
    batch = 1

    def __init__(self, path: Path, frames: int, peak_radius: float):
        self.session, self.frames, self.peak_radius = session(path), frames, peak_radius

    def __call__(self, stacks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, offset = self.session.run(None, {"stacks": np.ascontiguousarray(stacks, np.uint8)})
        return logits, offset


class OnnxRefiner(NumpyNet):
    """crops (b, t, P, P, 3) uint8 -> prob (b,), xy (b, 2), code (b,) in 1..3 (see tracking.nets)."""

    def __init__(self, path: Path):
        self.session = session(path)

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        prob, xy, code = self.session.run(None, {"crops": np.ascontiguousarray(crops, np.uint8)})
        return prob, xy, code


class OpenVinoRefiner(NumpyNet):
    """The float refiner graph run by OpenVINO (same interface as :class:`OnnxRefiner`). Its CPU plugin computes in
    bfloat16 where the CPU has it (AVX512-BF16, AMX; float32 elsewhere): about twice as fast as onnxruntime's int8
    refiner here (1.29 against 2.64 ms per frame) and nearer float (probabilities within 0.016 against 0.025;
    docs/experiments.md). Imported only here: the torch-free install may leave openvino out."""

    def __init__(self, path: Path):
        import openvino

        model = openvino.Core().compile_model(str(path), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
        self.request = model.create_infer_request()

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        prob, xy, code = self.request.infer([np.ascontiguousarray(crops, np.uint8)]).values()
        return np.array(prob), np.array(xy), np.array(code, np.int64)


def has_openvino() -> bool:
    return importlib.util.find_spec("openvino") is not None


def load_onnx_bundle(folder: str | Path | None, int8: bool = True) -> Bundle:
    """The stages of an exported folder as numpy nets, with its decoder parameters and settings. ``int8``: the
    faster refiner, run by OpenVINO where it is installed (:class:`OpenVinoRefiner`), else the folder's int8 copy
    where it has one; False: all float, by onnxruntime."""
    if folder is None:
        raise DataError("--weights", "the ONNX runtime needs the folder written by python -m tracking.export")
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise DataError(folder, f"no {MANIFEST}: not a folder written by python -m tracking.export")
    manifest = json.loads((folder / MANIFEST).read_text())
    part = manifest["proposal"]
    spec = StackSpec(**part["spec"])
    path = folder / "proposal.onnx"  # float always (an older export's proposal.int8.onnx is not used)
    proposal = ProposalStage(OnnxProposal(path, spec.frames, part["peak_radius"]), spec, float(part["threshold"]), path)
    refine = None
    if manifest.get("refine"):
        if int8 and has_openvino():
            path = folder / "refine.onnx"
            net = OpenVinoRefiner(path)
        else:  # the int8 copy where the export made one (not with --fp32)
            path = folder / (manifest.get("int8", {}).get("refine", "refine.onnx") if int8 else "refine.onnx")
            net = OnnxRefiner(path)
        refine = RefineStage(net, CropSpec(**manifest["refine"]["spec"]), path)
    return Bundle(proposal, refine, DecodeParams(**manifest["decode"]), dict(manifest.get("settings", {})))
