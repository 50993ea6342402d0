"""What the court costs inside track.py: tracking speed with and without it, interleaved in one process.

    python bench/court_speed.py [VIDEO ...] [--rounds 3] [--runtime onnx]

Default videos: four broadcasts of ../shared/data/tennis_videos: Wimbledon (720p) and Halle (1080p), whose cameras
pan and zoom with play (a new shot every ~10-70 frames), the Australian Open (720p), which opens on two close-ups,
and Madrid (1080p), a close-up zooming out to the court.
Per video, ``rounds`` pairs of ``track_source`` runs (``court=True`` then ``court=False``, the order swapped every
round; no overlay), and prints the tracking pass's frames/s with and without the court and their ratio (medians
over rounds), the same by the process's CPU time per frame (``cpu_ratio``: without / with, 0.95 = 5 % slower),
and the court's own work (``CourtWatch`` alone over the decoded frames: the shot test on every frame, the
searches and the reuses), timed by CPU time, as a share of the tracker's CPU time per frame without the court.
On a machine shared with other jobs the wall-clock ratio is noisy; the CPU figures are steadier.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_prep.video import iter_video_frames  # noqa: E402
from tracking.rally import CourtWatch  # noqa: E402
from tracking.tracker import Tracker  # noqa: E402
from tracking.video_job import track_source  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tennis_videos"
DEFAULT = ("wimbledon_720p25.mp4", "halle_grass_1080p.mp4", "australian_open_720p.mp4", "madrid_clay_1080p50.mp4")


def court_cost(video: Path, max_frames: int | None) -> dict:
    """CPU ms a frame of ``CourtWatch`` alone (decoding not counted), its shots and detections."""
    frames = list(iter_video_frames(video, max_frames))
    watch = CourtWatch()
    cpu = time.process_time()
    for frame in frames:
        watch.add(frame)
    cpu = time.process_time() - cpu
    return {"frames": len(frames), "shots": len(watch.starts),
            "shots_with_court": sum(c is not None for c in watch.courts), "detections": watch.detections,
            "reused": watch.reused, "court_cpu_ms_per_frame": round(1000 * cpu / len(frames), 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", type=Path, nargs="*", help=f"default: {', '.join(DEFAULT)} of {VIDEOS}")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (with, without) per video")
    parser.add_argument("--max-frames", type=int, default=450, help="frames per run")
    parser.add_argument("--runtime", choices=("torch", "onnx"), default="onnx", help="as track.py's (default onnx)")
    args = parser.parse_args(argv)
    videos = args.videos or [VIDEOS / name for name in DEFAULT if (VIDEOS / name).exists()]
    if not videos:
        print(f"error: {VIDEOS}: no videos (pass some)", file=sys.stderr)
        return 2
    for video in videos:
        if not video.is_file():
            print(f"error: {video}: no such video", file=sys.stderr)
            return 2
    tracker = Tracker.load(None, runtime=args.runtime)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for video in videos:
            runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}  # (frames/s wall, CPU ms a frame)
            for r in range(args.rounds):
                for court in (True, False) if r % 2 == 0 else (False, True):
                    cpu = time.process_time()
                    summary = track_source(tracker, video, Path(tmp) / "out", max_frames=args.max_frames,
                                           overlay=False, court=court)
                    cpu = 1000 * (time.process_time() - cpu) / summary["frames"]
                    runs[court].append((summary["fps"], cpu))
            with_fps, without_fps = (float(np.median([fps for fps, _ in runs[c]])) for c in (True, False))
            with_cpu, without_cpu = (float(np.median([ms for _, ms in runs[c]])) for c in (True, False))
            cost = court_cost(video, args.max_frames)
            row = {"video": video.name, **cost, "fps_with_court": round(with_fps, 1),
                   "fps_without": round(without_fps, 1), "ratio": round(with_fps / without_fps, 3),
                   "runs": {"with": [fps for fps, _ in runs[True]], "without": [fps for fps, _ in runs[False]]},
                   "cpu_ms_per_frame_with": round(with_cpu, 2), "cpu_ms_per_frame_without": round(without_cpu, 2),
                   "cpu_ratio": round(without_cpu / with_cpu, 3),
                   "court_share_of_cpu": round(cost["court_cpu_ms_per_frame"] / without_cpu, 4)}
            rows.append(row)
            print(json.dumps(row))
    summary = {"videos": len(rows)}
    for key, worst in (("ratio", min), ("cpu_ratio", min), ("court_share_of_cpu", max)):
        values = [r[key] for r in rows]
        summary.update({f"{key}_median": round(float(np.median(values)), 4), f"{key}_worst": worst(values)})
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
