"""Single-core speed of the synthetic renderer, 1280x720 frames including JPEG encoding.

    python bench/synth_speed.py [--clips 3] [--frames 120] [--seed 0]

Prints the set-up time per clip (script, background) and frames/s with OpenCV limited to one thread; frames are
encoded but not written, so disk speed does not count.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_prep.synth.render import ClipRenderer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=3, help="clips to render (games 1..clips, clip 1)")
    parser.add_argument("--frames", type=int, default=120, help="frames per clip")
    parser.add_argument("--seed", type=int, default=0, help="data set seed")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    setup, render, encode, frames, codes = 0.0, 0.0, 0.0, 0, np.zeros(4, np.int64)
    for game in range(1, args.clips + 1):
        start = time.perf_counter()
        renderer = ClipRenderer(args.seed, game, 1, args.frames)
        setup += time.perf_counter() - start
        params = [cv2.IMWRITE_JPEG_QUALITY, renderer.quality]
        for i in range(args.frames):
            start = time.perf_counter()
            bgr, code, *_ = renderer._render_bgr(i)
            mid = time.perf_counter()
            ok, _ = cv2.imencode(".jpg", bgr, params)
            assert ok, "JPEG encoding failed"
            encode += time.perf_counter() - mid
            render += mid - start
            frames += 1
            codes[code] += 1
    total = setup + render + encode
    print(f"clips {args.clips} x {args.frames} frames, one core")
    print(f"set-up   {setup / args.clips * 1000:7.1f} ms per clip")
    print(f"render   {render / frames * 1000:7.2f} ms per frame")
    print(f"jpeg     {encode / frames * 1000:7.2f} ms per frame")
    print(f"overall  {frames / total:7.1f} frames/s (set-up included), {frames / (render + encode):.1f} frames/s "
          "(frames only)")
    print(f"codes    {dict(enumerate(codes.tolist()))}")


if __name__ == "__main__":
    main()
