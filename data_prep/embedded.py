"""The embedded default data set: synthetic broadcast tennis rendered by the project itself, deterministically.

Used whenever no ``--data`` is given. Splits are by game, never by frame (adjacent frames are near duplicates):
games 1-2 are the held-out test games (``evaluate.py --games 1 2``), games 3-4 validate (model selection and the
presence threshold), games 5-80 train. Many games with few clips each: every game is a new venue, camera and pair
of players. The gap between training and unseen games dominates: with 7 training games recall@5 was 0.95 on
training games but 0.72 on a held-out one, and going from 17 to 37 training games raised the proposal's recall@5 on
the test games from 0.874 to 0.946. A clip depends only on (seed, game, clip), so a larger set keeps the smaller
one's games.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from data_prep.paths import PROJECT_ROOT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedSpec:
    root: Path = PROJECT_ROOT / "data" / "synthetic"
    games: int = 80
    clips: int = 2
    frames: int = 120
    seed: int = 0
    test_games: tuple[int, ...] = (1, 2)
    val_games: tuple[int, ...] = (3, 4)

    refine_games: int = 36  # training games of the refine stage, which caches full-resolution frames

    @property
    def train_games(self) -> tuple[int, ...]:
        held_out = set(self.test_games) | set(self.val_games)
        return tuple(g for g in range(1, self.games + 1) if g not in held_out)

    @property
    def refine_train_games(self) -> tuple[int, ...]:
        """The first ``refine_games`` training games (36, about the 37 the refiner had before the set grew to 80; it
        was limited when it cached whole full-resolution frames, 24 GB for 36 games; its crop cache now takes about
        0.2 MB a frame). Whether more games would help it was not measured."""
        return self.train_games[:self.refine_games]


EMBEDDED = EmbeddedSpec()


def ensure_embedded(spec: EmbeddedSpec = EMBEDDED, workers: int = 2, games: Iterable[int] | None = None) -> Path:
    """Render the embedded data set where it is missing or incomplete (rendering resumes clip by clip); ``games``:
    only those games (e.g. the test games an evaluation scores), default all of the spec's."""
    from data_prep.synth import render_dataset

    numbers = sorted(set(games)) if games else list(range(1, spec.games + 1))
    log.info("embedded synthetic data set at %s (games %s)", spec.root, _ranges(numbers))
    render_dataset(spec.root, games=numbers, clips=spec.clips, seed=spec.seed, frames=spec.frames, workers=workers)
    return spec.root


def _ranges(numbers: list[int]) -> str:
    """1, 2, 3, 5 -> '1-3, 5'."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)
