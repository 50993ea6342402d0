"""Where a frame's time goes, stage by stage, for each runtime: decode, resize, proposal, candidates, crops,
refiner, decoder, writing (track.csv), printed as a table of ms per frame. (Not named profile.py: that would
shadow the standard library's profile module.)

    python bench/stage_profile.py [--frames 240] [--runtime torch onnx-fp32 onnx] [--onnx DIR] [--data ROOT --games 1]

Runs the tracker's own pieces (``tracking.candidates``, ``tracking.decode``) one stage at a time over chunks of
frames read from disk, so each stage's cost is measured alone; their sum is close to ``bench/tracker_speed.py``'s
end-to-end figure. ``--onnx``: a folder from ``python -m tracking.export`` (default: exported to a temporary
folder first).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import numpy as np
from measure import bench_frames, report

from data_prep.clips import read_frame, scale_points
from data_prep.crops import crop_origin, crop_stack
from data_prep.stack_spec import clip_stacks
from data_prep.video import resize_frame
from evaluation.predictions import write_track
from model.peaks import extract_candidates
from tracking.candidates import stack_frames
from tracking.decode import decode_track
from tracking.tracker import Tracker, chunked

STAGES = ("decode", "resize", "proposal", "candidates", "crops", "refiner", "decoder", "writing")


def profile(tracker: Tracker, paths: list[Path], out: Path) -> dict[str, float]:
    """Seconds spent in each stage over ``paths`` (the tracker's chunking, no temporal ensemble)."""
    seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(name):
        started = time.perf_counter()
        yield
        seconds[name] += time.perf_counter() - started

    proposal, refiner = tracker.proposal.model, tracker.refine.model  # numpy nets, on the tracker's device
    spec, crop = tracker.proposal.spec, tracker.refine.spec
    probs, xys, codes, scores = [], [], [], []
    left: list[np.ndarray] = []
    with stage("decode"):
        frames = [read_frame(p) for p in paths[:tracker.chunk]]
    rest = iter(paths[tracker.chunk:])
    for chunk, ahead in chunked(iter(frames), tracker.chunk, spec.frames):
        with stage("decode"):  # the next chunk, read ahead as the tracker does
            ahead += [read_frame(p) for p in islice(rest, tracker.chunk - len(ahead))]
        with stage("resize"):
            low = [resize_frame(f, spec.size) for f in chunk]
        n, k = len(chunk), tracker.top_k
        xy, score = np.zeros((n, k, 2)), np.zeros((n, k))
        starts = clip_stacks(n, spec.frames)
        batch = getattr(proposal, "batch", 4)  # stacks per run, as the tracker sends them
        for i in range(0, len(starts), batch):
            with stage("proposal"):
                logits, offset = proposal(stack_frames(low, starts[i:i + batch], spec.frames))
            with stage("candidates"):
                for j, s in enumerate(starts[i:i + batch]):
                    cxy, cscore = extract_candidates(logits[j], offset[j], k, proposal.peak_radius)
                    xy[s:s + spec.frames] = scale_points(cxy, (chunk[0].shape[1] / spec.width,
                                                               chunk[0].shape[0] / spec.height))
                    score[s:s + spec.frames] = cscore
        window = left + chunk + ahead[:crop.context]
        todo = np.argwhere(score >= tracker.min_score)
        prob, rxy, code = np.zeros((n, k)), xy.copy(), np.ones((n, k), np.int64)
        for i in range(0, len(todo), 256):
            part = todo[i:i + 256]
            with stage("crops"):
                origins = crop_origin(xy[part[:, 0], part[:, 1]], crop.crop)
                crops = np.stack([crop_stack(window, t + len(left), o, crop.crop, crop.context)
                                  for (t, _), o in zip(part, origins)])
            with stage("refiner"):
                p, off, c = refiner(crops)
            prob[part[:, 0], part[:, 1]], rxy[part[:, 0], part[:, 1]] = p, off + origins
            code[part[:, 0], part[:, 1]] = c
        left = chunk[-crop.context:]
        probs.append(prob), xys.append(rxy), codes.append(code), scores.append(score)
    with stage("decoder"):
        track = decode_track(np.concatenate(xys), np.concatenate(probs), np.concatenate(codes), tracker.decode,
                             np.concatenate(scores))
    with stage("writing"):
        write_track(out / "track.csv", track)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="tracker bundle; default: the shipped weights")
    parser.add_argument("--onnx", help="exported folder for --runtime onnx; default: export --weights first")
    parser.add_argument("--runtime", nargs="+", default=["torch", "onnx"], choices=["torch", "onnx", "onnx-fp32"],
                        help="onnx: the default (refiner by OpenVINO or int8); onnx-fp32: all float")
    parser.add_argument("--data", help="clips to read; default: the embedded synthetic test games")
    parser.add_argument("--games", type=int, nargs="+", help="games to read frames from")
    parser.add_argument("--frames", type=int, default=240, help="frames to profile")
    args = parser.parse_args()
    root, clips, paths = bench_frames(args.data, args.games, args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        onnx = args.onnx
        if any(name.startswith("onnx") for name in args.runtime) and onnx is None:
            from tracking.export import export

            export(args.weights, Path(tmp) / "onnx")
            onnx = Path(tmp) / "onnx"
        trackers = {name: Tracker.load(args.weights if name == "torch" else onnx, runtime=name.split("-")[0],
                                       int8=name == "onnx") for name in args.runtime}
        for tracker in trackers.values():
            profile(tracker, paths[:60], Path(tmp))  # warm-up
        results = {name: profile(tracker, paths, Path(tmp)) for name, tracker in trackers.items()}
    size = clips[0].size
    head = f"  {'stage':<11s}" + "".join(f"{name + ' ms/frame':>20s}{'share':>7s}" for name in results)
    print(f"{len(paths)} frames at {size[0]}x{size[1]} from {root}\n{head}")
    for name in (*STAGES, "total"):
        row = f"  {name:<11s}"
        for seconds in results.values():
            value = sum(seconds.values()) if name == "total" else seconds.get(name, 0.0)
            row += f"{1000 * value / len(paths):20.2f}{value / sum(seconds.values()):7.0%}"
        print(row)
    report("stage_profile", [(f"{name} frames/s (sum of stages)", f"{len(paths) / sum(s.values()):.1f}")
                       for name, s in results.items()],
           {"frames": len(paths), **{name: {k: 1000 * v / len(paths) for k, v in s.items()}
                                     for name, s in results.items()}})


if __name__ == "__main__":
    main()
