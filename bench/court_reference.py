"""Make reference court keypoints for real frames, to measure the detector against (bench/court_accuracy.py).

    python bench/court_reference.py --out bench/court_reference.json --overlays runs/court_refs

For each frame listed in ``FRAMES`` (video under ../shared/data, frame index, a rough court), every one of the
court's 9 lines is found on its own and the keypoints are the crossings of those lines:

1. **Rough court**: 4 rough keypoints given by hand (``init``, read off the frame by eye), or where none are given the
   detector's own fit (tracking.court) used *only* as a starting point.
2. **Each line alone**: across the rough line every 3 px, the ridge's centre (the brightest lobe's centroid,
   tracking.court's ridge search, within 10 px), then a straight line through those points by total least squares
   with outliers beyond 1.5 px dropped: no court model, no homography, so a line is not pulled by the others.
3. **Keypoints**: the crossings of those lines, each line refitted on its ridge points within 120 px of the
   crossing (a lens's barrel distortion bends a whole baseline by up to 6 px: game5's near baseline).
4. **By eye**: an overlay per frame with every fitted line, the keypoints and close-ups of the four outer corners and
   the two ``t`` points is written to ``--overlays``; each was looked at. Every keypoint where the detector and the
   reference then disagreed by more than 1.5 px was looked at again on a 20x close-up with a pixel grid, and the
   wrong ones set by hand (``HAND_FIXES``; 3 of 237: the detector was right at two, neither at the third).

The reference therefore does not share the detector's hypothesis search or its homography fit, only the ridge
centre (a local, model-free measurement); its error is that of a line fit to 100-300 ridge points each.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_prep.court import KEYPOINT_NAMES, KEYPOINTS, LINES, fit_homography  # noqa: E402
from data_prep.video import read_still  # noqa: E402
from tracking.court import _ridge_points, _whiteness, detect_court  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
# (video relative to ../shared/data, frame, rough keypoints {name: [x, y]} in the frame's pixels or None)
FRAMES: list[tuple[str, int, dict | None]] = [
    ("tennis_videos/ao2025_screen_60fps.m4v", 349, None),
    ("tennis_videos/atp_finals_london_1080p.mp4", 77, None),
    ("tennis_videos/australian_open_720p.mp4", 64, None),
    ("tennis_videos/cincinnati_720p25.mp4", 112, None),
    ("tennis_videos/daviscup_malaga_720p.mp4", 63, None),
    ("tennis_videos/halle_grass_1080p.mp4", 113, None),
    ("tennis_videos/madrid_clay_1080p50.mp4", 268, None),
    ("tennis_videos/miami_teal_720p50.mp4", 383, None),
    ("tennis_videos/montecarlo_clay_1080p.mp4", 84, None),
    ("tennis_videos/paris_indoor_1080p.mp4", 62, None),
    ("tennis_videos/pro_hardcourt_720p.mp4", 208, None),
    ("tennis_videos/rotterdam_indoor_1080p25.mp4", 152, None),
    ("tennis_videos/tokyo_indoor_1080p50.mp4", 304, None),
    ("tennis_videos/wimbledon_720p25.mp4", 260, None),
    ("tennis_labelled/game5_clip1.mp4", 77, None),
    ("tennis_labelled/game6_clip1.mp4", 50, None),
    ("tennis_labelled/game8_clip9.mp4", 119, None),
]
# Keypoints corrected by hand after looking at 20x close-ups with a pixel grid (``(video, frame): {name: [x, y]}``),
# where the line fits had gone wrong: game5's far service line lies 10 px under the net's band, which pulled its
# local fit; game6's near-left corner fit was 3 px off the crossing.
HAND_FIXES: dict[tuple[str, int], dict[str, list[float]]] = {
    ("tennis_labelled/game5_clip1.mp4", 77): {"far_service_left": [485.3, 166.5], "far_service_right": [813.0, 166.5]},
    ("tennis_labelled/game6_clip1.mp4", 50): {"near_left_doubles": [217.3, 598.7]},
}
# The lines whose crossings make each keypoint: (horizontal line index, vertical line index) into LINES.
_H = {round(float(a[1]), 4): k for k, (a, b) in enumerate(LINES) if abs(a[1] - b[1]) < 1e-9}
_V = {round(float(a[0]), 4): k for k, (a, b) in enumerate(LINES) if abs(a[0] - b[0]) < 1e-9}
CROSSINGS = {name: (_H[round(y, 4)], _V[round(x, 4)]) for name, (x, y) in KEYPOINTS.items()}


def _tls(p: np.ndarray) -> np.ndarray | None:
    """Line (a, b, c) through (N, 2) points by total least squares, points beyond 1.5 px dropped and refitted."""
    keep = np.ones(len(p), bool)
    for _ in range(3):
        if keep.sum() < 6:
            return None
        centre = p[keep].mean(0)
        normal = np.linalg.svd(p[keep] - centre)[2][1]
        dist = np.abs((p - centre) @ normal)
        keep = dist < max(1.5, 2.5 * np.median(dist))
    return np.array([normal[0], normal[1], -normal @ centre]) if keep.sum() >= 6 else None


def ridge_samples(white: np.ndarray, h: np.ndarray, radius: float = 10.0) -> dict[int, np.ndarray]:
    """Ridge centres across each rough model line every 3 px: ``{line index: (N, 2) pixels}``."""
    points, index, _, _ = _ridge_points(white, h, radius, spacing=3.0)
    return {k: points[index == k] for k in range(len(LINES)) if (index == k).sum() >= 6}


def fit_lines(samples: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Each model line fitted alone over its whole length: ``{line index: (a, b, c)}``."""
    return {k: line for k, p in samples.items() if (line := _tls(p)) is not None}


def local_crossing(samples: dict[int, np.ndarray], a: int, b: int, start: np.ndarray, reach: float = 120.0):
    """The crossing of lines ``a`` and ``b`` each refitted on its ridge points within ``reach`` px of the crossing:
    a lens's barrel distortion bends long lines by several pixels, locally they are straight."""
    point = start
    for _ in range(3):
        la = _tls(samples[a][np.linalg.norm(samples[a] - point, axis=1) < reach])
        lb = _tls(samples[b][np.linalg.norm(samples[b] - point, axis=1) < reach])
        if la is None or lb is None:
            return None
        p = np.cross(la, lb)
        point = p[:2] / p[2]
    return point


def reference(rgb: np.ndarray, init: dict | None) -> tuple[dict[str, list[float]], dict[int, np.ndarray]] | None:
    """Reference keypoints of one frame (frame pixels), those whose two lines were both fitted, and the fitted lines
    (at 1280 wide)."""
    hgt, wid = rgb.shape[:2]
    s = 1280 / wid
    big = cv2.resize(rgb, (1280, round(hgt * s)), interpolation=cv2.INTER_AREA) if wid != 1280 else rgb
    if init:
        names = list(init)
        h = fit_homography(np.array([KEYPOINTS[n] for n in names]), np.array([init[n] for n in names]) * s)
    else:
        fit = detect_court(rgb)
        if fit is None:
            return None
        h = np.diag([s, s, 1.0]) @ fit.homography
    samples = ridge_samples(_whiteness(big), h)
    lines = fit_lines(samples)
    out = {}
    for name in KEYPOINT_NAMES:
        a, b = CROSSINGS[name]
        if a in lines and b in lines:
            p = np.cross(lines[a], lines[b])
            point = local_crossing(samples, a, b, p[:2] / p[2])
            if point is not None:
                out[name] = [float(point[0] / s), float(point[1] / s)]
    return out, lines


def overlay(rgb: np.ndarray, points: dict[str, list[float]], lines: dict[int, np.ndarray]) -> np.ndarray:
    """BGR picture: the frame at 1280 wide with the fitted lines, the keypoints, and 4x close-ups of six of them."""
    hgt, wid = rgb.shape[:2]
    s = 1280 / wid
    im = cv2.cvtColor(cv2.resize(rgb, (1280, round(hgt * s)), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
    base = im.copy()
    for a, b, c in lines.values():  # each fitted line across the frame
        horizontal = abs(b) > abs(a)
        ends = [(0, -c / b), (1280, -(c + a * 1280) / b)] if horizontal else [(-c / a, 0), (-(c + b * 720) / a, 720)]
        cv2.line(im, *[tuple(np.round(np.array(e) * 4).astype(int)) for e in ends], (0, 0, 255), 1, cv2.LINE_AA, 2)
    zooms = []
    for name in ("far_left_doubles", "far_right_doubles", "near_left_doubles", "near_right_doubles",
                 "far_service_t", "near_service_t"):
        if name not in points:
            continue
        x, y = np.array(points[name]) * s
        x0, y0 = int(np.clip(round(x) - 12, 0, 1256)), int(np.clip(round(y) - 12, 0, im.shape[0] - 24))
        crop = cv2.resize(base[y0:y0 + 24, x0:x0 + 24], (212, 212), interpolation=cv2.INTER_CUBIC)
        cv2.drawMarker(crop, (round((x - x0 + 0.5) * 212 / 24 - 0.5), round((y - y0 + 0.5) * 212 / 24 - 0.5)),
                       (0, 0, 255), cv2.MARKER_CROSS, 24, 1)
        cv2.putText(crop, name, (2, 12), 0, 0.4, (0, 255, 255), 1)
        zooms.append(crop)
    for name, (x, y) in points.items():
        cv2.circle(im, (round(x * s), round(y * s)), 3, (0, 255, 255), 1)
    strip = np.zeros((212, im.shape[1], 3), np.uint8)
    if zooms:
        row = np.hstack(zooms)[:, :im.shape[1]]
        strip[:, :row.shape[1]] = row
    return np.vstack([im, strip])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("court_reference.json"))
    parser.add_argument("--overlays", type=Path, default=Path("runs/court_refs"), help="pictures to check by eye")
    args = parser.parse_args(argv)
    args.overlays.mkdir(parents=True, exist_ok=True)
    refs = []
    for video, frame, init in FRAMES:
        path = DATA / video
        if not path.exists():
            print(f"skip {video}: absent")
            continue
        rgb = read_still(path, frame)
        points, lines = reference(rgb, init) or ({}, {})
        if len(points) < 4:
            print(f"{video} {frame}: no reference ({len(points or {})} keypoints)")
            continue
        fixes = HAND_FIXES.get((video, frame), {})
        points.update(fixes)
        picture = args.overlays / f"{Path(video).stem}_{frame}.png"
        cv2.imwrite(str(picture), overlay(rgb, points, lines))
        refs.append({"video": video, "frame": frame, "size": [rgb.shape[1], rgb.shape[0]],
                     "init": "by hand" if init else "detector", "corrected_by_hand": sorted(fixes),
                     "keypoints": {k: [round(v, 2) for v in xy] for k, xy in points.items()}})
        print(f"{video} {frame}: {len(points)} keypoints -> {picture}")
    args.out.write_text(json.dumps(refs, indent=1) + "\n")
    print(f"{len(refs)} reference frames: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
