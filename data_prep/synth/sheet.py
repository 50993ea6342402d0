"""Contact sheets: a PNG grid of random labelled frames from any data set in the assignment layout.

Each tile is a downscaled frame with its label drawn (a circle at the ball, the code) and a magnified inset of
the ball's neighbourhood in the corner, since a 5 px ball is invisible at thumbnail size; a bar at the bottom shows
the distribution of codes over every frame of the data set.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from ..clips import discover_clips, read_frame

log = logging.getLogger(__name__)

CODE_COLOURS = {0: (160, 160, 160), 1: (60, 220, 60), 2: (0, 200, 255), 3: (60, 60, 255)}  # BGR
CODE_NAMES = {0: "0 no ball", 1: "1 visible", 2: "2 hard", 3: "3 occluded"}


def _tile(frame_bgr: np.ndarray, code: int, xy: np.ndarray, width: int, caption: str) -> np.ndarray:
    h, w = frame_bgr.shape[:2]
    scale = width / w
    tile = cv2.resize(frame_bgr, (width, round(h * scale)), interpolation=cv2.INTER_AREA)
    colour = CODE_COLOURS[int(code)]
    if code > 0:
        centre = (round(xy[0] * scale * 16), round(xy[1] * scale * 16))
        cv2.circle(tile, centre, 9 * 16, colour, 1, cv2.LINE_AA, 4)
        # Inset: 32x32 px around the ball, magnified up to 4x, in the corner away from the ball.
        half = 16
        zoom = max(1, min(4, int(0.45 * tile.shape[0]) // (2 * half)))
        padded = cv2.copyMakeBorder(frame_bgr, half, half, half, half, cv2.BORDER_CONSTANT)
        x, y = round(xy[0]), round(xy[1])
        crop = cv2.resize(padded[y:y + 2 * half, x:x + 2 * half], None, fx=zoom, fy=zoom,
                          interpolation=cv2.INTER_NEAREST)
        cv2.circle(crop, (half * zoom, half * zoom), 6 * zoom, colour, 1, cv2.LINE_AA)
        size = crop.shape[0]
        ox = 2 if xy[0] * scale > width / 2 else width - size - 2
        oy = 2 if xy[1] * scale > tile.shape[0] / 2 else tile.shape[0] - size - 2
        tile[oy:oy + size, ox:ox + size] = crop
        cv2.rectangle(tile, (ox, oy), (ox + size - 1, oy + size - 1), colour, 1)
    cv2.putText(tile, caption, (4, tile.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(tile, caption, (4, tile.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    return tile


def _distribution_bar(counts: np.ndarray, width: int) -> np.ndarray:
    bar = np.full((46, width, 3), 30, np.uint8)
    total = max(int(counts.sum()), 1)
    cv2.putText(bar, f"codes over {total} frames:", (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1,
                cv2.LINE_AA)
    x = 8
    span = width - 16
    for code in range(4):
        share = counts[code] / total
        w = round(share * span)
        cv2.rectangle(bar, (x, 26), (x + max(w, 1), 40), CODE_COLOURS[code], -1)
        label = f"{CODE_NAMES[code]} {100 * share:.1f}%"
        cv2.putText(bar, label, (200 + code * ((width - 200) // 4), 18), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                    CODE_COLOURS[code], 1, cv2.LINE_AA)
        x += w
    return bar


def contact_sheet(data: Path, out: Path, tiles: int = 12, columns: int = 4, tile_width: int = 320, seed: int = 0,
                  prefer_ball: float = 0.85, palette: bool = False) -> Path:
    """Write a PNG grid of ``tiles`` random frames of the data set at ``data`` with their labels to ``out``.

    ``prefer_ball`` is the share of tiles drawn from frames with a ball (codes 1-3), so the sheet shows balls;
    ``palette`` writes a 256-colour PNG (Pillow) instead of a true-colour one.
    """
    assert tiles > 0 and columns > 0, "need at least one tile and one column"
    clips = discover_clips(Path(data))
    rng = np.random.default_rng(seed)
    counts = np.zeros(4, np.int64)
    pool = []
    for clip in clips:
        counts += np.bincount(clip.labels.codes, minlength=4)
        pool += [(clip, i) for i in range(len(clip))]
    with_ball = [(c, i) for c, i in pool if c.labels.codes[i] > 0]
    picks = []
    for _ in range(tiles):
        source = with_ball if with_ball and rng.random() < prefer_ball else pool
        picks.append(source[int(rng.integers(len(source)))])
    images = []
    for clip, i in picks:
        frame = cv2.cvtColor(read_frame(clip.frames[i]), cv2.COLOR_RGB2BGR)
        code, xy = int(clip.labels.codes[i]), clip.labels.xy[i]
        images.append(_tile(frame, code, xy, tile_width, f"{clip.name} {i:04d} code {code}"))
    blank = np.zeros_like(images[0])
    rows = []
    for r in range(0, len(images), columns):
        row = images[r:r + columns]
        rows.append(np.hstack(row + [blank] * (columns - len(row))))
    sheet = np.vstack(rows + [_distribution_bar(counts, tile_width * columns)])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if palette:
        # A 256-colour palette PNG (octree keeps rare colours like the ball's) is about a quarter of the size,
        # small enough to commit and show in a README.
        from PIL import Image

        rgb = Image.fromarray(cv2.cvtColor(sheet, cv2.COLOR_BGR2RGB))
        rgb.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(out, optimize=True)
    else:
        assert cv2.imwrite(str(out), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9]), f"could not write {out}"
    log.info("contact sheet of %d frames from %s written to %s", len(images), data, out)
    return out
