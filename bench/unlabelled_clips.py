"""Detections off the court on unlabelled broadcasts, two trackers side by side, and a contact sheet of where they
differ.

    python bench/unlabelled_clips.py --data data/tennis_unlabelled --weights OLD.pt NEW.pt \
        [--area-from data/tennis_unlabelled data/tennis_pseudo2] [--sheet docs/unlabelled_contact_sheet.jpg]

With no labels, a clip's play area (the failure breakdown's: :func:`evaluation.breakdown.play_area_distance`, the
convex hull of where the ball went, grown by ``PLAY_AREA_MARGIN_PX``) is drawn from the confident pseudo-labels
(confidence > 0) of the ``--area-from`` roots, pooled, so that no single tracker's output defines it. A detection
outside it is "off the court" (crowd, boards, scoreboard, ball kids). Printed per tracker: detections and off-court
detections per 1,000 frames, pooled over clips, and per clip. The sheet has one tile per clip: the frame where the
trackers disagree most (an off-court detection of either first), the first tracker's ball in red, the second's in
cyan, the play area in grey.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from measure import report

from data_prep.clips import discover_clips, read_frame
from evaluation.breakdown import PLAY_AREA_MARGIN_PX, play_area_distance
from tracking.tracker import Tracker

COLOURS = ((60, 60, 255), (255, 220, 0))  # BGR: first tracker red, second cyan
TILE_WIDTH, COLUMNS = 320, 5


def play_areas(roots: list[Path]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per clip name, (codes, xy) of its confident balls pooled over the label roots."""
    pooled: dict[str, list] = {}
    for root in roots:
        for clip in discover_clips(root):
            keep = clip.labels.trains & (clip.labels.codes > 0)
            pooled.setdefault(clip.name, []).append((clip.labels.codes[keep], clip.labels.xy[keep]))
    return {name: (np.concatenate([c for c, _ in parts]), np.concatenate([xy for _, xy in parts]))
            for name, parts in pooled.items()}


def pick_frame(tracks: list, off: list[np.ndarray]) -> int:
    """The frame to show: an off-court detection of either tracker where they disagree, else the widest
    disagreement, else the middle frame."""
    a, b = tracks[0], tracks[-1]
    present = (a.codes > 0) & (b.codes > 0)
    gap = np.where(present, np.linalg.norm(a.xy - b.xy, axis=1), 0.0)
    gap = np.where((a.codes > 0) != (b.codes > 0), 50.0, gap)
    score = gap + 1000.0 * (off[0] | off[-1]) * (gap > 8)
    return int(np.argmax(score)) if score.max() > 8 else len(a.codes) // 2


def tile(frame_bgr: np.ndarray, tracks: list, t: int, area: np.ndarray, caption: str) -> np.ndarray:
    canvas = frame_bgr.copy()
    if len(area) >= 3:
        cv2.polylines(canvas, [cv2.convexHull(area.astype(np.float32)).astype(np.int32)], True, (170, 170, 170), 2)
    for track, colour in zip(tracks, COLOURS):
        if track.codes[t] > 0:
            cv2.circle(canvas, (round(track.xy[t, 0]), round(track.xy[t, 1])), 18, colour, 4, cv2.LINE_AA)
    scale = TILE_WIDTH / canvas.shape[1]
    small = cv2.resize(canvas, (TILE_WIDTH, round(canvas.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(small, caption, (4, small.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, width,
                    cv2.LINE_AA)
    return small


def sheet(tiles: list[np.ndarray]) -> np.ndarray:
    height = max(t.shape[0] for t in tiles)
    padded = [cv2.copyMakeBorder(t, 0, height - t.shape[0], 0, 0, cv2.BORDER_CONSTANT) for t in tiles]
    padded += [np.zeros_like(padded[0])] * (-len(padded) % COLUMNS)
    return np.vstack([np.hstack(padded[i:i + COLUMNS]) for i in range(0, len(padded), COLUMNS)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="unlabelled clips in the assignment layout")
    parser.add_argument("--weights", nargs=2, required=True, metavar=("BEFORE", "AFTER"), help="two tracker bundles")
    parser.add_argument("--area-from", nargs="+", help="roots whose confident pseudo-labels draw each clip's play "
                                                       "area; default: --data")
    parser.add_argument("--sheet", help="write the contact sheet here (.jpg or .png)")
    args = parser.parse_args()
    clips = discover_clips(args.data)
    areas = play_areas([Path(r) for r in (args.area_from or [args.data])])
    no_area = (np.zeros(0, np.int64), np.zeros((0, 2)))
    trackers = [Tracker.load(w) for w in args.weights]
    totals = np.zeros((2, 2), np.int64)  # (tracker, [detections, off court])
    frames, rows, tiles = 0, [], []
    for clip in clips:
        codes, xy = areas.get(clip.name, no_area)
        tracks = [tracker.track_clip(clip) for tracker in trackers]
        off = []
        for track in tracks:
            inside = play_area_distance(codes, xy, track.xy) >= -PLAY_AREA_MARGIN_PX
            off.append((track.codes > 0) & ~inside)
        counts = [(int((tr.codes > 0).sum()), int(o.sum())) for tr, o in zip(tracks, off)]
        totals += np.array(counts)
        frames += len(clip.frames)
        rows.append((clip.name, f"{len(clip.frames)} frames, off court {counts[0][1]} -> {counts[1][1]}, "
                                f"detections {counts[0][0]} -> {counts[1][0]}"))
        if args.sheet:
            t = pick_frame(tracks, off)
            caption = f"{clip.name} #{t}  off court {counts[0][1]} -> {counts[1][1]}"
            tiles.append(tile(read_frame(clip.frames[t])[..., ::-1], tracks, t, xy, caption))
    per_k = 1000.0 * totals / max(frames, 1)
    report("unlabelled_clips", rows + [
        ("clips / frames", f"{len(clips)} / {frames}"),
        ("detections per 1,000 frames", f"{per_k[0, 0]:.0f} -> {per_k[1, 0]:.0f}"),
        ("off-court detections per 1,000 frames", f"{per_k[0, 1]:.1f} -> {per_k[1, 1]:.1f}"),
    ], {"frames": frames, "clips": len(clips), "weights": args.weights,
        "detections_per_1000": per_k[:, 0].tolist(), "off_court_per_1000": per_k[:, 1].tolist()})
    if args.sheet and tiles:
        Path(args.sheet).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(args.sheet, sheet(tiles), [cv2.IMWRITE_JPEG_QUALITY, 80])
        print(f"contact sheet: {args.sheet} ({len(tiles)} clips; red {args.weights[0]}, cyan {args.weights[1]})")


if __name__ == "__main__":
    main()
