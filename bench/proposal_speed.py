"""Proposal network speed: frames per second (amortised over the MIMO stack) and peak memory, on this machine.

    python bench/proposal_speed.py [--weights runs/proposal_1/best.pt] [--batch 1] [--timm mobilenetv3_small_100]

Also times a timm ``features_only`` backbone with the same input, for the design choice in the README: the compact
encoder-decoder of model/proposal.py vs a generic backbone at equal input size.
"""
from __future__ import annotations

import argparse

import torch
from measure import best_of, peak_rss_mb, report

from engine.config import ProposalConfig
from engine.proposal_stage import build_model
from tracking.weights import load_proposal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="proposal checkpoint or tracker bundle; default: the net and input size "
                                          "that train.py --stage proposal trains by default")
    parser.add_argument("--batch", type=int, default=1, help="stacks per forward pass")
    parser.add_argument("--timm", default="mobilenetv3_small_100", help="timm backbone to compare ('' to skip)")
    args = parser.parse_args()
    if args.weights:
        stage = load_proposal(args.weights)
        net, (width, height) = stage.model, stage.spec.size
    else:
        cfg = ProposalConfig()
        net, (width, height) = build_model(cfg), (cfg.width, cfg.height)
    net.eval()
    t = net.frames
    x = torch.rand(args.batch, t, 3, height, width)
    with torch.inference_mode():
        seconds = best_of(lambda: net(x), repeat=10)
    fps = args.batch * t / seconds
    rows = [("input", f"{t} x {width}x{height}, batch {args.batch}"),
            ("ms per stack", f"{seconds * 1000 / args.batch:.1f}"), ("frames/s (amortised)", f"{fps:.1f}"),
            ("frames/s with the temporal ensemble (a stack per frame)", f"{args.batch / seconds:.1f}"),
            ("parameters", f"{sum(p.numel() for p in net.parameters()) / 1e6:.2f} M")]
    figures = {"fps": fps, "ensemble_fps": args.batch / seconds, "ms_per_stack": seconds * 1000 / args.batch}
    if args.timm:
        import timm

        backbone = timm.create_model(args.timm, pretrained=False, features_only=True, in_chans=3 * t,
                                     out_indices=(1, 2, 3)).eval()
        flat = x.flatten(1, 2)
        with torch.inference_mode():
            timm_seconds = best_of(lambda: backbone(flat), repeat=10)
        rows.append((f"timm {args.timm} (encoder only)", f"{args.batch * t / timm_seconds:.1f} frames/s"))
        figures["timm_encoder_fps"] = args.batch * t / timm_seconds
    rows.append(("peak memory", f"{peak_rss_mb():.0f} MB"))
    figures["peak_rss_mb"] = peak_rss_mb()
    report("proposal_speed", rows, figures)


if __name__ == "__main__":
    main()
