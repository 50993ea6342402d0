"""Event figures: hits and bounces found, per kind and overall.

A predicted event is a true positive when a labelled event of the same kind lies within ``tolerance`` frames
(2 at 30 fps, scaled with the frame rate: :func:`tolerance_frames`), each labelled event matched at most once,
nearest pairs first. Precision = TP / predicted, recall = TP / labelled, F1 their harmonic mean; "overall" sums the
kinds' counts (a hit called a bounce is a false positive and a miss). Frames whose label is unknown (-1) are left
out: an event predicted there counts for nothing.
"""
from __future__ import annotations

import numpy as np

from data_prep.events import EVENT_NAMES

KINDS = {code: name for code, name in enumerate(EVENT_NAMES) if name}  # 1 hit, 2 bounce
TOLERANCE_AT_30 = 2  # frames at 30 fps


def tolerance_frames(fps: float, at_30: float = TOLERANCE_AT_30) -> int:
    """The matching tolerance in frames at ``fps``: ``at_30`` frames at 30 fps, in time (at least 1 frame)."""
    return max(1, int(round(at_30 * fps / 30.0)))


def match_counts(true: np.ndarray, pred: np.ndarray, tolerance: int) -> dict[str, list[int]]:
    """Per kind: [TP, FP, FN]. true, pred: (n,) int 0 none, 1 hit, 2 bounce (true -1: unknown, ignored)."""
    true, pred = np.asarray(true), np.asarray(pred)
    assert true.shape == pred.shape, f"labels and predictions cover different frames: {true.shape} vs {pred.shape}"
    pred = np.where(true < 0, 0, pred)
    counts = {}
    for code, name in KINDS.items():
        t, p = np.flatnonzero(true == code), np.flatnonzero(pred == code)
        pairs = sorted((abs(int(a) - int(b)), int(a), int(b)) for a in t for b in p
                       if abs(int(a) - int(b)) <= tolerance)
        used_t, used_p = set(), set()
        for _, a, b in pairs:
            if a not in used_t and b not in used_p:
                used_t.add(a)
                used_p.add(b)
        counts[name] = [len(used_p), len(p) - len(used_p), len(t) - len(used_t)]
    return counts


def add_counts(total: dict[str, list[int]], more: dict[str, list[int]]) -> dict[str, list[int]]:
    return {k: [a + b for a, b in zip(total.get(k, [0, 0, 0]), v)] for k, v in more.items()}


def scores(counts: dict[str, list[int]]) -> dict[str, float | int]:
    """Flat figures from per-kind counts: ``{kind}_precision``, ``_recall``, ``_f1``, ``_true`` per kind and
    overall (``precision``, ``recall``, ``f1``). An empty denominator counts as perfect (nothing to find, nothing
    claimed)."""
    out: dict[str, float | int] = {}
    overall = [sum(c[i] for c in counts.values()) for i in range(3)]
    for name, (tp, fp, fn) in [*counts.items(), ("", overall)]:
        prefix = f"{name}_" if name else ""
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        out[f"{prefix}precision"] = precision
        out[f"{prefix}recall"] = recall
        out[f"{prefix}f1"] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[f"{prefix}true"] = tp + fn
    return out


def event_scores(pairs: list[tuple[np.ndarray, np.ndarray]], fps: float = 30.0) -> dict[str, float | int]:
    """Figures over clips: ``pairs`` of (labelled, predicted) per-frame events at ``fps``."""
    total: dict[str, list[int]] = {}
    for true, pred in pairs:
        total = add_counts(total, match_counts(true, pred, tolerance_frames(fps)))
    return scores(total)
