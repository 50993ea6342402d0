"""Hits and bounces: features and augmentation, the metric, peak picking, the detector's weights round trip, the
``python -m tracking.events`` command and its bad input, ``train.py --stage events``, and track.csv's new columns."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from cli.events import main as events_cli
from data_prep.event_windows import EventWindows
from data_prep.events import (
    EVENT_NAMES,
    FEATURES,
    EventTrack,
    augment,
    event_targets,
    features,
    net_input,
    read_event_folder,
    resample,
)
from evaluation.events import event_scores, match_counts, tolerance_frames
from evaluation.predictions import Track, read_track, write_track
from model.checkpoint import CheckpointError
from model.events import EventNet, build_events
from tests.conftest import write_csv
from tracking.events import EventDetector, classical_events, pick_events
from tracking.rally import place_events, write_rally

EVENT_HEADER = ["frame", "visibility", "x-coordinate", "y-coordinate", "status"]


def rally(n: int = 120, fps: float = 30.0, seed: int = 0) -> EventTrack:
    """A ball flying left and right between two players, bouncing between them: hits at 0, 40, 80..., bounces
    half-way, in 1280x720 pixels at ``fps``."""
    t = np.arange(n) / fps
    period = 40 / 30
    phase = (t % period) / period  # 0 at a hit
    direction = np.where((t // period) % 2 == 0, 1.0, -1.0)
    x = 640 + direction * (phase - 0.5) * 600
    half = np.where(phase < 0.5, phase * 2, (phase - 0.5) * 2)
    y = 600 - 300 * 4 * half * (1 - half)  # an arc to the bounce, another after it
    events = np.zeros(n, np.int64)
    for k in range(0, n):
        if abs(t[k] % period) < 0.5 / fps or abs(t[k] % period - period) < 0.5 / fps:
            events[k] = 1
        elif abs(t[k] % period - period / 2) < 0.5 / fps:
            events[k] = 2
    xy = np.stack([x, y], 1) + np.random.default_rng(seed).normal(0, 0.5, (n, 2))
    return EventTrack("game1_clip1", 1, xy, np.ones(n, bool), events, (1280, 720), fps)


def test_metric_matches_within_tolerance_and_kind():
    true = np.zeros(30, np.int64)
    true[[5, 15]] = [1, 2]
    pred = np.zeros(30, np.int64)
    pred[[7, 15, 25]] = [1, 1, 2]  # hit 2 frames late (found), a bounce called a hit, an invented bounce
    counts = match_counts(true, pred, tolerance=2)
    assert counts == {"hit": [1, 1, 0], "bounce": [0, 1, 1]}
    figures = event_scores([(true, pred)])
    assert figures["hit_recall"] == 1.0 and figures["bounce_recall"] == 0.0
    assert figures["precision"] == pytest.approx(1 / 3) and figures["recall"] == pytest.approx(1 / 2)
    assert match_counts(true, np.roll(pred, 1), 2)["hit"] == [0, 2, 1]  # 3 frames late: missed
    assert tolerance_frames(60) == 4 and tolerance_frames(30) == 2 and tolerance_frames(10) == 1
    true[7] = -1  # an event predicted on an unknown frame counts for nothing
    assert match_counts(true, pred, 2)["hit"] == [0, 1, 1]


def test_pick_events_keeps_one_frame_per_peak():
    prob = np.zeros((20, 3))
    prob[:, 0] = 1
    prob[4:7, 2] = [0.6, 0.9, 0.6]  # one bounce spread over 3 frames
    prob[12, 1] = 0.7
    prob[:, 0] = 1 - prob[:, 1:].sum(1)
    events = pick_events(prob, 0.5)
    assert np.flatnonzero(events).tolist() == [5, 12] and events[5] == 2 and events[12] == 1


def test_resample_and_features_are_rate_and_size_free():
    track = rally(fps=30.0)
    xy60, present60 = resample(track.xy, track.present, 30.0, 60.0)
    assert len(xy60) == 2 * len(track) - 1 and present60.all()
    back, present = resample(xy60, present60, 60.0, 30.0)
    np.testing.assert_allclose(back, track.xy[:len(back)], atol=1e-9)
    doubled = EventTrack("x", 1, track.xy * 1.5, track.present, track.events, (1920, 1080), 30.0)
    np.testing.assert_allclose(net_input(doubled), net_input(track), atol=1e-5)
    feats = features(track.xy, track.present, track.size)
    assert feats.shape == (FEATURES, len(track)) and np.isfinite(feats).all()


def test_augment_keeps_length_and_events_and_targets_sum_to_one():
    track = rally()
    rng = np.random.default_rng(0)
    for _ in range(10):
        noisy = augment(track, rng)
        assert len(noisy) == len(track) and (noisy.events == track.events).all()
        assert np.isfinite(noisy.xy).all()
    target = event_targets(track.events)
    np.testing.assert_allclose(target.sum(0), 1.0, atol=1e-6)
    assert target[1, 0] == pytest.approx(1.0) and target[2, 20] == pytest.approx(1.0)
    item = EventWindows([track], length=64)[0]
    assert item["features"].shape == (FEATURES, 64) and item["target"].shape == (3, 64)


def test_model_shape_and_rebuild():
    net = EventNet()
    out = net(torch.randn(2, FEATURES, 50))
    assert out.shape == (2, 3, 50) and torch.isfinite(out).all()
    from engine.events_stage import model_args

    assert build_events(model_args(net)).args == net.args


def test_classical_rule_finds_the_bounces_of_a_clean_rally():
    track = rally()
    found = classical_events(track)
    assert event_scores([(track.events, found)])["bounce_recall"] >= 0.5


def test_rally_files_without_a_court_list_the_events_in_pixels_at_the_sources_frame_numbers(tmp_path):
    track = rally(80)
    names = [EVENT_NAMES[int(e)] for e in track.events]
    write_rally(tmp_path, place_events(names, np.where(track.present[:, None], track.xy, -1.0), None), None, 30.0,
                first=30)
    summary = json.loads((tmp_path / "rally.json").read_text())
    assert summary["summary"]["hits"] == int((track.events == 1).sum()) and summary["summary"]["bounces"] == 2
    first = summary["events"][0]
    assert first["kind"] == "hit" and first["frame"] == 30 and first["time_s"] == 1.0 and first["metres"] is None
    assert summary["court"] is None and summary["camera_shots"] == []


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A two-epoch events run on synthetic rallies of two matches, and its shipped weights."""
    from engine.events_stage import ship
    from train import cli

    root = tmp_path_factory.mktemp("events")
    data = root / "tracks"
    data.mkdir()
    for match in (1, 2):
        for clip in (1, 2):
            track = rally(150, seed=match * 10 + clip)
            rows = [[i + 2, 1, f"{x:.0f}", f"{y:.0f}", e] for i, ((x, y), e) in enumerate(zip(track.xy, track.events))]
            write_csv(data / f"game{match}_clip{clip}.csv", EVENT_HEADER, rows)
    run = root / "run"
    flags = ["--stage", "events", "--data", str(data), "--out", str(run), "--steps-per-epoch", "3", "--batch-size", "4",
             "--warmup-steps", "1", "--wandb", "off"]
    assert cli([*flags, "--epochs", "1"]) == 0
    assert cli(["--stage", "events", "--resume", str(run), "--epochs", "2"]) == 0  # goes on to epoch 2
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1
    weights = root / "events.pt"
    ship(run / "best.pt", weights)
    return weights, data


def test_train_resume_and_ship_round_trip(trained):
    weights, data = trained
    detector = EventDetector.load(weights)
    again = EventDetector.load(weights)
    track = read_event_folder(data)[0]
    np.testing.assert_array_equal(detector.probabilities(track), again.probabilities(track))
    assert (weights.parent / "SHA256SUMS").read_text().split()[1] == "events.pt"
    broken = weights.parent / "broken.pt"
    payload = torch.load(weights, weights_only=True)
    payload["model"]["head.bias"] = payload["model"]["head.bias"] + 1  # no longer the digest's contents
    torch.save(payload, broken)
    with pytest.raises(CheckpointError, match="digest"):
        EventDetector.load(broken)


def track_rows(n: int = 60) -> list[list]:
    track = rally(n)
    return [[i, 1, f"{x:.2f}", f"{y:.2f}"] for i, (x, y) in enumerate(track.xy)]


def test_cli_writes_the_rows_with_an_event_column(tmp_path, trained, capsys):
    weights, _ = trained
    path = write_csv(tmp_path / "track.csv", ["frame", "code", "x", "y", "time_s"],
                     [row + [f"{row[0] / 30:.3f}"] for row in track_rows()])
    assert events_cli([str(path), "--out", str(tmp_path / "out"), "--weights", str(weights), "--fps", "30"]) == 0
    with open(tmp_path / "out" / "track.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["frame", "code", "x", "y", "time_s", "event"] and len(rows) == 61
    assert {row[5] for row in rows[1:]} <= {"", "hit", "bounce"}
    assert [row[:5] for row in rows[1:]] == [[str(c) for c in row] + [f"{row[0] / 30:.3f}"] for row in track_rows()]


@pytest.mark.parametrize("header, rows, line, message", [
    (["frame", "code", "x"], [[0, 1, 3]], 1, "missing column"),
    (["frame", "code", "x", "y"], [[0, 1, 3, 4], [1, 1, "nan", 4]], 3, "x is not finite"),
    (["frame", "code", "x", "y"], [[0, 1, 3, 4], [2, 1, 3, 4], [1, 1, 3, 4]], 4, "unsorted"),
    (["frame", "code", "x", "y"], [[0, 1, 3, 4], [0, 1, 3, 4]], 3, "duplicate"),
    (["frame", "code", "x", "y"], [[0, 1, "a", 4]], 2, "not a number"),
])
def test_cli_bad_input(tmp_path, capsys, header, rows, line, message):
    path = write_csv(tmp_path / "bad.csv", header, rows)
    assert events_cli([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:{line}: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "out" / "bad.csv").exists()


def test_track_csv_columns(tmp_path):
    from tracking.video_job import track_columns

    track = Track(np.array([0, 1, 3]), np.array([[-1, -1], [10, 20], [12, 22.0]]))
    columns = track_columns(track, 25.0, np.array([0.1, 0.9, 0.4]), np.array([0, 2, 0]))
    write_track(tmp_path / "t.csv", track, columns)
    with open(tmp_path / "t.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["frame", "code", "x", "y", "time_s", "confidence", "event"]
    assert rows[2] == ["1", "1", "10.00", "20.00", "0.040", "0.900", "bounce"]
    assert read_track(tmp_path / "t.csv", 3).codes.tolist() == [0, 1, 3]  # the scorer still reads it
    live = track_columns(track, 30.0, None, None)
    assert live["confidence"] == ["", "", ""] and live["event"] == ["", "", ""]
