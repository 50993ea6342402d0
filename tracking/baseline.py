"""Inference with the assignment's baseline UNet, with the same interface as :class:`tracking.tracker.Tracker`
(``track_clip``, ``track_frames``, ``probability_maps``, ``describe``) so ``evaluate.py`` and the benchmarks run
either one.

The baseline looks at frames t-4 .. t to call frame t (the clip's first frame is repeated before it starts), so it
runs one forward pass per frame; frames are streamed through a window of the last T resized frames.
"""
from __future__ import annotations

import collections
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from data_prep.clips import Clip, scale_points
from data_prep.tracks import interpolate_gaps
from data_prep.video import resize_frame
from evaluation.predictions import Track
from model.baseline_unet import BaselineUNet, build_baseline, mask_to_positions
from model.checkpoint import load_checkpoint, resolve_device
from tracking.output import ClipOutput, frame_progress
from tracking.torch_nets import frames_to_tensor


class BaselineTracker:
    def __init__(self, model: BaselineUNet, size: tuple[int, int], threshold: float = 0.5, max_gap: int = 4,
                 batch: int = 4, device: torch.device | str = "cpu"):
        self.model, self.size, self.threshold, self.max_gap = model.eval(), tuple(size), threshold, max_gap
        self.batch, self.device = batch, torch.device(device)
        self.source = ""

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", payload: dict | None = None,
             **overrides) -> BaselineTracker:
        """From a ``train.py --stage baseline`` checkpoint (its config gives the input size and settings);
        ``payload``: the file's contents if already read."""
        device = resolve_device(device)
        payload = load_checkpoint(Path(path), "baseline", payload)
        model = build_baseline(payload["model_args"])
        model.load_state_dict(payload["model"])
        cfg = payload["config"]
        # The presence threshold validation chose (as for our proposal stage), else the configured one.
        threshold = payload.get("metrics", {}).get("best_threshold", cfg["threshold"])
        settings = {"threshold": threshold, "max_gap": cfg["max_gap"], **overrides}
        tracker = cls(model.to(device), (cfg["width"], cfg["height"]), device=device, **settings)
        tracker.source = str(path)
        return tracker

    def describe(self) -> dict:
        return {"weights": self.source, "model": "baseline_unet", "size": list(self.size),
                "threshold": self.threshold, "max_gap": self.max_gap, "device": str(self.device)}

    def track_clip(self, clip: Clip) -> Track:
        return self.track_frames(clip.iter_frames(), total=len(clip), desc=clip.name).track

    def track_frames(self, frames: Iterable[np.ndarray], total: int | None = None, desc: str = "tracking"
                     ) -> ClipOutput:
        """Track a stream of RGB frames of one size; positions in that size's pixels (progress as the tracker's)."""
        started = time.perf_counter()
        frames = frame_progress(frames, total, desc)
        first = next(frames, None)
        if first is None:
            raise ValueError("no frames to track")
        # Each mask is reduced to a position as it comes: memory stays flat for videos of any length.
        found = [mask_to_positions(mask[None], self.threshold) for mask in self._masks(frames, first)]
        present, xy = (np.concatenate(parts) for parts in zip(*found))
        track = self._track(present, xy, (first.shape[1], first.shape[0]))
        return ClipOutput(track, None, None, time.perf_counter() - started)

    def decode(self, masks: np.ndarray, frame_size: tuple[int, int], threshold: float | None = None) -> Track:
        """Masks (n, h, w) -> a track in the pixels of frames of ``frame_size`` (width, height)."""
        threshold = self.threshold if threshold is None else threshold
        return self._track(*mask_to_positions(masks, threshold), frame_size)

    def _track(self, present: np.ndarray, xy: np.ndarray, frame_size: tuple[int, int]) -> Track:
        """Per-frame detections in input pixels -> gaps filled, positions in ``frame_size`` pixels."""
        present, xy = interpolate_gaps(present, xy, self.max_gap)
        back = (frame_size[0] / self.size[0], frame_size[1] / self.size[1])
        return Track(present.astype(np.int64), np.where(present[:, None], scale_points(xy, back), -1.0))

    def masks(self, frames) -> np.ndarray:
        """(n, h, w) float32 masks of frames already at the network's input size (e.g. a cached clip)."""
        frames = iter(frames)
        return np.stack(list(self._masks(frames, next(frames))))

    def probability_maps(self, clip: Clip) -> Iterator[np.ndarray]:
        frames = clip.iter_frames()
        yield from self._masks(frames, next(frames))

    @torch.inference_mode()
    def _masks(self, frames: Iterator[np.ndarray], first: np.ndarray) -> Iterator[np.ndarray]:
        """(h, w) float32 mask per frame, at the network's input size, streamed in batches of windows."""
        t = self.model.frames
        low = resize_frame(first, self.size)
        window = collections.deque([low] * t, maxlen=t)
        stacks = [np.stack(window)]
        for frame in frames:
            window.append(resize_frame(frame, self.size))
            stacks.append(np.stack(window))
            if len(stacks) == self.batch:
                yield from self._run(stacks)
                stacks = []
        if stacks:
            yield from self._run(stacks)

    def _run(self, stacks: list[np.ndarray]) -> Iterator[np.ndarray]:
        logits = self.model(frames_to_tensor(np.stack(stacks), self.device))
        yield from logits.sigmoid().float().cpu().numpy()
