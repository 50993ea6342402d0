"""Train/validation clips by game (never by frame: neighbouring frames are near duplicates and would leak)."""
from __future__ import annotations

import logging
from pathlib import Path

from data_prep.clips import Clip, DataError, clip_problems, discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded

log = logging.getLogger(__name__)


def resolve_splits(data: Path | None, games: list[int] | None, val_games: list[int] | None,
                   val_data: Path | None = None, stack: int = 1, extra: list[Path] | None = None
                   ) -> tuple[Path, list[Clip], list[Clip]]:
    """(root, training clips, validation clips).

    No ``data``: the embedded synthetic set with its split. Real data: ``val_games`` defaults to the last game and
    ``games`` to every other game. ``val_data``: validation comes from that set instead (``val_games`` of it, default
    all), and training keeps every training game of ``data`` (the embedded split's training games, or all games of a
    real set). ``extra``: more roots whose every labelled clip joins training (e.g. pseudo-labelled real clips
    next to the synthetic set; their games are other matches, so no validation game leaks). Every clip is checked up front (``check_clip``: at least ``stack`` frames, readable frames of one size,
    labels inside the frame): training skips broken clips with a warning; a broken validation clip stops the run
    before its first step, with every problem listed.
    """
    root, train, val = _split(data, games, val_games, val_data)
    for more in extra or []:
        train = train + discover_clips(Path(more), skip_broken=True)
    problems = clip_problems(val, stack)
    if problems:
        raise DataError(root if val_data is None else Path(val_data),
                        "broken validation clips:\n  " + "\n  ".join(problems))
    kept, skipped = [], []
    for clip in train:
        problem = clip_problems([clip], stack)
        if problem:
            log.warning("skipping broken training clip: %s", problem[0])
            skipped += problem
        else:
            kept.append(clip)
    if not kept:  # e.g. every clip shorter than the stack: an empty training set would fail deep in the sampler
        raise DataError(root, "no training clip left, every one is unusable:\n  " + "\n  ".join(skipped))
    return root, kept, val


def _split(data, games, val_games, val_data) -> tuple[Path, list[Clip], list[Clip]]:
    if val_data is not None:
        games = games or (list(EMBEDDED.train_games) if data is None else None)
        root = ensure_embedded(games=games) if data is None else Path(data)
        return root, discover_clips(root, games, skip_broken=True), discover_clips(Path(val_data), val_games)
    if data is None:
        games, val_games = games or list(EMBEDDED.train_games), val_games or list(EMBEDDED.val_games)
        root = ensure_embedded(games=[*games, *val_games])
    else:
        root = Path(data)
        found = sorted({clip.game for clip in discover_clips(root, require_labels=False, skip_broken=True)})
        val_games = val_games or found[-1:]
        games = games or [g for g in found if g not in val_games]
    overlap = set(games) & set(val_games)
    if overlap:
        raise DataError(root, f"games {sorted(overlap)} are in both training and validation")
    if not games:
        raise DataError(root, "no training games left after holding out the validation games")
    return root, discover_clips(root, games, skip_broken=True), discover_clips(root, val_games)
