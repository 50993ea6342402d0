"""Label Studio round trip: interpolation rules on an export recorded from a real server, export -> import without
a server, error messages, and the real thing (a Label Studio server from ``.venv-label-studio``).

The fixtures under ``tests/fixtures/label_studio/`` were exported by Label Studio 1.23.2 from annotations posted
by :func:`record_fixtures` (run ``LABEL_STUDIO_RECORD=1 bash run.sh test tests/test_label_studio.py -k test_server`` to
re-record). Their media are synthetic and written here: a 12-frame 160x90 video and a 5-frame 64x48 data set.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli import label_studio as ls_cli
from data_prep import label_studio as ls
from data_prep.clips import DataError, Labels, discover_clips, load_clip, write_labels

from .conftest import write_frames

FIXTURES = Path(__file__).parent / "fixtures" / "label_studio"
PROJECT = Path(__file__).resolve().parents[1]
VIDEO_SIZE, VIDEO_FRAMES, FPS = (160, 90), 12, 25.0


def write_video(path: Path, n: int = VIDEO_FRAMES, size: tuple[int, int] = VIDEO_SIZE) -> Path:
    """An mp4 of n flat frames; frame i is grey level 20 * i % 256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, size)
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((size[1], size[0], 3), 20 * i % 256, np.uint8))
    writer.release()
    return path


def write_dataset(root: Path) -> Path:
    """``root/data``: game1/clip1 (3 frames) and game1/clip2 (2 frames) of 64x48, labels on every frame."""
    data = root / "data"
    for clip, n in (("clip1", 3), ("clip2", 2)):
        names = [p.name for p in write_frames(data / "game1" / clip, n)]
        codes = np.array([1, 2, 0][:n])
        xy = np.array([[10.0 + i, 20.0] if codes[i] else [-1.0, -1.0] for i in range(n)])
        write_labels(data / "game1" / clip / "labels.csv", Labels(codes, xy, np.full(n, -1)), names)
    return data


def accept_predictions(tasks: list[dict]) -> list[dict]:
    """What a user who accepts every pre-annotation exports: each task's prediction becomes its annotation."""
    out = copy.deepcopy(tasks)
    for i, task in enumerate(out, start=1):
        task["id"] = i
        task["annotations"] = [{"id": i, "result": task.pop("predictions")[0]["result"], "was_cancelled": False}]
    return out


# ------------------------------------------------------------------------------------------------ interpolation

def test_region_boxes_follow_label_studio_rules():
    key = {"y": 0.0, "width": 1.0, "height": 1.0, "rotation": 0}
    seq = [dict(frame=2, enabled=True, x=0.0, **key), dict(frame=5, enabled=False, x=30.0, **key),
           dict(frame=8, enabled=True, x=60.0, **key)]
    xs = [None if b is None else round(b["x"], 9) for b in ls.region_boxes(seq, 10)]
    # nothing before the first keyframe; interpolated while the earlier keyframe is enabled; a disabled keyframe
    # shows on its own frame only; the last enabled keyframe holds to the end of the video
    assert xs == [None, 0, 10, 20, 30, None, None, 60, 60, 60]
    assert ls.region_boxes([dict(frame=3, enabled=False, x=5.0, **key)], 5) == [None, None, dict(x=5.0, **key),
                                                                               None, None]


def test_rotation_interpolates_the_short_way_and_rotates_about_the_corner():
    a = {"frame": 1, "enabled": True, "x": 0.0, "y": 0.0, "width": 10.0, "height": 10.0, "rotation": 170.0}
    b = dict(a, frame=3, rotation=-170.0)
    assert ls.region_boxes([a, b], 3)[1]["rotation"] == pytest.approx(180.0)
    # a 10x10 px box rotated 90 degrees clockwise (y down) about its top-left corner at (50, 50)
    u, v = ls.box_centre({"x": 50.0, "y": 50.0, "width": 10.0, "height": 10.0, "rotation": 90.0}, (100, 100))
    assert (u, v) == pytest.approx((45.0, 55.0))


def test_keyframes_keep_interpolation_within_tolerance():
    t = np.arange(30.0)
    points = np.stack([3 * t, 0.2 * (t - 15) ** 2], axis=1)  # a parabola: a few straight pieces are not enough
    keep = ls.keyframe_indices(points, 0.25)
    assert keep[0] == 0 and keep[-1] == 29 and 2 < len(keep) < 30
    dense = np.stack([np.interp(t, keep, points[keep, k]) for k in range(2)], axis=1)
    assert np.abs(dense - points).max() <= 0.25
    assert ls.keyframe_indices(points, 0) == list(range(30))
    assert ls.keyframe_indices(points[:1], 0.25) == [0]


# ------------------------------------------------------------------------------------------------ recorded export

@pytest.fixture
def media(tmp_path) -> Path:
    """The recorded fixtures' media root: ``ls/clip.mp4`` and the data set ``data/game1/clip{1,2}``."""
    write_video(tmp_path / "ls" / "clip.mp4")
    write_dataset(tmp_path)
    return tmp_path


# Frame by frame, what the recorded video annotation means (see record_fixtures): (code, x, y), 0-based frames.
VIDEO_EXPECTED = [(1, 4.5, 4.5), (1, 20.5, 16.5), (1, 36.5, 28.5),  # ball: keyframes 1 and 4, interpolated between
                  (1, 52.5, 40.5), (1, 68.5, 31.5),  # keyframe 4, then halfway to the disabled keyframe 6
                  (1, 84.5, 22.5),  # the disabled keyframe itself still shows
                  (2, 20.5, 49.5),  # ball_hard: a single disabled keyframe at frame 7 shows there only
                  (0, -1, -1), (0, -1, -1),  # nothing
                  (3, 159.0, 89.0), (3, 159.0, 89.0), (3, 159.0, 89.0)]  # ball_occluded: one enabled keyframe at
# frame 10 whose centre is the frame's corner (160, 90) up to percent rounding: clamped, held to the end


def test_recorded_video_export_frame_by_frame(media, tmp_path):
    clips = ls.import_export(FIXTURES / "video_export.json", tmp_path / "out", media_root=media)
    assert clips == [tmp_path / "out" / "game1" / "clip1"]
    clip = load_clip(clips[0], require_labels=True)
    assert len(clip) == VIDEO_FRAMES and clip.size == VIDEO_SIZE
    for i, (code, x, y) in enumerate(VIDEO_EXPECTED):
        assert clip.labels.codes[i] == code, f"frame {i}"
        np.testing.assert_allclose(clip.labels.xy[i], (x, y), atol=1e-3, err_msg=f"frame {i}")
    for i in (0, 6, 11):  # the frames are the video's, in order
        assert abs(float(np.asarray(cv2.imread(str(clip.frames[i]))).mean()) - 20 * i) < 8


def test_recorded_image_export(media, tmp_path):
    clips = ls.import_export(FIXTURES / "image_export.json", tmp_path / "out", media_root=media)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in clips] == ["game1/clip1", "game1/clip2"]
    one, two = discover_clips(tmp_path / "out")
    np.testing.assert_array_equal(one.labels.codes, [1, 2, 0])  # keypoint, rectangle centre, empty annotation
    np.testing.assert_allclose(one.labels.xy, [[15.5, 23.5], [35.5, 15.5], [-1, -1]], atol=1e-3)
    # clip2: frame 0 is a keypoint on the corner with the choice ball_occluded; frame 1 was never annotated
    assert len(two) == 1 and two.labels.codes.tolist() == [3]
    np.testing.assert_allclose(two.labels.xy, [[63.0, 47.0]], atol=1e-3)
    assert (one.path / "0001.jpg").read_bytes() == (media / "data" / "game1" / "clip1" / "0001.jpg").read_bytes()


def _recorded(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text())


def _write(tmp_path: Path, tasks: list[dict]) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    return path


def test_two_balls_in_one_frame_names_task_and_frame(media, tmp_path):
    tasks = _recorded("video_export.json")
    result = tasks[0]["annotations"][0]["result"]
    extra = copy.deepcopy(next(r for r in result if r["value"]["labels"] == ["ball_hard"]))
    extra["id"], extra["value"]["sequence"][0]["frame"] = "second", 3
    result.append(extra)
    with pytest.raises(DataError, match=rf"task {tasks[0]['id']} frame 3 \(index 2\): two balls"):
        ls.import_export(_write(tmp_path, tasks), tmp_path / "out", media_root=media)
    assert not (tmp_path / "out").exists()  # checked before anything is written


@pytest.mark.parametrize("name", ["video_export.json", "image_export.json"])
def test_a_keyframe_or_point_without_x_names_task_and_field(name, media, tmp_path):
    tasks = _recorded(name)
    result = next(r for r in tasks[0]["annotations"][0]["result"] if r["type"] != "choices")
    value = result["value"]["sequence"][0] if "sequence" in result["value"] else result["value"]
    del value["x"]
    with pytest.raises(DataError, match=rf"task {tasks[0]['id']} region {result['id']}.*: no 'x' \(a number\)"):
        ls.import_export(_write(tmp_path, tasks), tmp_path / "out", media_root=media)
    assert not (tmp_path / "out").exists()


def test_unknown_label_and_label_map(media, tmp_path):
    tasks = _recorded("video_export.json")
    region = tasks[0]["annotations"][0]["result"][0]
    region["value"]["labels"] = ["tennis ball"]
    with pytest.raises(DataError, match=rf"task {tasks[0]['id']} region {region['id']}: unknown label 'tennis ball'"):
        ls.import_export(_write(tmp_path, tasks), tmp_path / "out", media_root=media)
    labels = ls.parse_label_map("tennis ball=2,ball_hard=2,ball_occluded=3")
    clip = load_clip(ls.import_export(_write(tmp_path, tasks), tmp_path / "out", media_root=media,
                                      labels=labels)[0])
    assert clip.labels.codes[:7].tolist() == [2, 2, 2, 2, 2, 2, 2]
    with pytest.raises(ValueError, match="NAME=CODE"):
        ls.parse_label_map("ball=4")


def test_missing_video_names_task_and_what_was_tried(tmp_path):
    with pytest.raises(DataError, match=r"task \d+: video '/data/local-files/\?d=ls/clip.mp4' not found locally; "
                                        r"tried .*ls/clip.mp4"):
        ls.import_export(FIXTURES / "video_export.json", tmp_path / "out", media_root=tmp_path)


def test_timeline_labels_set_codes_and_cancelled_annotations_are_skipped(media, tmp_path):
    tasks = _recorded("video_export.json")
    annotation = tasks[0]["annotations"][0]
    annotation["result"].append({"id": "t1", "type": "timelinelabels", "from_name": "vis", "to_name": "video",
                                 "value": {"ranges": [{"start": 2, "end": 3}], "timelinelabels": ["ball_hard"]}})
    cancelled = dict(copy.deepcopy(annotation), id=999, was_cancelled=True, result=[])
    tasks[0]["annotations"].append(cancelled)
    clip = load_clip(ls.import_export(_write(tmp_path, tasks), tmp_path / "out", media_root=media)[0])
    assert clip.labels.codes[:4].tolist() == [1, 2, 2, 1]
    annotation["result"][-1]["value"]["ranges"] = [{"start": 8, "end": 8}]  # frame 8 has no ball
    with pytest.raises(DataError, match="frame 8 .*without a ball"):
        ls.import_export(_write(tmp_path, tasks), tmp_path / "out2", media_root=media)


# ------------------------------------------------------------------------------------------------ export -> import

def test_track_export_import_round_trip_without_server(tmp_path):
    video = write_video(tmp_path / "match.mp4", 30)
    t = np.arange(30.0)
    codes = np.where((t >= 3) & (t < 12) | (t >= 15), 1, 0)
    codes[20:24] = 2
    xy = np.stack([5 * t + 0.37, 0.3 * (t - 12) ** 2 + 1.1], axis=1)
    xy[[15, 29]] = [[0.0, 0.0], [159.0, 89.0]]  # the frame's corners: the box shrinks, the centre stays
    xy[codes == 0] = -1
    track = tmp_path / "run" / "track.csv"
    track.parent.mkdir()
    track.write_text("frame,code,x,y\n" + "".join(f"{i},{c},{x:.2f},{y:.2f}\n" for i, (c, (x, y))
                                                  in enumerate(zip(codes, xy))))
    tasks_path = ls.export_track(track, video, tmp_path / "run" / "label_studio")
    out_dir = tmp_path / "run" / "label_studio"
    assert (out_dir / "match.mp4").is_file() and '<Label value="ball_hard"/>' in (out_dir / "config.xml").read_text()
    tasks = json.loads(tasks_path.read_text())
    assert tasks[0]["data"] == {"video": "/data/local-files/?d=label_studio/match.mp4", "fps": FPS}
    for region in tasks[0]["predictions"][0]["result"]:
        for key in region["value"]["sequence"]:
            assert 0 <= key["x"] and key["x"] + key["width"] <= 100 + 1e-9
            assert 0 <= key["y"] and key["y"] + key["height"] <= 100 + 1e-9
    export = _write(tmp_path, accept_predictions(tasks))
    clip = load_clip(ls.import_export(export, tmp_path / "out", media_root=tmp_path / "run")[0])
    np.testing.assert_array_equal(clip.labels.codes, codes)
    np.testing.assert_allclose(clip.labels.xy, np.round(xy, 2), atol=0.26)


def test_dataset_export_import_round_trip_without_server(tmp_path):
    data = write_dataset(tmp_path)
    tasks = json.loads(ls.export_dataset(data, tmp_path / "ls").read_text())
    assert [t["data"]["image"] for t in tasks][:2] == ["/data/local-files/?d=data/game1/clip1/0000.jpg",
                                                       "/data/local-files/?d=data/game1/clip1/0001.jpg"]
    ls.import_export(_write(tmp_path, accept_predictions(tasks)), tmp_path / "out", media_root=tmp_path)
    for before, after in zip(discover_clips(data), discover_clips(tmp_path / "out")):
        assert (before.game, before.clip) == (after.game, after.clip)
        np.testing.assert_array_equal(before.labels.codes, after.labels.codes)
        np.testing.assert_allclose(before.labels.xy, after.labels.xy, atol=1e-6)


def test_image_folder_splits_at_unannotated_frames(media, tmp_path):
    tasks = _recorded("image_export.json")
    tasks[1]["annotations"] = []  # game1/clip1 frame 1 left unlabelled: frames 0 and 2 become two clips
    clips = ls.import_export(_write(tmp_path, tasks), tmp_path / "out", media_root=media, game=5)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in clips] == ["game5/clip1", "game5/clip2",
                                                                           "game1/clip2"]
    assert [len(load_clip(p)) for p in clips] == [1, 1, 1]


def test_overwrite_over_the_clips_the_media_lie_in_keeps_every_frame(media, tmp_path):
    tasks = _recorded("image_export.json")
    tasks[1]["annotations"] = []  # data/game1/clip1 splits in two: part 1 replaces that clip, part 2 reads from it
    root = media / "data"
    third = (root / "game1" / "clip1" / "0002.jpg").read_bytes()
    clips = ls.import_export(_write(tmp_path, tasks), root, media_root=media, overwrite=True)
    assert [p.relative_to(root).as_posix() for p in clips] == ["game1/clip1", "game1/clip3", "game1/clip2"]
    assert (root / "game1" / "clip3" / "0000.jpg").read_bytes() == third
    assert [len(load_clip(p)) for p in clips] == [1, 1, 1]


def test_media_urls_map_to_local_files(tmp_path):
    export_dir = tmp_path / "exports"
    assert ls.resolve_media("/data/local-files/?d=runs%2Ftrack_1%2Fa%20b.mp4", tmp_path, export_dir)[0] == \
        tmp_path / "runs" / "track_1" / "a b.mp4"
    upload = ls.resolve_media("/data/upload/3/1a2b3c4d-match.mp4", tmp_path, export_dir)
    assert upload[:2] == [tmp_path / "upload" / "3" / "1a2b3c4d-match.mp4",
                          tmp_path / "media" / "upload" / "3" / "1a2b3c4d-match.mp4"]
    assert tmp_path / "match.mp4" in upload  # the original name, Label Studio's prefix removed
    assert ls.resolve_media("https://example.org/v/match.mp4?x=1", tmp_path, export_dir) == [tmp_path / "match.mp4",
                                                                                           tmp_path / "match.mp4"]
    assert ls.resolve_media("clips/a.mp4", None, export_dir) == [Path("clips/a.mp4"), export_dir / "clips/a.mp4",
                                                                 export_dir / "a.mp4"]


def test_cli_export_track(tmp_path):
    video = write_video(tmp_path / "match.mp4", 6)
    (tmp_path / "track.csv").write_text("frame,code,x,y\n" + "".join(f"{i},1,{10 + i}.00,20.00\n" for i in range(6)))
    done = subprocess.run([sys.executable, "-m", "data_prep.label_studio", "export", str(tmp_path / "track.csv"),
                           str(video), "--out", str(tmp_path / "ls"), "--tolerance-px", "0"], cwd=PROJECT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    region, = json.loads((tmp_path / "ls" / "tasks.json").read_text())[0]["predictions"][0]["result"]
    assert [k["frame"] for k in region["value"]["sequence"]] == [1, 2, 3, 4, 5, 6]
    done = subprocess.run([sys.executable, "-m", "data_prep.label_studio", "export", str(tmp_path / "track.csv"),
                           "--out", str(tmp_path / "ls")], cwd=PROJECT, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "needs the tracked VIDEO" in done.stderr


def test_cli_export_and_import(tmp_path):
    data = write_dataset(tmp_path)
    assert ls_cli.main(["export", str(data), "--out", str(tmp_path / "ls")]) == 0
    export = _write(tmp_path, accept_predictions(json.loads((tmp_path / "ls" / "tasks.json").read_text())))
    assert ls_cli.main(["import", str(export), "--out", str(tmp_path / "out"), "--media-root", str(tmp_path)]) == 0
    assert len(discover_clips(tmp_path / "out")) == 2
    assert ls_cli.main(["import", str(export), "--out", str(tmp_path / "out"), "--media-root", str(tmp_path)]) == 1


# ------------------------------------------------------------------------------------------------ the real server

class LabelStudio:
    """A Label Studio server on 127.0.0.1 from ``.venv-label-studio`` (``.ci/label_studio_setup.sh``), REST over
    urllib with the legacy token the start-up environment creates."""

    TOKEN = "0123456789abcdef0123456789abcdef01234567"

    def __init__(self, venv: Path, workdir: Path, document_root: Path):
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        data = workdir / "ls-data"
        template = venv / "template-data"
        if (template / "label_studio.sqlite3").is_file():  # migrated once by the setup script: starts in seconds
            shutil.copytree(template, data)
        env = dict(os.environ, LABEL_STUDIO_USERNAME="test@example.com", LABEL_STUDIO_PASSWORD="test-password-1",
                   LABEL_STUDIO_USER_TOKEN=self.TOKEN, LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
                   LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
                   LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(document_root), LABEL_STUDIO_BASE_DATA_DIR=str(data))
        for key in ("PYTHONPATH", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE"):  # the project's must not leak in
            env.pop(key, None)
        self.log = open(workdir / "label-studio.log", "wb")  # noqa: SIM115  (open while the server runs)
        self.process = subprocess.Popen([str(venv / "bin" / "label-studio"), "start", "--no-browser", "--port",
                                         str(port), "--internal-host", "127.0.0.1", "--data-dir", str(data)],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"label-studio exited with {self.process.returncode}; see {self.log.name}")
            try:
                self.api("GET", "/api/projects")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        raise RuntimeError(f"label-studio did not answer within {timeout:.0f} s; see {self.log.name}")

    def api(self, method: str, path: str, body=None):
        request = urllib.request.Request(self.url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Token {self.TOKEN}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                data = response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read()[:1000]!r}") from None
        return json.loads(data) if data else None

    def get_bytes(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Token {self.TOKEN}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def project(self, config: str, storage: Path) -> int:
        """A project with ``config`` and a Local Storage on ``storage`` (so its local-files URLs are served)."""
        project = self.api("POST", "/api/projects", {"title": "tennis ball", "label_config": config})["id"]
        self.api("POST", "/api/storages/localfiles", {"project": project, "path": str(storage), "title": "media",
                                                      "use_blob_urls": True})
        return project

    def import_tasks(self, project: int, tasks: list[dict]) -> list[dict]:
        self.api("POST", f"/api/projects/{project}/import", tasks)
        return self.tasks(project)

    def tasks(self, project: int) -> list[dict]:
        listing = self.api("GET", f"/api/tasks?project={project}&page_size=1000")
        return sorted(listing["tasks"] if isinstance(listing, dict) else listing, key=lambda t: t["id"])

    def annotate(self, task: int, result: list[dict], prediction: int | None = None) -> None:
        self.api("POST", f"/api/tasks/{task}/annotations", {"result": result, "was_cancelled": False,
                                                            "ground_truth": False, "lead_time": 1.0,
                                                            "parent_prediction": prediction})

    def accept_predictions(self, project: int) -> None:
        """Turn every task's prediction into its annotation, as a user accepting the pre-annotations does."""
        for task in self.tasks(project):
            full = self.api("GET", f"/api/tasks/{task['id']}")
            prediction = full["predictions"][0]
            self.annotate(task["id"], prediction["result"], prediction["id"])

    def export(self, project: int, path: Path) -> Path:
        tasks = self.api("GET", f"/api/projects/{project}/export?exportType=JSON&download_all_tasks=true")
        path.write_text(json.dumps(tasks, indent=1))
        return path

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str) -> None:
    """Skips the server tests on a machine without Label Studio; under CI (``CI=true``) fails them instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A running Label Studio whose local-files document root is ``server.root``; skipped without it (not in CI)."""
    venv = Path(os.environ.get("LABEL_STUDIO_VENV") or PROJECT / ".venv-label-studio")
    if not (venv / "bin" / "label-studio").is_file():
        if os.environ.get("CI") != "true" and os.environ.get("LABEL_STUDIO_TESTS") != "1":
            pytest.skip(f"no Label Studio in {venv}: its 1 GB install is opt-in outside CI "
                        "(LABEL_STUDIO_TESTS=1 bash run.sh test, or bash .ci/label_studio_setup.sh once)")
        setup = subprocess.run(["bash", str(PROJECT / ".ci" / "label_studio_setup.sh")], capture_output=True,
                               text=True, timeout=900, check=False)
        if setup.returncode != 0 or not (venv / "bin" / "label-studio").is_file():
            _unavailable(f"Label Studio could not be installed into {venv}: {setup.stderr[-500:]}")
    workdir = tmp_path_factory.mktemp("label_studio")
    root = workdir / "root"
    root.mkdir()
    instance = LabelStudio(venv, workdir, root)
    try:
        instance.wait(240)
    except RuntimeError as error:
        instance.close()
        _unavailable(f"Label Studio server did not start: {error}: "
                    f"{(workdir / 'label-studio.log').read_text(errors='replace')[-800:]}")
    instance.root = root
    yield instance
    instance.close()


@pytest.mark.slow
def test_server_round_trip_track(server, tmp_path):
    """track.csv -> tasks with predictions -> Label Studio -> annotations from predictions -> export -> clips."""
    run = server.root / "track_1"
    video = write_video(tmp_path / "match.mp4", 40)
    t = np.arange(40.0)
    codes = np.where((t % 17) < 13, 1, 0)
    codes[30:34] = 3
    xy = np.stack([3.9 * t + 2.3, 80 - 0.12 * (t - 20) ** 2], axis=1)
    xy[0] = [0.0, 0.0]
    xy[codes == 0] = -1
    run.mkdir()
    (run / "track.csv").write_text("frame,code,x,y\n" + "".join(f"{i},{c},{x:.2f},{y:.2f}\n" for i, (c, (x, y))
                                                                in enumerate(zip(codes, xy))))
    out_dir = run / "label_studio"
    tasks = json.loads(ls.export_track(run / "track.csv", video, out_dir, document_root=server.root).read_text())
    project = server.project((out_dir / "config.xml").read_text(), out_dir)
    stored = server.import_tasks(project, tasks)
    assert len(stored) == 1
    assert server.get_bytes(stored[0]["data"]["video"]) == video.read_bytes()  # Label Studio serves the video
    server.accept_predictions(project)
    export = server.export(project, tmp_path / "export.json")
    clip = load_clip(ls.import_export(export, tmp_path / "out", media_root=server.root)[0], require_labels=True)
    np.testing.assert_array_equal(clip.labels.codes, codes)
    np.testing.assert_allclose(clip.labels.xy, np.round(xy, 2), atol=0.5)
    if os.environ.get("LABEL_STUDIO_RECORD"):
        record_fixtures(server, tmp_path)


@pytest.mark.slow
def test_server_round_trip_dataset(server, tmp_path):
    """A data set -> image tasks with its labels as predictions -> Label Studio -> export -> the same labels."""
    data = write_dataset(server.root)
    tasks = json.loads(ls.export_dataset(data, tmp_path / "ls", document_root=server.root).read_text())
    project = server.project((tmp_path / "ls" / "config.xml").read_text(), data)
    stored = server.import_tasks(project, tasks)
    assert len(stored) == 5
    assert server.get_bytes(stored[1]["data"]["image"]) == (data / "game1" / "clip1" / "0001.jpg").read_bytes()
    server.accept_predictions(project)
    export = server.export(project, tmp_path / "export.json")
    ls.import_export(export, tmp_path / "out", media_root=server.root)
    for before, after in zip(discover_clips(data), discover_clips(tmp_path / "out"), strict=True):
        assert (before.game, before.clip, len(before)) == (after.game, after.clip, len(after))
        np.testing.assert_array_equal(before.labels.codes, after.labels.codes)
        np.testing.assert_allclose(before.labels.xy, after.labels.xy, atol=0.5)


def _box(frame: int, enabled: bool, x: float, y: float, width: float = 6.25, height: float = 100 / 9) -> dict:
    return {"frame": frame, "enabled": enabled, "time": frame / FPS, "x": x, "y": y, "width": width,
            "height": height, "rotation": 0}


def _region(rid: str, label: str, sequence: list[dict]) -> dict:
    return {"id": rid, "type": "videorectangle", "from_name": "box", "to_name": "video", "origin": "manual",
            "value": {"framesCount": VIDEO_FRAMES, "duration": VIDEO_FRAMES / FPS, "sequence": sequence,
                      "labels": [label]}}


def record_fixtures(server: LabelStudio, tmp_path: Path) -> None:
    """Post the hand-made annotations that VIDEO_EXPECTED and test_recorded_image_export describe, export them from
    the real server and store the exports as fixtures (media URLs relative to the document root)."""
    root = server.root
    write_video(root / "ls" / "clip.mp4")
    write_dataset(root)
    project = server.project(ls.video_config(), root / "ls")
    task = server.import_tasks(project, [{"data": {"video": ls.local_files_url("ls/clip.mp4"), "fps": FPS}}])[0]
    server.annotate(task["id"], [
        _region("ball", "ball", [_box(1, True, 0.0, 0.0), _box(4, True, 30.0, 40.0), _box(6, False, 50.0, 20.0)]),
        _region("hard", "ball_hard", [_box(7, False, 10.0, 50.0)]),
        _region("occluded", "ball_occluded", [_box(10, True, 96.875, 100 * 85 / 90)])])
    server.export(project, FIXTURES / "video_export.json")

    data = root / "data"
    config = ('<View>\n  <Image name="image" value="$image"/>\n'
              '  <KeyPointLabels name="ball" toName="image"><Label value="ball"/><Label value="ball_hard"/>'
              '</KeyPointLabels>\n  <RectangleLabels name="box" toName="image"><Label value="ball"/>'
              '<Label value="ball_hard"/></RectangleLabels>\n  <Choices name="visibility" toName="image">'
              '<Choice value="ball_hard"/><Choice value="ball_occluded"/></Choices>\n</View>\n')
    project = server.project(config, data)
    tasks = server.import_tasks(project, [{"data": {"image": ls.local_files_url(f"data/game1/clip{c}/{i:04d}.jpg")}}
                                          for c, n in ((1, 3), (2, 2)) for i in range(n)])
    size = {"original_width": 64, "original_height": 48, "image_rotation": 0, "to_name": "image"}
    server.annotate(tasks[0]["id"], [{"id": "p0", "type": "keypointlabels", "from_name": "ball", **size,
                                      "value": {"x": 25.0, "y": 50.0, "width": 0.5, "keypointlabels": ["ball"]}}])
    server.annotate(tasks[1]["id"], [{"id": "r1", "type": "rectanglelabels", "from_name": "box", **size,
                                      "value": {"x": 50.0, "y": 25.0, "width": 12.5, "height": 100 / 6,
                                                "rotation": 0, "rectanglelabels": ["ball_hard"]}}])
    server.annotate(tasks[2]["id"], [])
    server.annotate(tasks[3]["id"], [
        {"id": "p3", "type": "keypointlabels", "from_name": "ball", **size,
         "value": {"x": 100.0, "y": 100.0, "width": 0.5, "keypointlabels": ["ball"]}},
        {"id": "c3", "type": "choices", "from_name": "visibility", **size, "value": {"choices": ["ball_occluded"]}}])
    server.export(project, FIXTURES / "image_export.json")


def test_track_events_export_and_import_into_q(tmp_path):
    video = write_video(tmp_path / "match.mp4", 12)
    events = ["", "", "hit", "", "", "", "bounce", "", "", "", "", ""]
    track = tmp_path / "run" / "track.csv"
    track.parent.mkdir()
    track.write_text("frame,code,x,y,time_s,confidence,event\n" + "".join(
        f"{i},1,{10 + i}.00,20.00,{i / FPS:.3f},0.900,{e}\n" for i, e in enumerate(events)))
    tasks = json.loads(ls.export_track(track, video, tmp_path / "run" / "label_studio").read_text())
    assert '<TimelineLabels name="events"' in (tmp_path / "run" / "label_studio" / "config.xml").read_text()
    marked = [r for r in tasks[0]["predictions"][0]["result"] if r["type"] == "timelinelabels"]
    assert [(r["value"]["ranges"][0]["start"], r["value"]["timelinelabels"]) for r in marked] == [(3, ["hit"]),
                                                                                                 (7, ["bounce"])]
    export = _write(tmp_path, accept_predictions(tasks))
    clip = load_clip(ls.import_export(export, tmp_path / "out", media_root=tmp_path / "run")[0])
    assert clip.labels.traj.tolist() == [0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0]
