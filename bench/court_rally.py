"""The court chain on a labelled real clip: camera shots and courts, the labelled bounces and hits placed in
metres with in / out / close calls, ``rally.json`` / ``rally.csv`` and an overlay with the mini-map.

    python bench/court_rally.py ../shared/data/tennis_labelled/game6_clip1.mp4 --out runs/court_rally [--still 80]

The labels stand in for the tracker and the event detector (status 1 hit, 2 bounce; x, y the ball): this shows
what the court adds, with the events right. ``--still N`` also writes frame N of the overlay as ``still.jpg``
(960 wide).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_prep.video import iter_video_frames, video_fps  # noqa: E402
from evaluation.predictions import Track  # noqa: E402
from evaluation.report import write_video  # noqa: E402
from evaluation.visualize import draw_track  # noqa: E402
from tracking.rally import CourtWatch, draw_minimap, events_from_status, place_events, write_rally  # noqa: E402


def read_labels(path: Path) -> tuple[Track, list[str]]:
    rows = list(csv.DictReader(open(path)))
    codes = np.array([int(r["visibility"] or 0) for r in rows])
    xy = np.array([[float(r["x-coordinate"] or -1), float(r["y-coordinate"] or -1)] for r in rows])
    xy[codes == 0] = -1
    return Track(codes, xy), events_from_status(int(r["status"] or 0) for r in rows)


def n_rows(frames: list[np.ndarray]) -> int:
    return frames[0].shape[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path, help="CLIP.mp4 with CLIP.csv beside it")
    parser.add_argument("--out", type=Path, default=Path("runs/court_rally"))
    parser.add_argument("--still", type=int, help="also write this frame of the overlay as still.jpg")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    track, events = read_labels(args.clip.with_suffix(".csv"))
    watch = CourtWatch()
    n = sum(1 for _ in watch.watch(iter_video_frames(args.clip, len(track))))
    track = Track(track.codes[:n], track.xy[:n])
    placed = place_events(events[:n], track.xy, watch)
    fps = video_fps(args.clip)
    write_rally(args.out, placed, watch, fps)
    frames = list(draw_minimap(draw_track(iter_video_frames(args.clip, n), track), placed, watch))
    write_video(args.out / "overlay.mp4", iter(frames), fps=fps)
    if args.still is not None:
        still = cv2.resize(frames[args.still], (960, round(960 * n_rows(frames) / frames[0].shape[1])),
                           interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(args.out / "still.jpg"), still[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
    print(json.dumps({"frames": n, "shots": len(watch.courts), "frames_without_court": int((~watch.has_court()).sum()),
                      "events": [(p.frame, p.kind, p.xy and [round(v, 2) for v in p.xy], p.call) for p in placed]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
