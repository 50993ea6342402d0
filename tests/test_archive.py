"""track.py on archives: several videos or a folder of them (one output folder each, a table, a finished video
skipped on rerun, a bad file reported while the rest are tracked) and a time range (--start / --end)."""
from __future__ import annotations

import json

import cv2
import numpy as np

import track
from data_prep.clips import discover_clips, read_frame


def write_mp4(path, frames, fps=10.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def ball_frames(ball_data, n=8):
    return [read_frame(p) for p in discover_clips(ball_data, [3])[0].frames[:n]]


def test_a_folder_of_videos_one_folder_each_a_bad_file_reported_and_done_ones_skipped(tiny_runs, ball_data,
                                                                                      tmp_path, capsys):
    season = tmp_path / "season"
    season.mkdir()
    frames = ball_frames(ball_data)
    write_mp4(season / "match_a.mp4", frames)
    write_mp4(season / "match_c.mp4", frames[:5])
    (season / "match_b.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)  # not a video
    args = [str(season), "--out", str(tmp_path / "out"), "--weights", str(tiny_runs["bundle"]), "--no-video"]
    assert track.cli(args) == 2  # one video failed
    out = capsys.readouterr().out
    assert "match_b.mp4" in out and "error: " in out and out.count("tracked") >= 2
    for name, n in (("match_a", 8), ("match_c", 5)):
        assert len((tmp_path / "out" / name / "track.csv").read_text().splitlines()) == n + 1
    assert not (tmp_path / "out" / "match_b" / "summary.json").exists()
    stamp = (tmp_path / "out" / "match_a" / "track.csv").stat().st_mtime_ns
    assert track.cli(args) == 2  # rerun: the finished ones are skipped, the bad one tried (and reported) again
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line.strip()}
    assert lines["match_a.mp4"].endswith("done before") and lines["match_c.mp4"].endswith("done before")
    assert "error" in lines["match_b.mp4"]
    assert (tmp_path / "out" / "match_a" / "track.csv").stat().st_mtime_ns == stamp
    assert track.cli(args[:-1]) == 2  # now with overlays: not "done before", every good video tracked again
    assert all((tmp_path / "out" / name / "overlay.mp4").is_file() for name in ("match_a", "match_c"))


def test_several_sources_on_the_command_line(tiny_runs, ball_data, tmp_path, capsys):
    frames = ball_frames(ball_data, 6)
    video = write_mp4(tmp_path / "rally.mp4", frames)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames[:4]):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    summary = track.main([str(video), str(folder), "--out", str(tmp_path / "out"), "--weights",
                          str(tiny_runs["bundle"]), "--no-video"])
    assert summary["failed"] == 0 and [row["frames"] for row in summary["videos"]] == [6, 4]
    assert json.loads((tmp_path / "out" / "rally" / "summary.json").read_text())["frames"] == 6
    assert (tmp_path / "out" / "frames" / "track.csv").is_file()


def test_a_time_range_keeps_the_videos_frame_numbers(tiny_runs, ball_data, tmp_path):
    frames = ball_frames(ball_data, 12)
    video = write_mp4(tmp_path / "in.mp4", frames, fps=10.0)
    summary = track.main([str(video), "--start", "0.3", "--end", "0.9", "--out", str(tmp_path / "out"),
                          "--weights", str(tiny_runs["bundle"])])
    assert summary["frames"] == 6 and summary["start_frame"] == 3
    rows = np.loadtxt(tmp_path / "out" / "track.csv", delimiter=",", skiprows=1, ndmin=2, usecols=(0, 4))
    assert rows[:, 0].tolist() == [3, 4, 5, 6, 7, 8]
    np.testing.assert_allclose(rows[:, 1], rows[:, 0] / 10, atol=1e-3)  # time_s is the video's own time
    slow = track.main([str(video), "--start", "0.3", "--end", "0.9", "--out", str(tmp_path / "slow"), "--fps", "5",
                       "--weights", str(tiny_runs["bundle"])])  # --fps: the overlay's rate, not the video's
    assert slow["video_fps"] == 10.0 and slow["start_frame"] == 3
    assert (tmp_path / "slow" / "track.csv").read_text() == (tmp_path / "out" / "track.csv").read_text()
    assert int(cv2.VideoCapture(str(tmp_path / "out" / "overlay.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    whole = track.main([str(video), "--out", str(tmp_path / "whole"), "--weights", str(tiny_runs["bundle"]),
                        "--no-video", "--start", "0.5"])  # to the end; a frame folder counts at --fps
    assert whole["frames"] == 7


def test_a_start_past_the_end_is_an_error(tiny_runs, ball_data, tmp_path, capsys):
    video = write_mp4(tmp_path / "in.mp4", ball_frames(ball_data, 5), fps=10.0)
    assert track.cli([str(video), "--start", "3", "--weights", str(tiny_runs["bundle"]),
                      "--out", str(tmp_path / "o")]) == 2
    assert "before the start frame 30" in capsys.readouterr().err
    assert track.cli([str(video), "--start", "3", "--end", "2"]) == 2
    assert "--start / --end" in capsys.readouterr().err
