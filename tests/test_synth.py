"""The synthetic renderer: determinism, labels that sit on the drawn ball, occlusion and out-of-frame codes, and
output that the data layer reads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_prep.clips import discover_clips
from data_prep.synth import ClipRenderer, contact_sheet, render_clip, render_dataset
from cli.synth import main as synth_main
from data_prep.synth.camera import HALF_LENGTH, SINGLES_WIDTH, Camera, court_lines, random_broadcast_camera
from data_prep.synth.physics import SURFACE_BOUNCE, aim, fly
from data_prep.synth.render import RECORD, SeedMismatch

FRAMES = 8


@pytest.fixture(scope="module")
def renderer() -> ClipRenderer:
    return ClipRenderer(seed=5, game=1, clip=1, frames=FRAMES)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Game 1, clips 1-2 of seed 5, rendered by two worker processes."""
    root = tmp_path_factory.mktemp("synth")
    render_dataset(root, games=1, clips=2, seed=5, frames=FRAMES, workers=2, progress=False)
    return root


def test_same_seed_same_frames_and_labels(renderer):
    again = ClipRenderer(seed=5, game=1, clip=1, frames=FRAMES)
    for i in (FRAMES - 1, 0):  # any order: frames do not depend on which were rendered before
        a, b = renderer.render(i), again.render(i)
        assert np.array_equal(a.image, b.image)
        assert (a.code, a.xy, a.traj) == (b.code, b.xy, b.traj)


def test_frame_shape_and_label_domain(renderer):
    for frame in renderer:
        assert frame.image.shape == (720, 1280, 3) and frame.image.dtype == np.uint8
        assert frame.code in (0, 1, 2, 3)
        if frame.code == 0:
            assert frame.xy == (-1.0, -1.0)
        else:
            assert 0 <= frame.xy[0] <= 1279 and 0 <= frame.xy[1] <= 719


def _open_court_point(renderer: ClipRenderer, i: int) -> np.ndarray:
    """A point 1.2 m above the near service box, on the side away from the near player."""
    near = renderer.script.players[0].position(renderer.time(i))
    x = -2.0 if near[0] > 0 else 2.0
    return np.array([x, -4.0, 1.2])


def test_label_is_centroid_of_unblurred_ball(renderer):
    i = 3
    ball = _open_court_point(renderer, i)
    frame = renderer.render(i, ball=ball)
    u, v, _ = renderer.camera(i).project_point(ball)
    assert frame.code in (1, 2) and frame.visible > 0.99
    assert frame.xy == pytest.approx((u, v), abs=1e-9)
    mask = frame.ball_mask()
    ys, xs = np.nonzero(mask)
    weights = mask[ys, xs]
    centroid = np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()
    assert np.abs(centroid - np.array(frame.xy)).max() < 0.5
    # The pixels the ball changed in the image are centred on the label too.
    empty = renderer.render(i, no_ball=True)
    x0, y0 = int(u) - 8, int(v) - 8
    diff = np.abs(frame.image[y0:y0 + 17, x0:x0 + 17].astype(float) - empty.image[y0:y0 + 17, x0:x0 + 17]).sum(-1)
    ys, xs = np.nonzero(diff > 0.2 * diff.max())
    drawn = np.array([(xs * diff[ys, xs]).sum(), (ys * diff[ys, xs]).sum()]) / diff[ys, xs].sum() + [x0, y0]
    assert np.abs(drawn - np.array(frame.xy)).max() < 0.5


def test_motion_blur_streak_is_centred_on_label(renderer):
    i = 2
    ball = _open_court_point(renderer, i)
    frame = renderer.render(i, ball=ball, ball_velocity=np.array([25.0, 0.0, 0.0]))
    mask = frame.ball_mask()
    ys, xs = np.nonzero(mask)
    assert xs.max() - xs.min() > 2 * (ys.max() - ys.min())  # a horizontal streak
    centroid_x = (xs * mask[ys, xs]).sum() / mask[ys, xs].sum()
    assert abs(centroid_x - frame.xy[0]) < 0.5


def test_ball_behind_player_is_code_3(renderer):
    i = 4
    cam = renderer.camera(i)
    near = renderer.script.players[0].position(renderer.time(i))
    chest = np.array([near[0], near[1], 1.2])
    ray = chest - np.asarray(cam.position)
    ball = chest + 0.6 * ray / np.linalg.norm(ray)  # on the camera ray through the chest, 0.6 m behind it
    frame = renderer.render(i, ball=ball)
    assert frame.code == 3
    assert frame.visible < 0.5
    assert frame.xy == pytest.approx(tuple(cam.project_point(ball)[:2]), abs=1e-9)


def test_ball_out_of_view_or_absent_is_code_0(renderer):
    high = renderer.render(1, ball=np.array([0.0, 0.0, 60.0]))  # far above the top of the frame
    assert high.code == 0 and high.xy == (-1.0, -1.0)
    wide = renderer.render(1, ball=np.array([40.0, 0.0, 1.0]))  # far beyond the right edge
    assert wide.code == 0 and wide.xy == (-1.0, -1.0)
    none = renderer.render(1, no_ball=True)
    assert none.code == 0 and none.xy == (-1.0, -1.0) and none.ball is None


def test_camera_projects_court_sensibly():
    cam = random_broadcast_camera(np.random.default_rng(0))
    for start, end, _ in court_lines():
        uv, depth = cam.project(np.array([[*start, 0.0], [*end, 0.0]]))
        assert (depth > 0).all()
        assert (uv[:, 0] > 0).all() and (uv[:, 0] < 1280).all() and (uv[:, 1] > 0).all() and (uv[:, 1] < 720).all()
    # The homography between drifted views of one camera centre is exact for any point.
    moved = cam.drifted(pan=0.01, tilt=-0.005, zoom=1.03)
    point = np.array([3.0, 7.0, 2.5])
    u, v, _ = cam.project_point(point)
    mapped = cam.homography_to(moved) @ np.array([u, v, 1.0])
    assert mapped[:2] / mapped[2] == pytest.approx(moved.project_point(point)[:2], abs=1e-6)
    assert isinstance(moved, Camera)


def test_aimed_shot_lands_on_target():
    p0 = np.array([1.0, -12.5, 1.0])
    target = np.array([-2.0, 9.0])
    v0 = aim(p0, target, speed=28.0, lift=0.2)
    flight = fly(p0, v0, 0.0, 3.0, SURFACE_BOUNCE["hard"], lift=0.2)
    first = flight.bounces()[0]
    assert np.hypot(*(np.array(first.position[:2]) - target)) < 0.1
    assert abs(first.position[0]) < SINGLES_WIDTH / 2 and 0 < first.position[1] < HALF_LENGTH
    assert not any(e.kind == "net" for e in flight.events)


def test_rendered_clips_are_valid_data(dataset, renderer, tmp_path):
    clips = discover_clips(dataset)
    assert [(c.game, c.clip, len(c)) for c in clips] == [(1, 1, FRAMES), (1, 2, FRAMES)]
    assert all(c.size == (1280, 720) for c in clips)
    for i, frame in enumerate(renderer):
        assert clips[0].labels.codes[i] == frame.code
        if frame.code:
            assert clips[0].labels.xy[i] == pytest.approx(frame.xy, abs=1e-3)
    # Complete clips are skipped, so an interrupted render resumes where it stopped.
    assert render_clip(dataset, seed=5, game=1, clip=1, frames=FRAMES) == 0
    sheet = contact_sheet(dataset, tmp_path / "sheet.png", tiles=2, columns=2, tile_width=160)
    assert sheet.is_file() and sheet.stat().st_size > 0


def test_parallel_render_matches_serial(dataset, tmp_path):
    assert render_clip(tmp_path, seed=5, game=1, clip=2, frames=FRAMES) == FRAMES
    serial, parallel = tmp_path / "game1" / "clip2", dataset / "game1" / "clip2"
    files = sorted(p.name for p in serial.iterdir())
    assert files == sorted(p.name for p in parallel.iterdir()) and "labels.csv" in files
    assert all((serial / name).read_bytes() == (parallel / name).read_bytes() for name in files)


def test_another_seed_into_a_rendered_folder_is_refused(dataset):
    before = (dataset / "game1" / "clip1" / "labels.csv").read_bytes()
    with pytest.raises(SeedMismatch, match=rf"{dataset} holds synthetic data rendered with seed 5, not the seed 6"):
        render_dataset(dataset, games=1, clips=2, seed=6, frames=FRAMES, progress=False)
    with pytest.raises(SeedMismatch, match="seed 5"):
        render_clip(dataset, seed=6, game=1, clip=3, frames=FRAMES)
    with pytest.raises(SystemExit, match="error: .*seed 5, not the seed 7"):
        synth_main(["--out", str(dataset), "--games", "1", "--clips", "2", "--seed", "7", "--frames", str(FRAMES)])
    assert (dataset / "game1" / "clip1" / "labels.csv").read_bytes() == before
    assert not (dataset / "game1" / "clip3").exists()


def test_complete_folder_renders_nothing_and_shows_no_bar(dataset, capfd):
    render_dataset(dataset, games=1, clips=2, seed=5, frames=FRAMES, progress=True)
    assert "rendering" not in capfd.readouterr().err


def test_folder_without_a_seed_record_gets_one(tmp_path):
    (tmp_path / "game1" / "clip1").mkdir(parents=True)
    (tmp_path / "game1" / "clip1" / "labels.csv").write_text("file name,code,x,y,q\n")
    render_dataset(tmp_path, games=1, clips=1, seed=3, frames=1, progress=False)
    assert (tmp_path / RECORD).read_text().strip() == '{"seed": 3}'
    with pytest.raises(SeedMismatch):
        render_dataset(tmp_path, games=1, clips=1, seed=4, frames=1, progress=False)
