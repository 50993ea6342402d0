"""Refiner throughput: candidates per second on this machine, and peak memory.

    python bench/refine_speed.py [--weights runs/refine_1/best.pt] [--batch 64]
"""
from __future__ import annotations

import argparse

import torch
from measure import best_of, peak_rss_mb, report

from model.refine import RefineNet
from tracking.weights import load_refine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="refine checkpoint; default: a fresh default refiner")
    parser.add_argument("--batch", type=int, default=64, help="candidates per forward pass")
    args = parser.parse_args()
    net = load_refine(args.weights).model if args.weights else RefineNet()
    net.eval()
    a = net.args
    x = torch.rand(args.batch, a.frames, 3, a.crop, a.crop)
    with torch.inference_mode():
        seconds = best_of(lambda: net(x), repeat=10)
    rate = args.batch / seconds
    report("refine_speed", [("input", f"{a.frames} x {a.crop}x{a.crop} crops, batch {args.batch}"),
                            ("candidates/s", f"{rate:.0f}"), ("depth x width", f"{a.depth} x {a.dim}"),
                            ("peak memory", f"{peak_rss_mb():.0f} MB")],
           {"candidates_per_s": rate, "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
