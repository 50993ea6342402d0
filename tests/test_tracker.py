"""The end-to-end tracker, the assignment drop-in, weights from loopback HTTP, corrupt weights."""
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import evaluate
from data_prep.clips import discover_clips, read_frame
from model.checkpoint import CheckpointError
from tracking.assignment import SuperTrackingModel
from tracking.tracker import Tracker
from tracking.weights import resolve_weights


def test_tracks_every_frame_with_minus_one_when_absent(tiny_runs, ball_data):
    tracker = Tracker.load(tiny_runs["bundle"])
    clip = discover_clips(ball_data, [3])[0]
    track = tracker.track_clip(clip)
    assert len(track) == len(clip)
    assert ((track.codes == 0) == (track.xy[:, 0] == -1)).all() and set(track.codes) <= {0, 1, 2, 3}


@pytest.mark.parametrize("ensemble", [False, True])
def test_streaming_chunks_do_not_change_the_answer(tiny_runs, ball_data, ensemble):
    clip = discover_clips(ball_data, [3])[0]
    frames = [read_frame(p) for p in clip.frames]
    whole = Tracker.load(tiny_runs["bundle"], chunk=64, ensemble=ensemble).track_frames(frames)
    pieces = Tracker.load(tiny_runs["bundle"], chunk=4, ensemble=ensemble).track_frames(iter(frames))
    if ensemble:  # every stack of the clip runs whatever the chunks; without it chunks move the stacks' starts
        np.testing.assert_allclose(pieces.candidates.score, whole.candidates.score, atol=1e-5)
    np.testing.assert_allclose(pieces.refined.prob, whole.refined.prob, atol=1e-5)
    np.testing.assert_array_equal(pieces.track.codes, whole.track.codes)


def test_other_resolutions_come_back_in_their_own_pixels(tiny_runs, ball_data):
    tracker = Tracker.load(tiny_runs["bundle"])
    clip = discover_clips(ball_data, [3])[0]
    frames = [read_frame(p) for p in clip.frames]
    big = [cv2.resize(f, (320, 192)) for f in frames]
    small_track, big_track = tracker.track_frames(frames).track, tracker.track_frames(big).track
    both = (small_track.codes > 0) & (big_track.codes > 0)
    if both.any():  # same frames, twice the size: positions scale (within the refiner's wobble)
        assert np.abs(big_track.xy[both] / 2 - small_track.xy[both]).max() < 6


def test_evaluate_runs_the_tracker(tiny_runs, ball_data, tmp_path, capsys):
    score = evaluate.main(["--data", str(ball_data), "--games", "3", "--weights", str(tiny_runs["bundle"]),
                           "--out", str(tmp_path / "eval"), "--visualize"])
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"SiBaTrAcc: {score:.4f}"
    assert (tmp_path / "eval" / "videos" / "game3_clip1.mp4").is_file()
    assert (tmp_path / "eval" / "videos" / "game3_clip1_prob.mp4").is_file()


def test_assignment_drop_in(tiny_runs, ball_data, tmp_path):
    model = SuperTrackingModel(batch_s=4, stack_s=3, out_path=tmp_path / "out", downscale=False)
    model.load(tiny_runs["bundle"])
    clip = discover_clips(ball_data, [3])[0]
    frames = np.stack([read_frame(p) for p in clip.frames])
    labels, prob = model.predict(frames)
    assert labels.shape == (len(clip), 3) and prob.shape[0] == len(clip)
    assert ((labels[:, 0] == 0) == (labels[:, 1] == -1)).all()
    score = model.test(ball_data, [3], do_visualization=False, test_name="t")
    assert 0 <= score <= 1 and (tmp_path / "out" / "t" / "report.json").is_file()


def test_weights_from_a_url_are_checksummed_and_cached(tiny_runs, loopback, tmp_path):
    www, base = loopback
    data = tiny_runs["bundle"].read_bytes()
    (www / "tracker.pt").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    cache = tmp_path / "cache"
    path = resolve_weights(f"{base}/tracker.pt", sha256=digest, cache_dir=cache)
    assert path.read_bytes() == data and path.parent == cache
    (www / "tracker.pt").unlink()  # cached now: no second download
    assert resolve_weights(f"{base}/tracker.pt", sha256=digest, cache_dir=cache) == path
    Tracker.load(path)
    (www / "other.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="does not match"):
        resolve_weights(f"{base}/other.pt", sha256=digest, cache_dir=cache)
    assert not list(cache.glob(".*.tmp"))


def test_corrupt_or_truncated_weights_fail_clearly(tiny_runs, tmp_path):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(tiny_runs["bundle"].read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="truncated.pt: not a readable checkpoint"):
        Tracker.load(truncated)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="garbage.pt"):
        Tracker.load(garbage)
    with pytest.raises(CheckpointError, match="expected 'tracker'"):
        Tracker.load(tiny_runs["proposal"])


def write_mp4(path, frames, fps=25):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def test_track_py_video_in_track_out(tiny_runs, ball_data, tmp_path):
    import track

    clip = discover_clips(ball_data, [3])[0]
    frames = [cv2.resize(read_frame(p), (240, 144)) for p in clip.frames]  # another resolution than trained
    write_mp4(tmp_path / "match.mp4", frames)
    summary = track.main([str(tmp_path / "match.mp4"), "--out", str(tmp_path / "out"),
                          "--weights", str(tiny_runs["bundle"]), "--label-studio", str(tmp_path / "out" / "ls")])
    assert summary["frames"] == len(frames)
    task, = json.loads((tmp_path / "out" / "ls" / "tasks.json").read_text())  # the track as Label Studio predictions
    balls = summary["frames_with_ball"]
    assert bool(task["predictions"][0]["result"]) == (balls > 0) and (tmp_path / "out" / "ls" / "config.xml").exists()
    lines = (tmp_path / "out" / "track.csv").read_text().splitlines()
    assert lines[0] == "frame,code,x,y,time_s,confidence,event" and len(lines) == len(frames) + 1
    video = cv2.VideoCapture(str(tmp_path / "out" / "overlay.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)
    one = tmp_path / "one.mp4"
    write_mp4(one, frames[:1])
    assert track.main([str(one), "--out", str(tmp_path / "one"), "--weights", str(tiny_runs["bundle"]),
                       "--no-video"])["frames"] == 1


def test_track_py_refuses_missing_and_empty_input(tiny_runs, tmp_path):
    import track

    with pytest.raises(track.ArgumentError, match="no such video"):
        track.main([str(tmp_path / "nope.mp4"), "--weights", str(tiny_runs["bundle"])])
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(track.ArgumentError, match="empty.mp4: the file is empty"):
        track.main([str(tmp_path / "empty.mp4"), "--out", str(tmp_path / "o"), "--weights", str(tiny_runs["bundle"])])


def test_live_tracking_matches_offline_away_from_the_window_edge(tiny_runs, ball_data, tmp_path):
    import track

    clip = discover_clips(ball_data, [3])[0]
    offline = Tracker.load(tiny_runs["bundle"]).track_clip(clip)
    live = list(Tracker.load(tiny_runs["bundle"], chunk=4).track_live((read_frame(p) for p in clip.frames), lag=4))
    assert [f for f, _, _ in live] == list(range(len(clip)))
    codes = np.array([c for _, c, _ in live])
    assert ((codes == 0) == (np.array([xy[0] for _, _, xy in live]) == -1)).all()
    assert (codes[:-4] == offline.codes[:-4]).mean() >= 0.75
    summary = track.main([str(clip.path), "--out", str(tmp_path / "live"), "--weights", str(tiny_runs["bundle"]),
                          "--live", "4", "--no-video"])
    assert summary["frames"] == len(clip) and not (tmp_path / "live" / "track.csv.part").exists()


def test_predict_takes_float_frames_in_0_1_as_the_same_image(tiny_runs, ball_data, tmp_path):
    model = SuperTrackingModel(batch_s=4, stack_s=3, out_path=tmp_path / "out", downscale=False)
    model.load(tiny_runs["bundle"])
    frames = np.stack([read_frame(p) for p in discover_clips(ball_data, [3])[0].frames])
    labels, prob = model.predict(frames)
    as_float = model.predict(frames.astype(np.float32) / 255)
    np.testing.assert_array_equal(as_float[0], labels)
    np.testing.assert_allclose(as_float[1], prob, atol=1e-6)
    for bad in (frames.astype(np.float32) * 2, frames.astype(np.uint16)):
        with pytest.raises(ValueError, match="clip must be uint8 RGB 0..255 or floats in 0..1"):
            model.predict(bad)


def test_the_documented_prob_shape_is_the_shipped_weights(tmp_path):
    model = SuperTrackingModel(batch_s=4, stack_s=3, out_path=tmp_path / "out", downscale=False)
    _, prob = model.predict(np.zeros((3, 90, 160, 3), np.uint8))  # every size is brought to the network's input
    shape = f"prob (n, {prob.shape[1]}, {prob.shape[2]})"
    assert shape == "prob (n, 88, 160)"
    for doc in (Path(__file__).resolve().parents[1] / "docs" / "readme_snippet.py").read_text(), \
            " ".join(SuperTrackingModel.predict.__doc__.split()):
        assert shape in doc
