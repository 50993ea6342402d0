"""Importers: tiny self-made TrackNet folders, TrackNetV3 rallies and videos, plus the real footage when present."""
from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli.importers import main
from data_prep import importers
from data_prep.clips import DataError, discover_clips, load_clip, read_frame
from data_prep.importers import import_tracknet, import_tracknetv3, import_video, iter_video_frames

SIZE = (64, 48)  # (width, height) of the tiny fixtures


def write_video(path: Path, n: int = 12, size: tuple[int, int] = SIZE, bgr: tuple[int, int, int] | None = None) -> Path:
    """An mp4 of n flat frames; frame i is grey level 20 * i unless a fixed ``bgr`` colour is given."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, size)
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((size[1], size[0], 3), bgr if bgr is not None else 20 * i, np.uint8))
    writer.release()
    return path


def rally_rows(n: int) -> list[list[str]]:
    """TrackNetV3 rows: every fourth frame has no ball, others a normalised position with 4 decimals."""
    return [[str(i), "0", "-1.000", "-1.000"] if i % 4 == 3
            else [str(i), "1", f"{(i + 0.5) / 16:.4f}", f"{0.1 + 0.05 * i:.4f}"] for i in range(n)]


def write_rally(folder: Path, stem: str, n_frames: int = 12, rows: list[list[str]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_video(folder / f"{stem}.mp4", n_frames)
    with open(folder / f"{stem}.csv", "w", newline="") as f:
        csv.writer(f).writerows([["Frame", "Ball", "x", "y"], *(rally_rows(n_frames) if rows is None else rows)])
    return folder / f"{stem}.mp4"


def assert_nothing_left(out: Path) -> None:
    """No clip and no hidden temporary folder anywhere under ``out``."""
    leftovers = [p for p in out.rglob("*")] if out.exists() else []
    assert leftovers == [], leftovers


# ------------------------------------------------------------------------------------------------ tracknetv3

def test_tracknetv3_frames_and_labels(tmp_path):
    src = tmp_path / "rallies"
    write_rally(src, "00007", 12)
    write_rally(src, "00003", 9)
    clips = import_tracknetv3(src, tmp_path / "out")
    assert clips == [tmp_path / "out" / "game1" / "clip1", tmp_path / "out" / "game1" / "clip2"]
    clip = load_clip(clips[1], require_labels=True)  # 00007 sorts second
    assert len(clip) == 12 and clip.size == SIZE
    rows = rally_rows(12)
    codes = np.array([int(r[1]) for r in rows])
    expected = np.array([[float(r[2]) * SIZE[0], float(r[3]) * SIZE[1]] if r[1] == "1" else [-1, -1] for r in rows])
    np.testing.assert_array_equal(clip.labels.codes, codes)
    np.testing.assert_allclose(clip.labels.xy, expected, atol=0.01)
    assert (clip.labels.traj == -1).all()
    for i in (0, 5, 11):  # frames land in order (mp4v and JPEG are lossy: compare flat grey levels loosely)
        assert abs(read_frame(clip.frames[i]).mean() - 20 * i) < 8
    assert len(load_clip(clips[0])) == 9


def test_tracknetv3_numbering_and_selection(tmp_path):
    src = tmp_path / "rallies"
    for stem in ("00001", "00002", "00005"):
        write_rally(src, stem, 4)
    spread = import_tracknetv3(src, tmp_path / "a", game=3, clips_per_game=2)
    assert [p.relative_to(tmp_path / "a").as_posix() for p in spread] == ["game3/clip1", "game3/clip2", "game4/clip1"]
    assert [(c.game, c.clip) for c in discover_clips(tmp_path / "a")] == [(3, 1), (3, 2), (4, 1)]
    picked = import_tracknetv3(src, tmp_path / "b", 2, first_clip=7, rallies=["00005", "00002"])
    assert [p.relative_to(tmp_path / "b").as_posix() for p in picked] == ["game2/clip7", "game2/clip8"]
    with pytest.raises(DataError, match=r"no video for rally\(ies\) \['00009'\]"):
        import_tracknetv3(src, tmp_path / "c", rallies=["00009"])


@pytest.mark.parametrize("n_rows", [15, 10])
def test_tracknetv3_row_count_mismatch(tmp_path, n_rows):
    src = tmp_path / "rallies"
    write_rally(src, "00001", 12, rally_rows(n_rows))
    with pytest.raises(DataError, match=f"{n_rows} label rows but 00001.mp4 decodes") as info:
        import_tracknetv3(src, tmp_path / "out")
    assert info.value.path == src / "00001.csv"
    assert_nothing_left(tmp_path / "out")
    clip = load_clip(import_tracknetv3(src, tmp_path / "out", truncate=True)[0], require_labels=True)
    assert len(clip) == len(clip.labels) == min(n_rows, 12)


def test_tracknetv3_max_frames(tmp_path):
    src = tmp_path / "rallies"
    write_rally(src, "00001", 12, rally_rows(10))  # mismatch beyond the first 5 frames does not matter
    clip = load_clip(import_tracknetv3(src, tmp_path / "out", max_frames=5)[0], require_labels=True)
    assert len(clip) == len(clip.labels) == 5
    with pytest.raises(ValueError, match="max_frames"):
        import_tracknetv3(src, tmp_path / "other", max_frames=0)


@pytest.mark.parametrize("row, line, match", [
    (["3", "2", "0.5", "0.5"], 5, "Ball '2' is not 0 or 1"),
    (["3", "1", "1.2", "0.5"], 5, r"outside 0\.\.1"),
    (["3", "1", "0.5", "-0.1"], 5, r"outside 0\.\.1"),
    (["3", "1", "", "0.5"], 5, "x is not a number"),
    (["3", "1", "0.5", "nan"], 5, "y is not finite"),
    (["4", "1", "0.5", "0.5"], 5, "frame '4' where 3 was expected"),
    (["three", "1", "0.5", "0.5"], 5, "Frame is not a number"),
], ids=["ball-2", "x-above-1", "y-negative", "x-blank", "y-nan", "frame-skip", "frame-word"])
def test_tracknetv3_bad_csv_names_file_and_line(tmp_path, row, line, match):
    src = tmp_path / "rallies"
    rows = rally_rows(12)
    rows[3] = row
    write_rally(src, "00001", 12, rows)
    with pytest.raises(DataError, match=match) as info:
        import_tracknetv3(src, tmp_path / "out")
    assert str(info.value).startswith(f"{src / '00001.csv'}:{line}: ")
    assert_nothing_left(tmp_path / "out")


def test_tracknetv3_bad_header_and_missing_csv(tmp_path):
    src = tmp_path / "rallies"
    write_rally(src, "00001", 3)
    (src / "00001.csv").write_text("Frame,Visibility\n0,1\n")
    with pytest.raises(DataError, match="unrecognised header") as info:
        import_tracknetv3(src, tmp_path / "out")
    assert info.value.line == 1
    (src / "00001.csv").unlink()
    with pytest.raises(DataError, match="label csv does not exist"):
        import_tracknetv3(src, tmp_path / "out")
    assert_nothing_left(tmp_path / "out")


def test_failure_mid_clip_leaves_no_clip(tmp_path, monkeypatch):
    src = tmp_path / "rallies"
    write_rally(src, "00001", 12)
    write_rally(src, "00002", 12)
    written = []

    def failing_write(path, rgb):
        if len(written) == 18:  # the sixth frame of the second rally
            raise KeyboardInterrupt
        written.append(path)
        cv2.imwrite(str(path), rgb)

    monkeypatch.setattr(importers, "_write_jpeg", failing_write)
    with pytest.raises(KeyboardInterrupt):
        import_tracknetv3(src, tmp_path / "out")
    # The finished first rally stays; nothing of the second one, not even its temporary folder.
    assert sorted(p.name for p in (tmp_path / "out" / "game1").iterdir()) == ["clip1"]
    assert len(load_clip(tmp_path / "out" / "game1" / "clip1")) == 12


def test_an_import_sweeps_the_temp_folders_of_killed_imports_only(tmp_path):
    src = tmp_path / "rallies"
    write_rally(src, "00001", 12)
    game = tmp_path / "out" / "game1"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed, live = game / f".clip1-{dead.pid}-abc", game / f".clip2-{os.getpid()}-def"
    restored = game / f".clip3-{dead.pid}-old-ghi" / "clip3"  # killed between moving clip3 aside and replacing it
    for folder in (killed, live, restored):
        folder.mkdir(parents=True)
    (restored / "0000.jpg").write_bytes(b"the old clip3")
    import_tracknetv3(src, tmp_path / "out")
    assert sorted(p.name for p in game.iterdir()) == [live.name, "clip1", "clip3"]
    assert (game / "clip3" / "0000.jpg").read_bytes() == b"the old clip3"


def test_ctrl_c_in_the_command_is_one_line(tmp_path, monkeypatch, capsys):
    src = tmp_path / "rallies"
    write_rally(src, "00001", 12)

    def ctrl_c(path, rgb):
        raise KeyboardInterrupt

    monkeypatch.setattr(importers, "_write_jpeg", ctrl_c)
    assert main(["tracknetv3", str(src), "--out", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == importers.INTERRUPTED
    assert not (tmp_path / "out" / "game1").exists()


def test_refuses_to_overwrite_unless_asked(tmp_path):
    src = tmp_path / "rallies"
    write_rally(src, "00001", 6)
    out = tmp_path / "out"
    (clip_dir,) = import_tracknetv3(src, out)
    before = sorted(p.name for p in clip_dir.iterdir())
    with pytest.raises(FileExistsError, match="--overwrite"):
        import_tracknetv3(src, out, max_frames=3)
    assert sorted(p.name for p in clip_dir.iterdir()) == before
    import_tracknetv3(src, out, max_frames=3, overwrite=True)
    assert sorted(p.name for p in clip_dir.iterdir()) == ["0000.jpg", "0001.jpg", "0002.jpg", "labels.csv"]
    assert sorted(p.name for p in (out / "game1").iterdir()) == ["clip1"]
    (out / "game1" / "clip1").rename(out / "game1" / "Clip1")  # another spelling is the same clip
    with pytest.raises(FileExistsError):
        import_video(src / "00001.mp4", out)
    (out / "game1").rename(out / "Game1")  # ... and of the same game
    assert import_video(src / "00001.mp4", out, clip=2) == out / "Game1" / "clip2"
    assert [(c.game, c.clip) for c in discover_clips(out, require_labels=False)] == [(1, 1), (1, 2)]


# ------------------------------------------------------------------------------------------------ tracknet

TRACKNET_ROWS = [["0000.jpg", 2, "31.5", "12.0", 2], ["0001.jpg", 0, "", "", 0], ["0002.jpg", 3, "63.0", "47.75", 1],
                 ["0003.jpg", 1, "0.0", "0.0", 0]]


def test_tracknet_root_keeps_numbers_and_links(make_clip, tmp_path):
    src = tmp_path / "tracknet"
    for rel in ("game1/Clip1", "game1/Clip2", "game3/Clip1"):
        make_clip(rel, n=4, rows=TRACKNET_ROWS, tracknet=True, root=src)
    clips = import_tracknet(src, tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in clips] == ["game1/clip1", "game1/clip2", "game3/clip1"]
    clip = load_clip(clips[0], require_labels=True)
    np.testing.assert_array_equal(clip.labels.codes, [2, 0, 3, 1])
    np.testing.assert_allclose(clip.labels.xy, [[31.5, 12], [-1, -1], [63, 47.75], [0, 0]], atol=0.01)
    np.testing.assert_array_equal(clip.labels.traj, [2, 0, 1, 0])
    assert (clips[0] / "labels.csv").is_file() and not (clips[0] / "Label.csv").exists()
    assert os.path.samefile(clips[0] / "0002.jpg", src / "game1" / "Clip1" / "0002.jpg")
    copied = import_tracknet(src / "game3" / "Clip1", tmp_path / "copy", link=False)[0]
    assert not os.path.samefile(copied / "0002.jpg", src / "game3" / "Clip1" / "0002.jpg")
    assert (copied / "0002.jpg").read_bytes() == (src / "game3" / "Clip1" / "0002.jpg").read_bytes()


def test_tracknet_game_and_clip_folders(make_clip, tmp_path):
    src = tmp_path / "tracknet"
    make_clip("game4/Clip2", n=4, rows=TRACKNET_ROWS, tracknet=True, root=src)
    one = import_tracknet(src / "game4" / "Clip2", tmp_path / "out", game=5, clip=9, max_frames=2)
    assert one == [tmp_path / "out" / "game5" / "clip9"] and len(load_clip(one[0]).labels) == 2
    assert import_tracknet(src / "game4", tmp_path / "out") == [tmp_path / "out" / "game4" / "clip2"]
    assert import_tracknet(src / "game4", tmp_path / "out", game=6) == [tmp_path / "out" / "game6" / "clip2"]
    with pytest.raises(ValueError, match="keeps its game numbers"):
        import_tracknet(src, tmp_path / "out", game=2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a TrackNet clip"):
        import_tracknet(tmp_path / "empty", tmp_path / "x")


def test_tracknet_blank_visible_row(make_clip, tmp_path, caplog):
    rows = [r[:] for r in TRACKNET_ROWS]
    rows[2] = ["0002.jpg", 2, "", "", 0]
    clip_dir = make_clip("Clip1", n=4, rows=rows, tracknet=True)
    with pytest.raises(DataError, match="blank x/y") as info:
        import_tracknet(clip_dir, tmp_path / "strict", blank_visible="error")
    assert str(info.value).startswith(f"{clip_dir / 'Label.csv'}:4: ")
    assert_nothing_left(tmp_path / "strict")
    with caplog.at_level(logging.WARNING, logger="data_prep.importers"):
        (imported,) = import_tracknet(clip_dir, tmp_path / "out")
    assert any(f"{clip_dir / 'Label.csv'}:4:" in r.message for r in caplog.records)
    np.testing.assert_array_equal(load_clip(imported).labels.codes, [2, 0, 0, 1])


def test_tracknet_error_after_patch_names_source_line(make_clip, tmp_path):
    rows = [r[:] for r in TRACKNET_ROWS]
    rows[1] = ["0001.jpg", 1, "", "", 0]  # patched to code 0 ...
    rows[3] = ["0003.jpg", 1, "99.0", "3.0", 0]  # ... but this one is outside the 64x48 frame
    clip_dir = make_clip("Clip1", n=4, rows=rows, tracknet=True)
    with pytest.raises(DataError, match="outside the 64x48 frame") as info:
        import_tracknet(clip_dir, tmp_path / "out")
    assert str(info.value).startswith(f"{clip_dir / 'Label.csv'}:5: ") and info.value.path == clip_dir / "Label.csv"
    assert_nothing_left(tmp_path / "out")
    assert sorted(p.name for p in clip_dir.iterdir()) == ["0000.jpg", "0001.jpg", "0002.jpg", "0003.jpg", "Label.csv"]


def test_tracknet_clip_without_labels(make_clip, tmp_path):
    make_clip("game1/Clip1", n=3, rows=TRACKNET_ROWS[:3], tracknet=True, root=tmp_path / "src")
    make_clip("game1/Clip2", n=3, rows=None, root=tmp_path / "src")
    with pytest.raises(DataError, match="no label file") as info:
        import_tracknet(tmp_path / "src", tmp_path / "out")
    assert info.value.path == tmp_path / "src" / "game1" / "Clip2"
    assert_nothing_left(tmp_path / "out")  # checked before the first clip is written


# ------------------------------------------------------------------------------------------------ video

def test_import_video_file_and_frame_folder(make_clip, tmp_path):
    video = write_video(tmp_path / "match.mp4", 12)
    clip_dir = import_video(video, tmp_path / "out", game=2, clip=3, max_frames=4)
    assert clip_dir == tmp_path / "out" / "game2" / "clip3"
    clip = load_clip(clip_dir)
    assert len(clip) == 4 and clip.labels is None and clip.size == SIZE
    assert sorted(p.name for p in clip_dir.iterdir()) == ["0000.jpg", "0001.jpg", "0002.jpg", "0003.jpg"]
    frames = make_clip("frames", n=5)  # its labels.csv is ignored: a video import is unlabelled
    clip = load_clip(import_video(frames, tmp_path / "out", clip=1))
    assert len(clip) == 5 and clip.labels is None


def test_import_video_resizes_to_a_width(make_clip, tmp_path):
    """--width 1280 brings a 1080p broadcast to the tracker's working size; here 64x48 -> 32x24."""
    clip = load_clip(import_video(write_video(tmp_path / "match.mp4", 3), tmp_path / "out", width=32))
    assert clip.size == (32, 24) and len(clip) == 3
    clip = load_clip(import_video(make_clip("frames", n=2), tmp_path / "out", clip=2, width=32))
    assert clip.size == (32, 24)
    with pytest.raises(ValueError, match="width must be at least 16"):
        import_video(tmp_path / "match.mp4", tmp_path / "out", clip=3, width=0)


def test_video_frames_rgb_and_errors(tmp_path):
    red = write_video(tmp_path / "red.mp4", 3, bgr=(0, 0, 255))
    frames = list(iter_video_frames(red))
    assert len(frames) == 3 and frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    r, g, b = frames[0].reshape(-1, 3).mean(0)
    assert r > 200 and g < 60 and b < 60
    assert len(list(iter_video_frames(red, max_frames=2))) == 2
    with pytest.raises(DataError, match="does not exist"):
        next(iter_video_frames(tmp_path / "none.mp4"))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    with pytest.raises(DataError) as info:
        import_video(broken, tmp_path / "out")
    assert info.value.path == broken
    assert_nothing_left(tmp_path / "out")
    with pytest.raises(DataError, match="not a frame folder or a video"):
        import_video(tmp_path / "notes.txt", tmp_path / "out")


# ------------------------------------------------------------------------------------------------ command line

def test_cli(tmp_path, capsys):
    src = tmp_path / "rallies"
    write_rally(src, "00001", 5)
    assert main(["tracknetv3", str(src), "--out", str(tmp_path / "out"), "--game", "2", "--max-frames", "3"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "out" / "game2" / "clip1")]
    assert main(["tracknetv3", str(src), "--out", str(tmp_path / "out"), "--game", "2"]) == 1
    assert "error:" in capsys.readouterr().err
    done = subprocess.run([sys.executable, "-m", "data_prep.importers", "video", str(src / "00001.mp4"),
                           "--out", str(tmp_path / "out"), "--clip", "4"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert len(load_clip(tmp_path / "out" / "game1" / "clip4")) == 5


# ------------------------------------------------------------------------------------------------ real footage

def test_real_badminton_rallies(shared_data, tmp_path):
    src = shared_data / "badminton_rallies"
    clips = import_tracknetv3(src, tmp_path, game=2, rallies=["00001", "00002"], max_frames=30)
    found = discover_clips(tmp_path)
    assert [(c.game, c.clip, len(c), len(c.labels)) for c in found] == [(2, 1, 30, 30), (2, 2, 30, 30)]
    assert [c.path for c in found] == clips and found[0].size == (1280, 720)
    with open(src / "00001.csv", newline="") as f:
        rows = list(csv.reader(f))[1:31]
    visible = np.array([r[1] == "1" for r in rows])
    expected = np.array([[float(r[2]) * 1280, float(r[3]) * 720] for r in rows])
    np.testing.assert_array_equal(found[0].labels.codes, visible.astype(int))
    np.testing.assert_allclose(found[0].labels.xy[visible], expected[visible], atol=0.01)
    assert (found[0].labels.xy[~visible] == -1).all()


def test_real_handball_clip(shared_data, tmp_path):
    (clip_dir,) = import_tracknet(shared_data / "handball_clip", tmp_path, game=1, clip=1)
    (clip,) = discover_clips(tmp_path)
    assert clip.path == clip_dir and len(clip) == len(clip.labels) == 276 and clip.size == (1280, 720)
    # 32 frames without a ball, plus the two code-2 rows with blank x/y imported as absent.
    assert np.bincount(clip.labels.codes, minlength=4).tolist() == [34, 163, 58, 21]
    np.testing.assert_allclose(clip.labels.xy[0], [628.0, 219.0])
