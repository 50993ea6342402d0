"""Memory over a long video: a 10-minute synthetic 1280x720 mp4 tracked the way ``track.py`` does it.

    python bench/long_video.py                     # 10 min at 25 fps = 15,000 frames (writes the video first)
    python bench/long_video.py --minutes 0.2       # a quick check
    python bench/long_video.py --video match.mp4   # any existing video instead

The video is a ball bouncing over a static noisy background (cheap to render and encode with mp4v; decoding it costs
what any 720p mp4 costs). ``tracking.video_job.track_source`` then runs both passes of ``track.py``: tracking (decode, resize,
proposal, refine, decoding) and the overlay video. The resident memory (RSS) of this process is sampled every
``--every`` frames of each pass; a table of (pass, frames, seconds, RSS) and one JSON line follow. Frames are
streamed, so RSS should stay flat: ``growth_mb`` is the last sample minus the first one taken after a tenth of the
video was tracked (the first few hundred frames warm up the model, the allocator and the buffers, so a
``--minutes 0.2`` check still shows that warm-up).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from measure import peak_rss_mb, report

from tracking.tracker import Tracker
from tracking.video_job import track_source


def rss_mb() -> float:
    """Resident memory of this process now (psutil when installed, else Linux's /proc/self/status)."""
    try:
        import psutil
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("cannot read this process's memory: no psutil and no /proc/self/status") from None
    return psutil.Process().memory_info().rss / 2 ** 20


def write_synthetic_video(path: Path, frames: int, fps: float, size: tuple[int, int] = (1280, 720)) -> float:
    """A ball (7 px) bouncing across a static noisy background -> mp4v; returns the seconds it took."""
    started = time.perf_counter()
    width, height = size
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(30, 160, (height, width, 3), dtype=np.uint8), (0, 0), 1.5)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot open an mp4v writer")
    for t in range(frames):
        frame = background.copy()
        x = (t * 9) % (2 * (width - 40))  # back and forth across the frame, a bounce every 45 frames
        x = 20 + (x if x < width - 40 else 2 * (width - 40) - x)
        y = height - 60 - abs(np.sin(t * np.pi / 45)) * (height - 200)
        cv2.circle(frame, (int(x * 4), int(y * 4)), 14, (220, 255, 235), -1, cv2.LINE_AA, shift=2)
        writer.write(frame)
    writer.release()
    return time.perf_counter() - started


class MemoryLog:
    """Wraps each pass over the frames and samples (pass, frames so far, seconds, RSS MB) every ``every`` frames."""

    def __init__(self, every: int):
        self.every, self.rows, self.started = every, [], time.perf_counter()

    def watch(self, frames: Iterator[np.ndarray], phase: str) -> Iterator[np.ndarray]:
        count = 0
        for count, frame in enumerate(frames, 1):
            yield frame
            if count % self.every == 0:
                self.sample(phase, count)
        self.sample(phase, count)

    def sample(self, phase: str, count: int) -> None:
        row = (phase, count, time.perf_counter() - self.started, rss_mb())
        if not self.rows or self.rows[-1][:2] != row[:2]:
            self.rows.append(row)
            print(f"  {row[0]:<8s} {row[1]:>7d} frames  {row[2]:8.1f} s  {row[3]:7.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the synthetic video")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of the synthetic video")
    parser.add_argument("--video", type=Path, help="track this video instead of a synthetic one")
    parser.add_argument("--every", type=int, default=500, help="sample memory every N frames of each pass")
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--no-video", action="store_true", help="skip the overlay pass")
    parser.add_argument("--runtime", choices=("torch", "onnx"), default="onnx", help="run the networks with "
                        "onnxruntime (default) or PyTorch")
    parser.add_argument("--keep", type=Path, help="write the video and the outputs here instead of a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="long_video_") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        video, render_s = args.video, 0.0
        if video is None:
            video = folder / "synthetic.mp4"
            frames = int(round(args.minutes * 60 * args.fps))
            print(f"writing {frames} frames of 1280x720 at {args.fps:g} fps to {video} ...", flush=True)
            render_s = write_synthetic_video(video, frames, args.fps)
        tracker = Tracker.load(args.weights, runtime=args.runtime)
        memory = MemoryLog(args.every)
        memory.sample("start", 0)
        summary = track_source(tracker, video, folder / "out", overlay=not args.no_video, watch=memory.watch)
        memory.sample("done", summary["frames"])  # after the decoder's pass over the whole track and the writes
        video_mb = video.stat().st_size / 2 ** 20
    tracked = [r for r in memory.rows if r[0] == "track"]
    rss = [r[3] for r in memory.rows if r[0] != "start"]
    warm_at, warm = next((n, m) for _, n, _, m in tracked if n >= 0.1 * summary["frames"])
    rows = [("video", f"{video.name}: {summary['frames']} frames at {summary['video_fps']:g} fps "
                      f"({summary['frames'] / summary['video_fps'] / 60:.1f} min), {video_mb:.0f} MB"),
            ("tracking", f"{summary['seconds']:.1f} s ({summary['fps']:.1f} frames/s)"),
            ("whole run", f"{memory.rows[-1][2]:.1f} s" + ("" if args.no_video else ", overlay included")),
            ("RSS", f"{warm:.0f} MB after {warm_at} frames -> {rss[-1]:.0f} MB at the end "
                    f"(min {min(rss):.0f}, max {max(rss):.0f}); peak {peak_rss_mb():.0f} MB")]
    report("long_video", rows, {"frames": summary["frames"], "video_fps": summary["video_fps"],
                                "tracking_s": summary["seconds"], "tracking_fps": summary["fps"],
                                "render_s": round(render_s, 1), "rss_warm_at": warm_at, "rss_warm_mb": round(warm, 1),
                                "rss_last_mb": round(rss[-1], 1), "rss_max_mb": round(max(rss), 1),
                                "growth_mb": round(rss[-1] - warm, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                                "samples": [[p, n, round(s, 1), round(m, 1)] for p, n, s, m in memory.rows]})


if __name__ == "__main__":
    main()
