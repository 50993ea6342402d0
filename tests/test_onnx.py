"""The ONNX runtime: python -m tracking.export, then the same tracks as PyTorch's from a process that cannot import
torch (the Tracker API and track.py --runtime onnx)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_prep.clips import discover_clips, read_frame
from data_prep.video import resize_frame
from tracking.export import export
from tracking.candidates import refine_clip
from tracking.onnx_nets import INT8, has_openvino
from tracking.tracker import Tracker

REPO = Path(__file__).resolve().parents[1]
ATOL_INT8 = 2.0  # px at 1280x720: the int8 networks' candidates and track against the float ones
NO_TORCH = """
import sys
sys.modules["torch"] = None  # any import of torch now raises ImportError
import numpy as np
import track
from tracking.tracker import Tracker

folder, frames, out = sys.argv[1:4]
result = Tracker.load(folder, runtime="onnx").track_frames(list(np.load(frames))).track
np.savez(out + "/api.npz", codes=result.codes, xy=result.xy)
status = track.cli([sys.argv[4], "--runtime", "onnx", "--weights", folder, "--out", out + "/cli"])
assert status == 0, status
assert not [m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m] is not None]
"""


@pytest.fixture(scope="module")
def exported(tiny_runs, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("onnx")
    export(tiny_runs["bundle"], folder, int8=False)  # float: the track must equal PyTorch's
    return folder


def test_export_writes_both_networks_and_the_decoder(exported, tiny_runs):
    assert (exported / "proposal.onnx").is_file() and (exported / "refine.onnx").is_file()
    manifest = json.loads((exported / "tracker.json").read_text())
    bundle = Tracker.load(tiny_runs["bundle"])
    assert manifest["decode"]["max_jump"] == bundle.decode.max_jump and manifest["settings"]["top_k"] == bundle.top_k
    assert manifest["proposal"]["threshold"] == pytest.approx(bundle.proposal.threshold)


def test_the_onnx_track_equals_the_pytorch_track_without_torch_imported(exported, tiny_runs, ball_data, tmp_path):
    clip = discover_clips(ball_data, [3])[0]
    frames = np.stack([read_frame(p) for p in clip.frames])
    np.save(tmp_path / "frames.npy", frames)
    done = subprocess.run([sys.executable, "-c", NO_TORCH, str(exported), str(tmp_path / "frames.npy"),
                           str(tmp_path), str(clip.path)], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    reference = Tracker.load(tiny_runs["bundle"]).track_frames(list(frames)).track
    api = np.load(tmp_path / "api.npz")
    cli = np.loadtxt(tmp_path / "cli" / "track.csv", delimiter=",", skiprows=1, ndmin=2, usecols=(0, 1, 2, 3))
    for codes, xy in ((api["codes"], api["xy"]), (cli[:, 1], cli[:, 2:])):
        np.testing.assert_array_equal(codes, reference.codes)
        np.testing.assert_allclose(xy, reference.xy, atol=0.5)
    assert (tmp_path / "cli" / "overlay.mp4").is_file()


def test_the_shipped_weights_export_to_the_same_candidates(ball_data, tmp_path):
    manifest = export(None, tmp_path)
    assert manifest["int8"] == INT8  # the refiner's int8 copy; the proposal stays float
    clip = discover_clips(ball_data, [3])[0]
    frames = [read_frame(p) for p in clip.frames]
    torch_out = Tracker.load().track_frames(frames)
    fp32 = Tracker.load(tmp_path, runtime="onnx", int8=False)
    onnx_out = fp32.track_frames(frames)
    np.testing.assert_allclose(onnx_out.candidates.xy, torch_out.candidates.xy, atol=0.05)
    np.testing.assert_allclose(onnx_out.refined.prob, torch_out.refined.prob, atol=1e-4)
    np.testing.assert_array_equal(onnx_out.track.codes, torch_out.track.codes)
    np.testing.assert_allclose(onnx_out.track.xy, torch_out.track.xy, atol=0.5)
    int8 = Tracker.load(tmp_path, runtime="onnx")
    refiner = "refine.onnx" if has_openvino() else INT8["refine"]  # OpenVINO runs the float graph, faster
    assert int8.proposal.path.name == "proposal.onnx" and int8.refine.path.name == refiner
    # The same candidates through the default (OpenVINO or int8) refiner and the float one
    work = [resize_frame(f, (1280, 768)) for f in frames]  # the tracker's working size of this 160x96 clip
    refined = [refine_clip(tracker.refine.model, work, onnx_out.candidates, tracker.refine.spec)
               for tracker in (int8, fp32)]
    np.testing.assert_allclose(refined[0].prob, refined[1].prob, atol=0.05)
    np.testing.assert_allclose(refined[0].xy, refined[1].xy, atol=ATOL_INT8)


def test_the_int8_refiner_of_another_bundle_and_fp32(tiny_runs, ball_data, tmp_path):
    clip = discover_clips(ball_data, [3])[0]
    assert export(tiny_runs["bundle"], tmp_path / "plain")["int8"] == INT8
    frames = [read_frame(p) for p in clip.frames]
    tracks = [Tracker.load(tmp_path / "plain", runtime="onnx", int8=int8).track_frames(frames).track
              for int8 in (True, False)]
    np.testing.assert_allclose(tracks[0].xy[tracks[1].codes > 0], tracks[1].xy[tracks[1].codes > 0], atol=ATOL_INT8)
    assert export(tiny_runs["bundle"], tmp_path / "fp32", int8=False)["int8"] == {}
    assert not list((tmp_path / "fp32").glob("*.int8.onnx"))
