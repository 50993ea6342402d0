"""Video inference on awkward input: resolutions and frame rates kept, videos cut short or damaged, empty or
frameless videos, frames of changing size; errors come out as ``error: <file>: <message>`` with exit status 2.

(``test_tracker.py`` already covers a missing file, a zero-byte mp4, a one-frame video and another resolution;
``test_importers.py`` a garbage mp4.)
"""
from __future__ import annotations

import logging
import os
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import track
from data_prep import importers
from data_prep.clips import DataError, discover_clips, read_frame
from data_prep.importers import iter_video_frames

REPO = Path(__file__).resolve().parents[1]


def write_mp4(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    """RGB frames -> mp4 (OpenCV's mp4v writes the index, ``moov``, after the frames)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frames[0].shape[1], frames[0].shape[0]))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def noise_frames(n: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    """n frames of random pixels (every frame costs real bytes, so cutting the file cuts frames)."""
    return [np.random.default_rng(i).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8) for i in range(n)]


def index_first(data: bytes) -> bytes:
    """The same mp4 with its index moved before the frames ("fast start", as streamed downloads are written), so
    a file cut short still opens: ``ftyp moov ... mdat`` with every chunk offset (``stco``) moved by the index size."""
    boxes, at = {}, 0
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        boxes[kind], at = (at, size), at + size
    (moov_at, moov_size), (ftyp_at, ftyp_size) = boxes[b"moov"], boxes[b"ftyp"]
    moov = bytearray(data[moov_at:moov_at + moov_size])
    table = moov.find(b"stco")
    while table != -1:
        (entries,) = struct.unpack(">I", moov[table + 8:table + 12])
        for e in range(entries):
            at = table + 12 + 4 * e
            moov[at:at + 4] = struct.pack(">I", struct.unpack(">I", moov[at:at + 4])[0] + moov_size)
        table = moov.find(b"stco", table + 4)
    return data[ftyp_at:ftyp_at + ftyp_size] + bytes(moov) + data[ftyp_at + ftyp_size:moov_at]


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    status = track.cli(args)
    return status, capsys.readouterr().err


@pytest.fixture(scope="module")
def ball_frames(ball_data) -> list[np.ndarray]:
    return [read_frame(p) for p in discover_clips(ball_data, [3])[0].frames[:6]]


@pytest.mark.parametrize("size, fps", [((1920, 1080), 25.0), ((640, 480), 29.97), ((852, 480), 59.94),
                                       ((320, 180), 120.0)])
def test_any_resolution_and_frame_rate_keeps_its_pixels_and_fps(tiny_runs, ball_frames, tmp_path, size, fps):
    video = write_mp4(tmp_path / "in.mp4", [cv2.resize(f, size) for f in ball_frames], fps)
    summary = track.main([str(video), "--out", str(tmp_path / "out"), "--weights", str(tiny_runs["bundle"])])
    assert summary["frames"] == len(ball_frames) and summary["video_fps"] == pytest.approx(fps, abs=1e-3)
    rows = np.loadtxt(tmp_path / "out" / "track.csv", delimiter=",", skiprows=1, ndmin=2, usecols=(0, 1, 2, 3, 4))
    np.testing.assert_allclose(rows[:, 4], np.arange(len(ball_frames)) / fps, atol=1e-3)  # time_s
    assert rows[:, 0].tolist() == list(range(len(ball_frames)))
    found = rows[rows[:, 1] > 0]
    assert ((found[:, 2] >= -0.5) & (found[:, 2] < size[0]) & (found[:, 3] >= -0.5) & (found[:, 3] < size[1])).all()
    overlay = cv2.VideoCapture(str(tmp_path / "out" / "overlay.mp4"))
    assert overlay.get(cv2.CAP_PROP_FPS) == pytest.approx(fps, abs=1e-3)
    assert int(overlay.get(cv2.CAP_PROP_FRAME_COUNT)) == len(ball_frames)
    assert (overlay.get(cv2.CAP_PROP_FRAME_WIDTH), overlay.get(cv2.CAP_PROP_FRAME_HEIGHT)) == size


def test_odd_sized_frame_folder(tiny_runs, ball_frames, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(ball_frames[:4]):  # 853x479: odd both ways, which mp4 encoders cannot even store
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), cv2.cvtColor(cv2.resize(frame, (853, 479)), cv2.COLOR_RGB2BGR))
    summary = track.main([str(folder), "--out", str(tmp_path / "out"), "--weights", str(tiny_runs["bundle"]),
                          "--fps", "50"])
    assert summary["frames"] == 4 and summary["video_fps"] == 50
    assert len((tmp_path / "out" / "track.csv").read_text().splitlines()) == 5
    assert cv2.VideoCapture(str(tmp_path / "out" / "overlay.mp4")).get(cv2.CAP_PROP_FPS) == pytest.approx(50)


def test_a_video_cut_short_is_tracked_to_its_last_good_frame_with_a_warning(tiny_runs, tmp_path, caplog):
    whole = index_first(write_mp4(tmp_path / "whole.mp4", noise_frames(20)).read_bytes())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[:int(len(whole) * 0.6)])
    with caplog.at_level(logging.WARNING, logger=importers.__name__):
        frames = list(iter_video_frames(cut))
    assert 0 < len(frames) < 20
    assert f"decoding stopped after {len(frames)} of the 20 frames" in caplog.text and "cut.mp4" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=importers.__name__):
        summary = track.main([str(cut), "--out", str(tmp_path / "out"), "--weights", str(tiny_runs["bundle"])])
    assert summary["frames"] == len(frames)
    assert caplog.text.count("decoding stopped") == 1  # the overlay pass reads the same frames, no second warning
    assert int(cv2.VideoCapture(str(tmp_path / "out" / "overlay.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)


def test_damaged_frames_in_the_middle_end_the_video_with_a_warning(tmp_path, caplog):
    data = bytearray(index_first(write_mp4(tmp_path / "whole.mp4", noise_frames(20)).read_bytes()))
    middle = len(data) // 2
    data[middle:middle + 3000] = np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger=importers.__name__):
        frames = list(iter_video_frames(damaged))
    assert 0 < len(frames) < 20 and f"after {len(frames)} of the 20 frames" in caplog.text


def test_bad_videos_give_one_clear_error_line_and_status_2(tiny_runs, tmp_path, capsys):
    weights = ["--weights", str(tiny_runs["bundle"]), "--out", str(tmp_path / "out")]
    cut = tmp_path / "cut.mp4"  # cut before its index (OpenCV's own layout): nothing to read at all
    cut.write_bytes(write_mp4(tmp_path / "whole.mp4", noise_frames(10)).read_bytes()[:5000])
    status, err = run_cli([str(cut), *weights], capsys)
    assert status == 2 and err.startswith(f"error: {cut}: cannot open video") and "Traceback" not in err
    frameless = tmp_path / "frameless.mp4"
    writer = cv2.VideoWriter(str(frameless), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
    writer.release()  # a container with no frame in it
    assert frameless.is_file()
    status, err = run_cli([str(frameless), *weights], capsys)
    assert status == 2 and err.startswith(f"error: {frameless}: ")
    empty = tmp_path / "empty"
    empty.mkdir()
    status, err = run_cli([str(empty), *weights], capsys)
    assert status == 2 and err.startswith(f"error: {empty}: empty clip folder")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not weights")
    status, err = run_cli([str(cut), "--weights", str(garbage)], capsys)
    assert status == 2 and err.startswith(f"error: {garbage}: not a readable checkpoint")


def test_frames_of_changing_size_are_refused(tiny_runs, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, size in enumerate([(64, 48), (64, 48), (80, 48)]):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), np.zeros((size[1], size[0], 3), np.uint8))
    status, err = run_cli([str(folder), "--weights", str(tiny_runs["bundle"]), "--out", str(tmp_path / "o")], capsys)
    assert status == 2 and err.startswith(f"error: {folder / '0002.jpg'}: frame is 80x48, the first frame is 64x48")

    class Changing:  # a stream whose third frame changes size (possible in mkv and live streams)
        def __init__(self, path):
            self.frames = [np.zeros((48, 64, 3), np.uint8)] * 2 + [np.zeros((60, 64, 3), np.uint8)]

        def isOpened(self):
            return True

        def get(self, prop):
            return 3

        def read(self):
            return (True, self.frames.pop(0)) if self.frames else (False, None)

        def release(self):
            pass

    video = write_mp4(tmp_path / "v.mp4", noise_frames(3))
    monkeypatch.setattr(importers.cv2, "VideoCapture", Changing)
    with pytest.raises(DataError, match=r"v.mp4: frame 2 is 64x60, the first frame is 64x48"):
        list(iter_video_frames(video))


def test_the_command_line_prints_no_traceback(tiny_runs, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    done = subprocess.run([sys.executable, "track.py", str(broken), "--weights", str(tiny_runs["bundle"]),
                           "--out", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {broken}: cannot open video")


@pytest.mark.parametrize("args, message", [
    (["no/such/match.mp4"], "no/such/match.mp4: no such video file or frame folder"),
    (["{dir}/empty.mp4"], "empty.mp4: the file is empty"),
    (["{dir}", "--max-frames", "0"], "--max-frames: must be at least 1"),
    (["{dir}", "--fps", "-5"], "--fps: must be above 0"),
    (["{dir}", "--weights", "no/such/tracker.pt"], "no/such/tracker.pt: no such weights file"),
    (["{dir}/overlay.mp4", "--out", "{dir}"], "overlay.mp4: --out would write over the video being tracked"),
    (["{dir}/overlay.mp4", "--start", "2", "--label-studio", "{dir}/ls"], "--label-studio: the whole video only"),
    (["{dir}", "--weights", "{dir}", "--sha256", "0" * 64], "--sha256: checks a weights file"),
])
def test_bad_arguments_fail_before_the_libraries_load(args, message, tmp_path):
    """In a fresh interpreter: the error comes without torch, OpenCV or the tracker imported."""
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "overlay.mp4").write_bytes(b"an earlier run's overlay, tracked again into its own folder")
    args = [a.replace("{dir}", str(tmp_path)) for a in args]
    repo = Path(__file__).resolve().parents[1]
    code = ("import sys, track; status = track.cli(sys.argv[1:]); "
            "print(status, sorted(m for m in ('torch', 'cv2', 'tracking.tracker') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=repo, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(repo)}, timeout=120)
    assert result.stdout.split("\n")[0] == "2 []", result.stdout + result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert (tmp_path / "overlay.mp4").read_bytes().startswith(b"an earlier run's overlay")


def test_frames_too_small_for_an_overlay_are_one_error_line(tiny_runs, tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), np.full((1, 1, 3), 90, np.uint8))
    out = tmp_path / "out"
    status, err = run_cli([str(folder), "--weights", str(tiny_runs["bundle"]), "--out", str(out)], capsys)
    assert status == 2 and "Traceback" not in err
    expected = f"error: {out / 'overlay.mp4'}: a 1x1 frame is too small for a video (2x2 at least)"
    assert err.strip().splitlines()[-1] == expected
    assert (out / "track.csv").is_file()
