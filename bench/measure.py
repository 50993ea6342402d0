"""Timing and memory helpers shared by the benchmark scripts (figures printed, never asserted)."""
from __future__ import annotations

import json
import platform
import resource
import sys
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bench_frames(data: str | None, games: list[int] | None, frames: int) -> tuple[Path, list, list[Path]]:
    """(root, clips, the first ``frames`` frame files) of ``games`` under ``data``; default: the embedded
    synthetic test games (rendered if missing)."""
    from data_prep.clips import discover_clips
    from data_prep.embedded import EMBEDDED, ensure_embedded

    games = games or (None if data else list(EMBEDDED.test_games))
    root = data or ensure_embedded(games=games)
    clips = discover_clips(root, games)
    return root, clips, list(islice((p for clip in clips for p in clip.frames), frames))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(fn: Callable[[], object], repeat: int = 5, warmup: int = 2) -> float:
    """Fastest wall-clock seconds of ``repeat`` calls after ``warmup`` calls (the least disturbed run)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def machine() -> dict:
    return {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "cuda": torch.cuda.is_available(), "date": time.strftime("%Y-%m-%d")}


def report(name: str, rows: list[tuple[str, str]], figures: dict) -> None:
    """A readable table, then one JSON line for scripts."""
    width = max(len(k) for k, _ in rows)
    print(f"== {name}")
    for key, value in rows:
        print(f"  {key:<{width}s}  {value}")
    print(json.dumps({"benchmark": name, **figures, "machine": machine()}))
