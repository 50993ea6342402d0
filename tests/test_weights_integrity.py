"""Weights are checked on every load: content digests in bundles and checkpoints, the shipped file's known checksum
for any path to it, a given sha256 for files and downloads, no bad download served twice, no NaN weights."""
import logging
from dataclasses import asdict

import pytest
import torch

import tracking.weights as weights
from engine.bundle import rewrite_bundle
from engine.checkpoint import save_checkpoint
from model.checkpoint import DIGEST, CheckpointError, content_digest, read_payload
from model.proposal import ProposalNet
from model.refine import RefineNet
from tracking.assignment import SuperTrackingModel
from tracking.decode import DecodeParams
from tracking.tracker import Tracker
from tracking.weights import load_bundle, load_proposal, resolve_weights, sha256_of

CORRUPT = "contents do not match their digest: the file is corrupt"


def tiny_bundle() -> dict:
    """A tracker bundle of two tiny untrained networks, as engine.bundle writes it (before its digest)."""
    torch.manual_seed(0)
    proposal, refine = ProposalNet(widths=(4, 4, 4, 4)), RefineNet(frames=3, crop=16, dim=16, depth=1, heads=2)
    return {"stage": "tracker",
            "proposal": {"model_args": {**asdict(proposal.args), "widths": [4, 4, 4, 4]},
                         "model": proposal.state_dict(), "threshold": 0.3,
                         "spec": {"frames": 3, "width": 64, "height": 32}},
            "refine": {"model_args": asdict(refine.args), "model": refine.state_dict()},
            "decode": asdict(DecodeParams()), "settings": {"top_k": 3, "min_score": 0.02},
            "provenance": {"git": "test"}}


def write_tiny(path) -> dict:
    """Write a tiny bundle with engine.bundle (digest and SHA256SUMS included); returns what was written."""
    bundle = tiny_bundle()
    rewrite_bundle(bundle, path, DecodeParams(), bundle["provenance"])
    return bundle


def proposal_checkpoint(model_state: dict, metrics: dict) -> dict:
    """A proposal training checkpoint as engine.train saves it, bar optimiser and RNG states."""
    args = tiny_bundle()["proposal"]["model_args"]
    return {"stage": "proposal", "model_args": args, "model": model_state, "metrics": metrics,
            "config": {"frames": 3, "width": 64, "height": 32, "score_threshold": 0.5}}


def test_a_written_bundle_carries_its_digest_and_loads(tmp_path):
    path = tmp_path / "tracker.pt"
    write_tiny(path)
    payload = read_payload(path, "tracker")
    assert payload[DIGEST] == content_digest(payload)
    assert load_bundle(path).proposal.threshold == 0.3
    assert (tmp_path / "SHA256SUMS").read_text() == f"{sha256_of(path)}  tracker.pt\n"


def test_one_flipped_byte_in_the_weights_is_caught(tmp_path):
    path = tmp_path / "tracker.pt"
    bundle = write_tiny(path)
    data = bytearray(path.read_bytes())
    weight = bundle["refine"]["model"]["patch_embed.2.weight"]
    at = bytes(data).find(weight.view(torch.uint8).numpy().tobytes()[:64])
    assert at > 0, "the tensor's raw bytes are stored as they are"
    data[at + 1] ^= 0x01  # a low mantissa bit: the file still unpickles, one weight changes a little
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f"tracker.pt: {CORRUPT}"):
        load_bundle(path)


@pytest.mark.parametrize("entry", ["tensor", "threshold", "decode", "provenance"])
def test_an_edited_entry_fails_its_digest(tmp_path, entry):
    path = tmp_path / "tracker.pt"
    write_tiny(path)
    payload = torch.load(path, weights_only=True)
    if entry == "tensor":
        payload["proposal"]["model"]["heat.bias"][0] += 1e-3
    elif entry == "threshold":
        payload["proposal"]["threshold"] = 0.31
    elif entry == "decode":
        payload["decode"]["max_gap"] += 1
    else:
        payload["provenance"]["git"] = "other"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=CORRUPT):
        Tracker.load(path, device="cpu")
    with pytest.raises(CheckpointError, match=CORRUPT):
        SuperTrackingModel(batch_s=4, stack_s=3, out_path=tmp_path / "out", downscale=False).load(path)


def test_a_bundle_without_digest_loads_with_one_warning(tmp_path, caplog):
    path = tmp_path / "old.pt"
    torch.save(tiny_bundle(), path)
    with caplog.at_level(logging.WARNING):
        tracker = Tracker.load(path, device="cpu")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "old.pt: tracker bundle without a content digest" in warnings[0].getMessage()
    assert tracker.top_k == 3


def nan_bundle(entry: str) -> dict:
    bundle = tiny_bundle()
    if entry == "proposal.model.heat.weight":
        bundle["proposal"]["model"]["heat.weight"][0, 0, 0, 0] = float("nan")
    elif entry == "refine.model.pos_time":
        bundle["refine"]["model"]["pos_time"].view(-1)[3] = float("inf")
    elif entry == "proposal.threshold":
        bundle["proposal"]["threshold"] = float("nan")
    else:
        bundle["decode"]["presence_bias"] = float("nan")
    return bundle


@pytest.mark.parametrize("entry", ["proposal.model.heat.weight", "refine.model.pos_time", "proposal.threshold",
                                   "decode.presence_bias"])
def test_nan_weights_or_parameters_name_the_entry(tmp_path, entry):
    bundle = nan_bundle(entry)
    for name, payload in (("digested.pt", {**bundle, DIGEST: content_digest(bundle)}), ("old.pt", bundle)):
        torch.save(payload, tmp_path / name)
        with pytest.raises(CheckpointError, match=f"{name}: {entry} holds NaN or inf"):
            load_bundle(tmp_path / name)
    with pytest.raises(CheckpointError, match=f"new.pt: {entry} holds NaN or inf"):
        rewrite_bundle(bundle, tmp_path / "new.pt", DecodeParams(**bundle["decode"]), {})
    assert not (tmp_path / "new.pt").exists()


def test_stage_checkpoints_are_checked_too(tmp_path):
    state = ProposalNet(widths=(4, 4, 4, 4)).state_dict()
    fine = proposal_checkpoint(state, {"best_threshold": 0.4, "mean_error": float("nan")})  # a NaN metric is fine
    save_checkpoint(tmp_path / "old.pt", fine)
    assert load_proposal(tmp_path / "old.pt").threshold == 0.4
    save_checkpoint(tmp_path / "best.pt", {**fine, DIGEST: content_digest(fine)})
    assert load_proposal(tmp_path / "best.pt").threshold == 0.4
    payload = torch.load(tmp_path / "best.pt", weights_only=True)
    payload["model"]["offset.bias"][0] += 1e-3
    torch.save(payload, tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match=f"best.pt: {CORRUPT}"):
        load_proposal(tmp_path / "best.pt")
    save_checkpoint(tmp_path / "nan.pt", proposal_checkpoint(state, {"best_threshold": float("nan")}))
    with pytest.raises(CheckpointError, match="nan.pt: metrics.best_threshold holds NaN"):
        load_proposal(tmp_path / "nan.pt")
    state["stem.0.weight"][0, 0, 0, 0] = float("inf")
    save_checkpoint(tmp_path / "inf.pt", proposal_checkpoint(state, {}))
    with pytest.raises(CheckpointError, match="inf.pt: model.stem.0.weight holds NaN or inf"):
        load_proposal(tmp_path / "inf.pt")


def test_the_shipped_bundle_carries_its_digest_and_known_checksum(caplog):
    with caplog.at_level(logging.WARNING):
        payload = read_payload(resolve_weights(), "tracker")
    assert payload[DIGEST] == content_digest(payload) and not caplog.records
    assert sha256_of(weights.DEFAULT_BUNDLE) == weights.known_checksum("tracker.pt")


def test_every_path_to_the_shipped_file_gets_its_known_checksum(tmp_path, monkeypatch):
    shipped = tmp_path / "weights" / "tracker.pt"
    write_tiny(shipped)
    monkeypatch.setattr(weights, "DEFAULT_BUNDLE", shipped)
    monkeypatch.setattr(weights, "CHECKSUMS", shipped.parent / "SHA256SUMS")
    monkeypatch.chdir(tmp_path)
    for source in (None, shipped, "weights/tracker.pt", "weights/../weights/tracker.pt"):
        assert resolve_weights(source).samefile(shipped)
    (shipped.parent / "SHA256SUMS").write_text(f"{'0' * 64}  tracker.pt\n")
    for source in (None, shipped, "weights/tracker.pt", "weights/../weights/tracker.pt"):
        with pytest.raises(CheckpointError, match="does not match the expected 0000"):
            resolve_weights(source)
    copy = tmp_path / "copy.pt"
    copy.write_bytes(shipped.read_bytes())
    assert resolve_weights(copy) == copy  # not the shipped file: only its digest vouches for it
    assert resolve_weights(copy, sha256=sha256_of(copy)) == copy
    with pytest.raises(CheckpointError, match="copy.pt: sha256 .* does not match the expected 1111"):
        resolve_weights(copy, sha256="1" * 64)


def test_a_bad_download_is_not_served_again(tmp_path, loopback, caplog):
    www, base = loopback
    good = tmp_path / "good.pt"
    write_tiny(good)
    payload = torch.load(good, weights_only=True)
    payload["decode"]["start_cost"] += 1.0
    tampered = tmp_path / "tampered.pt"
    torch.save(payload, tampered)
    cache, url = tmp_path / "cache", f"{base}/tracker.pt"
    for bad, message in ((tampered, CORRUPT), (good.read_bytes()[:3000], "not a readable checkpoint")):
        (www / "tracker.pt").write_bytes(bad if isinstance(bad, bytes) else bad.read_bytes())
        with pytest.raises(CheckpointError, match=f"{url}: the downloaded file is unusable and was not kept: .*"
                                                  f"{message}"):
            resolve_weights(url, cache_dir=cache)
        assert not list(cache.iterdir())
    (www / "tracker.pt").write_bytes(good.read_bytes())
    with pytest.raises(CheckpointError, match="does not match the expected 2222"):
        resolve_weights(url, sha256="2" * 64, cache_dir=cache)
    assert not list(cache.iterdir())
    path = resolve_weights(url, sha256=sha256_of(good), cache_dir=cache)  # the source is fixed: the good file
    assert path.parent == cache and path.read_bytes() == good.read_bytes()
    Tracker.load(path, device="cpu")

    path.write_bytes(tampered.read_bytes())  # the cached copy goes bad on disk
    with caplog.at_level(logging.WARNING):
        assert resolve_weights(url, cache_dir=cache) == path
    assert path.read_bytes() == good.read_bytes()
    assert any("cached download of" in r.getMessage() and CORRUPT in r.getMessage() for r in caplog.records)
    (www / "tracker.pt").unlink()  # cached and good now: no second download
    assert resolve_weights(url, sha256=sha256_of(good), cache_dir=cache) == path
    with pytest.raises(CheckpointError, match="does not match the expected 3333"):  # a mistyped --sha256
        resolve_weights(url, sha256="3" * 64, cache_dir=cache)
    assert path.read_bytes() == good.read_bytes()  # the good cached download is kept


def test_a_file_holding_code_is_refused_without_advice_to_run_it(tmp_path):
    import fractions

    path = tmp_path / "tracker.pt"
    torch.save({"stage": "bundle", "x": fractions.Fraction(1, 3)}, path)
    with pytest.raises(CheckpointError) as error:
        resolve_weights(path)
        Tracker.load(path, device="cpu")
    message = str(error.value)
    assert message.startswith(f"{path}: holds Python objects a weights-only load refuses (fractions.Fraction)")
    assert "weights_only" not in message and "trust" not in message and "\n" not in message
