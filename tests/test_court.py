"""The court model (metres, keypoints, calls) and the court detector on a rendered frame, with its command line."""
from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

from cli.court import main
from data_prep.court import (KEYPOINT_NAMES, KEYPOINT_XY, LINES, call_bounce, court_to_world, fit_homography,
                             to_court, to_pixels, world_to_court)
from data_prep.synth.render import ClipRenderer
from tracking.court import detect_court


@pytest.fixture(scope="module")
def rendered():
    """A synthetic broadcast frame (RGB) and the exact pixel positions of its 14 keypoints."""
    renderer = ClipRenderer(0, 1, 1, frames=1)
    world = np.concatenate([court_to_world(KEYPOINT_XY), np.zeros((14, 1))], 1)
    uv, _ = renderer.camera(0).project(world)
    return renderer.render(0).image, uv


def test_model_names_and_lines_match_the_issue():
    assert len(KEYPOINT_NAMES) == 14 and KEYPOINT_NAMES[0] == "far_left_doubles"
    assert LINES.shape == (9, 2, 2)
    # Crossings lie half a line width inside the nominal court: the far-left doubles corner is (0.025, 0.05).
    np.testing.assert_allclose(KEYPOINT_XY[0], [0.025, 0.05])
    np.testing.assert_allclose(KEYPOINT_XY[KEYPOINT_NAMES.index("near_service_t")], [5.485, 18.26])
    xy = np.array([[1.0, 2.0], [10.0, 20.0]])
    np.testing.assert_allclose(world_to_court(court_to_world(xy)), xy)


def test_homography_round_trip():
    h = fit_homography(KEYPOINT_XY, KEYPOINT_XY * [50, 20] + [100, 80] + KEYPOINT_XY[:, 1:] * [[3, 0]])
    xy = np.array([[3.0, 4.0], [8.5, 20.0]])
    np.testing.assert_allclose(to_court(h, to_pixels(h, xy)), xy, atol=1e-9)


def test_bounce_calls_in_out_and_close():
    h = fit_homography(KEYPOINT_XY, KEYPOINT_XY * 40 + 100)  # 40 px a metre everywhere
    assert call_bounce(h, to_pixels(h, np.array([5.0, 12.0])), sigma_px=2).call == "in"
    out = call_bounce(h, to_pixels(h, np.array([0.5, 12.0])), sigma_px=2)  # in the doubles alley: out
    assert out.call == "out" and out.margin == pytest.approx(-0.87)
    # 3 cm inside the singles sideline, a 2 px error (5 cm) a sigma: close, either way.
    close = call_bounce(h, to_pixels(h, np.array([1.40, 12.0])), sigma_px=2)
    assert close.call == "close" and close.sigma == pytest.approx(0.05)
    assert call_bounce(h, to_pixels(h, np.array([9.62, 12.0])), sigma_px=2).call == "close"
    assert call_bounce(h, to_pixels(h, np.array([9.62, 12.0])), sigma_px=0.1).call == "out"
    # Long by 0.3 m but within the sidelines, the baseline is what is close or not.
    assert call_bounce(h, to_pixels(h, np.array([5.0, 24.07])), sigma_px=2).call == "out"


def test_lens_term_round_trip():
    from tracking.court import distort, undistort

    uv = np.array([[0.0, 0.0], [1279.0, 719.0], [640.0, 100.0]])
    np.testing.assert_allclose(undistort(distort(uv, 0.12, (1280, 720)), 0.12, (1280, 720)), uv, atol=1e-3)
    assert undistort(uv, 0.12, (1280, 720))[0, 0] < 0  # barrel: an ideal image reaches beyond the corner


def test_detects_a_rendered_court_to_a_pixel(rendered):
    image, truth = rendered
    fit = detect_court(image)
    assert fit is not None
    found = np.array(list(fit.keypoints().values()))
    inside = (truth[:, 0] >= 0) & (truth[:, 0] < 1280) & (truth[:, 1] >= 0) & (truth[:, 1] < 720)
    assert np.hypot(*(found - truth)[inside].T).max() < 1.0


def test_no_court_in_a_picture_without_one():
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8), (9, 9), 0)
    assert detect_court(noise) is None
    assert detect_court(np.full((480, 640, 3), 90, np.uint8)) is None


def test_command_line(tmp_path, rendered, capsys):
    image, truth = rendered
    small = cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA)  # any size: keypoints in its own pixels
    cv2.imwrite(str(tmp_path / "frame.png"), small[..., ::-1])
    assert main([str(tmp_path / "frame.png"), "--out", str(tmp_path / "court.json")]) == 0
    result = json.loads((tmp_path / "court.json").read_text())
    assert result["size"] == [640, 360] and set(result["keypoints"]) == set(KEYPOINT_NAMES)
    assert np.array(result["homography"]).shape == (3, 3)
    np.testing.assert_allclose(result["keypoints"]["near_service_t"], truth[13] / 2, atol=1.0)

    cv2.imwrite(str(tmp_path / "grey.png"), np.full((100, 100, 3), 90, np.uint8))
    assert main([str(tmp_path / "grey.png"), "--out", str(tmp_path / "none.json")]) == 0
    assert json.loads((tmp_path / "none.json").read_text()) == {"court": None}

    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    assert main([str(tmp_path / "bad.jpg"), "--out", str(tmp_path / "x.json")]) == 2
    assert main([str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'bad.jpg'}:" in err and f"error: {tmp_path / 'missing.mp4'}: no such file" in err


def test_shots_courts_events_and_rally_files(tmp_path, rendered):
    from data_prep.court import to_pixels
    from tracking.court import distort
    from tracking.rally import CourtWatch, draw_minimap, events_from_status, place_events, write_rally

    image, _ = rendered
    grey = np.full_like(image, 90)
    watch = CourtWatch()
    frames = [image, image, grey, grey, image]  # a cut to a view without a court and back
    assert len(list(watch.watch(frames))) == 5
    assert watch.shot_of == [0, 0, 1, 1, 2] and watch.starts == [0, 2, 4]
    assert watch.has_court().tolist() == [True, True, False, False, True]
    fit = watch.court(0)

    def pixels(metres):
        return distort(to_pixels(fit.homography, np.array(metres)), fit.distortion, fit.size)

    xy = np.full((5, 2), -1.0)
    xy[0] = pixels([5.0, 20.0])  # a hit on the near side
    xy[1] = pixels([9.0, 3.0])  # a bounce deep in the far court: in
    xy[3] = [600, 300]  # a bounce in a frame without a court: no metres, no call
    xy[4] = pixels([10.3, 3.0])  # in the far doubles alley: out
    placed = place_events(events_from_status([1, 2, 0, 2, 2]), xy, watch)
    assert [(p.frame, p.kind, p.call) for p in placed] == [(0, "hit", ""), (1, "bounce", "in"), (3, "bounce", ""),
                                                          (4, "bounce", "out")]
    np.testing.assert_allclose(placed[1].xy, [9.0, 3.0], atol=1e-3)
    assert placed[2].xy is None
    write_rally(tmp_path, placed, watch, fps=30.0)
    rally = json.loads((tmp_path / "rally.json").read_text())
    assert rally["frames_without_court"] == [[2, 3]] and rally["summary"]["calls"] == {"in": 1, "out": 1, "close": 0}
    assert (tmp_path / "rally.csv").read_text().splitlines()[2].startswith("1,bounce,")
    drawn = list(draw_minimap(frames, placed, watch))
    assert drawn[1].shape == image.shape and not np.array_equal(drawn[1], image)  # the mini-map is in the corner


def test_a_shot_whose_first_frame_hides_the_court_is_looked_at_again(monkeypatch, rendered):
    import tracking.rally as rally

    image, _ = rendered
    # The first two looks miss (a player over the lines: court-like, no fit), the third finds it.
    answers = iter([(None, True), (None, True), ("court", True)])
    monkeypatch.setattr(rally, "search_court", lambda frame: next(answers))
    watch = rally.CourtWatch()
    list(watch.watch([image] * 25))
    assert watch.starts == [0] and watch.courts == ["court"]  # frames 0, 10 and 20 looked at; one shot, its court
    # A shot with nothing court-like on its first frame (a close-up) is not looked at again.
    answers = iter([(None, False)])
    watch = rally.CourtWatch()
    list(watch.watch([image] * 25))
    assert watch.courts == [None] and watch.detections == 1


def test_a_pan_reuses_the_last_court_moved_by_the_camera(monkeypatch, rendered):
    import tracking.rally as rally
    from tracking.rally import CourtWatch

    image, _ = rendered
    monkeypatch.setattr(rally, "CUT_LEVEL", 5.0)  # a rendered court has less texture than a broadcast's stands
    # The camera pans 60 px left and zooms in 3 % about the centre: a new shot, the same court moved.
    pan = cv2.getRotationMatrix2D((640, 360), 0, 1.03) + [[0, 0, -60], [0, 0, 0]]
    panned = cv2.warpAffine(image, pan, (1280, 720), borderMode=cv2.BORDER_REFLECT)
    watch = CourtWatch()
    list(watch.watch([image, panned]))
    assert watch.starts == [0, 1] and watch.detections == 1 and watch.reused == 1
    searched = detect_court(panned)
    reused = np.array(list(watch.courts[1].keypoints().values()))
    assert np.abs(reused - np.array(list(searched.keypoints().values()))).max() < 0.5
    # A cut to a picture without the court: the last court does not fit it, the full search says "no court".
    list(watch.watch([np.full_like(image, 90)]))
    assert watch.courts[2] is None and watch.detections == 2 and watch.reused == 1


def test_track_py_reports_no_ball_in_a_shot_without_the_court(tmp_path, rendered):
    from types import SimpleNamespace

    from evaluation.predictions import Track
    from tracking.video_job import track_source

    class BallEverywhere:  # a tracker that sees a ball in every frame, even where the court is gone
        def track_frames(self, frames, total=None, desc=""):
            n = sum(1 for _ in frames)
            return SimpleNamespace(track=Track(np.ones(n, np.int64), np.full((n, 2), 300.0)), confidence=np.ones(n))

    image, _ = rendered
    folder = tmp_path / "frames"
    folder.mkdir()
    frames = [image] * 6 + [np.full_like(image, 90)] * 4 + [image] * 6  # a cut away from the court and back
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    summary = track_source(BallEverywhere(), folder, tmp_path / "out", overlay=False, events=False)
    assert summary["frames_without_court"] == 4 and summary["frames_with_ball"] == 12
    with open(tmp_path / "out" / "track.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["code"] for row in rows] == ["1"] * 6 + ["0"] * 4 + ["1"] * 6
    assert all(float(row["x"]) == -1 and float(row["confidence"]) == 0 for row in rows[6:10])
