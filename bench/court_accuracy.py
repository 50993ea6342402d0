"""How well tracking.court finds the court, and how fast: prints one JSON line per part and a summary.

    python bench/court_accuracy.py [--synthetic-games 11 30] [--skip-views]

- **real**: keypoint error in pixels at 1280 wide against the reference frames of ``bench/court_reference.json``
  (made and checked by eye with ``bench/court_reference.py``; the footage under ../shared/data, skipped when absent):
  mean over all keypoints, the worst frame's mean, the worst single keypoint.
- **synthetic**: the same against the renderer's exact keypoints (its camera projects the court's crossings) on
  frames of games the detector never saw (it learns nothing; games 11-30, seed 0, JPEG as the data set is
  written), keypoints inside the frame only.
- **views**: "no court" precision and recall on the frames listed in ``bench/court_views.json``, labelled by eye:
  broadcast close-ups and crowd shots and other sports' courts (handball, badminton) as "no court", main-camera
  frames of the shared broadcasts as "court".
- **time**: per detection, wall and CPU time of this process (on a shared machine the CPU time is the one to
  read: the work done, all threads together; the wall time adds the waits for a core), over all detections and
  apart for those that found a court and those that did not.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_prep.court import KEYPOINT_NAMES, KEYPOINT_XY, court_to_world  # noqa: E402
from data_prep.synth.render import ClipRenderer  # noqa: E402
from data_prep.video import read_still  # noqa: E402
from tracking.court import detect_court  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / ".." / "shared" / "data"


def timed(rgb: np.ndarray, times: list[tuple[float, float, bool]]):
    """Detect, appending (wall seconds, this process's CPU seconds, court found): on a machine shared with other jobs
    the CPU time is what the detection would take alone (the wall time adds the waits for a core)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fit = detect_court(rgb)
    times.append((time.perf_counter() - wall, time.process_time() - cpu, fit is not None))
    return fit


def errors(fit, truth: dict[str, list[float]], width: int) -> np.ndarray:
    """Pixel distances (at 1280 wide) of the detected keypoints to ``truth``; a missed court counts as NaN."""
    if fit is None:
        return np.full(len(truth), np.nan)
    found = fit.keypoints()
    return np.array([np.hypot(*(np.array(found[k]) - truth[k])) for k in truth]) * 1280 / width


def summary(per_frame: list[np.ndarray], names: list[str]) -> dict:
    missed = [n for n, e in zip(names, per_frame) if np.isnan(e).any()]
    found = [(n, e) for n, e in zip(names, per_frame) if not np.isnan(e).any()]
    if not found:
        return {"frames": len(per_frame), "missed": missed}
    all_err = np.concatenate([e for _, e in found])
    worst_name, worst = max(found, key=lambda f: f[1].mean())
    return {"frames": len(per_frame), "missed": missed, "mean_px": round(float(all_err.mean()), 2),
            "median_px": round(float(np.median(all_err)), 2), "worst_frame": worst_name,
            "worst_frame_mean_px": round(float(worst.mean()), 2), "worst_keypoint_px": round(float(all_err.max()), 2)}


def real(times: list) -> dict | None:
    refs = json.loads((HERE / "court_reference.json").read_text())
    per_frame, names = [], []
    for ref in refs:
        path = DATA / ref["video"]
        if not path.exists():
            continue
        rgb = read_still(path, ref["frame"])
        fit = timed(rgb, times)
        per_frame.append(errors(fit, ref["keypoints"], rgb.shape[1]))
        names.append(f"{Path(ref['video']).stem}:{ref['frame']}")
        print(json.dumps({"real": names[-1], "mean_px": round(float(per_frame[-1].mean()), 2)}))
    return summary(per_frame, names) if per_frame else None


def synthetic(games: range, frames: tuple[int, ...], times: list) -> dict:
    per_frame, names = [], []
    world = np.concatenate([court_to_world(KEYPOINT_XY), np.zeros((len(KEYPOINT_XY), 1))], 1)
    for game in games:
        renderer = ClipRenderer(0, game, 1, frames=max(frames) + 1)
        for i in frames:
            rgb = renderer.render(i).image
            ok, jpeg = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, renderer.quality])
            rgb = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1].copy()
            uv, _ = renderer.camera(i).project(world)
            w, h = renderer.camera(i).size
            truth = {n: uv[k].tolist() for k, n in enumerate(KEYPOINT_NAMES)
                     if 0 <= uv[k, 0] < w and 0 <= uv[k, 1] < h}
            fit = timed(rgb, times)
            per_frame.append(errors(fit, truth, w))
            names.append(f"game{game}:{i}")
    return summary(per_frame, names)


def views(times: list) -> dict | None:
    labels = json.loads((HERE / "court_views.json").read_text())
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}  # positive = "no court"
    wrong = []
    by_source: dict[str, list[tuple[int, str]]] = {}
    for kind, items in labels.items():
        for video, frame in items:
            by_source.setdefault(video, []).append((frame, kind))
    for video, wanted in by_source.items():
        path = DATA / video
        if not path.exists():
            continue
        for frame, kind, rgb in _frames(path, sorted(wanted)):
            said_none = timed(rgb, times) is None
            truth_none = kind == "no_court"
            key = ("tp" if truth_none else "fp") if said_none else ("fn" if truth_none else "tn")
            counts[key] += 1
            if key in ("fp", "fn"):
                wrong.append(f"{video}:{frame} ({kind})")
    if not sum(counts.values()):
        return None
    precision = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
    recall = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
    return {**counts, "no_court_precision": round(precision, 3), "no_court_recall": round(recall, 3), "wrong": wrong}


def _frames(path: Path, wanted: list[tuple[int, str]]):
    """(frame, label, RGB) for the wanted frames of a video (decoded once, in order) or of an image."""
    if path.suffix.lower() in (".jpg", ".png"):
        yield wanted[0][0], wanted[0][1], read_still(path)
        return
    labels = dict(wanted)
    capture = cv2.VideoCapture(str(path))
    index = 0
    while index <= max(labels):
        ok, bgr = capture.read()
        if not ok:
            break
        if index in labels:
            yield index, labels[index], cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        index += 1
    capture.release()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic-games", type=int, nargs=2, default=(11, 30), metavar=("FIRST", "LAST"))
    parser.add_argument("--synthetic-frames", type=int, nargs="+", default=(0, 60))
    parser.add_argument("--skip-views", action="store_true", help="leave out the no-court precision/recall part")
    args = parser.parse_args(argv)
    times: list[tuple[float, float, bool]] = []
    out = {"real": real(times)}
    print(json.dumps({"real": out["real"]}))
    out["synthetic"] = synthetic(range(args.synthetic_games[0], args.synthetic_games[1] + 1),
                                 tuple(args.synthetic_frames), times)
    print(json.dumps({"synthetic": out["synthetic"]}))
    if not args.skip_views:
        out["views"] = views(times)
        print(json.dumps({"views": out["views"]}))
    t = np.array(times)
    found = t[:, 2] > 0
    for part, rows in (("time_ms", t), ("time_ms_court_found", t[found]), ("time_ms_no_court", t[~found])):
        if not len(rows):
            continue
        out[part] = {"detections": len(rows), **{f"{kind}_{stat}": round(float(f(1000 * rows[:, k])), 1)
                                                 for k, kind in enumerate(("wall", "cpu"))
                                                 for stat, f in (("mean", np.mean), ("median", np.median),
                                                                 ("p90", lambda x: np.percentile(x, 90)))}}
        print(json.dumps({part: out[part]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
