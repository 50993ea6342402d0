"""The event detector's training windows: labelled tracks cut into fixed-length windows, augmented afresh on every
draw (:func:`data_prep.events.augment`). Kept apart from :mod:`data_prep.events` so that reading and featurising
tracks needs no PyTorch (the ONNX runtime path detects events without it)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from data_prep.events import EventTrack, augment, event_targets, features


class EventWindows(torch.utils.data.Dataset):
    """Windows of ``length`` frames of labelled tracks, augmented afresh on every draw (split ``train``) or as
    they are (``val``). Item: ``features`` (FEATURES, length), ``target`` (3, length), ``mask`` (length,)."""

    def __init__(self, tracks: list[EventTrack], length: int = 96, augment_strength: float = 1.0, seed: int = 0,
                 sigma: float = 1.0):
        assert tracks, "no labelled event tracks to train on"
        self.tracks, self.length, self.strength, self.seed, self.sigma = tracks, length, augment_strength, seed, sigma
        self.epoch = 0
        # every frame is a window start with the same chance: a clip's share follows its length
        self.starts = [(i, s) for i, t in enumerate(tracks) for s in range(0, max(1, len(t) - length // 2), 8)]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, self.epoch, index, int(torch.randint(0, 2**31, ()).item())])
        i, start = self.starts[index]
        track = self.tracks[i]
        start = int(np.clip(start + rng.integers(-4, 5), 0, max(0, len(track) - 1)))
        stop = min(len(track), start + self.length)
        part = replace(track, xy=track.xy[start:stop], present=track.present[start:stop],
                       events=track.events[start:stop])
        part = augment(part, rng, self.strength)
        feats = features(part.xy, part.present, part.size)
        target = event_targets(part.events, self.sigma)
        mask = (part.events >= 0).astype(np.float32)
        pad = self.length - feats.shape[1]
        return {"features": torch.from_numpy(np.pad(feats, ((0, 0), (0, pad)))),
                "target": torch.from_numpy(np.pad(target, ((0, 0), (0, pad)))),
                "mask": torch.from_numpy(np.pad(mask, (0, pad)))}
