"""Shared fixtures: a tiny-clip writer, the path to the real footage in ``../shared/data`` (skips when absent) and
a loopback HTTP server."""
from __future__ import annotations

import csv
import functools
import http.server
import os
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

ASSIGNMENT_HEADER = ["file name", "code", "x", "y", "q"]
TRACKNET_HEADER = ["File Name", "Visibility Class", "X", "Y", "Trajectory Pattern"]
DEFAULT = object()


def write_frames(clip_dir: Path, n: int, size: tuple[int, int] = (64, 48)) -> list[Path]:
    """n JPEG frames 0000.jpg ... of size (width, height); frame i is a flat grey of level 20 * i % 256."""
    clip_dir.mkdir(parents=True, exist_ok=True)
    width, height = size
    paths = []
    for i in range(n):
        path = clip_dir / f"{i:04d}.jpg"
        assert cv2.imwrite(str(path), np.full((height, width, 3), 20 * i % 256, np.uint8))
        paths.append(path)
    return paths


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([[str(cell) for cell in row] for row in rows])
    return path


@pytest.fixture
def make_clip(tmp_path):
    """``make_clip(rel='game1/clip1', n=5, rows=..., ...) -> clip folder`` under ``root`` (default tmp_path).

    ``rows`` default: frame i has code 1 at (10 + i, 20); ``rows=None`` writes no label file; otherwise a list of
    rows written verbatim under ``header`` (the assignment's header by default) into ``labels.csv``;
    ``tracknet=True`` writes TrackNet's header into ``Label.csv`` instead.
    """
    def make(rel: str = "game1/clip1", n: int = 5, *, rows=DEFAULT, size: tuple[int, int] = (64, 48),
             header: list[str] | None = None, tracknet: bool = False, root: Path | None = None) -> Path:
        clip_dir = (root or tmp_path) / rel
        label_file = "Label.csv" if tracknet else "labels.csv"
        header = header or (TRACKNET_HEADER if tracknet else ASSIGNMENT_HEADER)
        write_frames(clip_dir, n, size)
        if rows is DEFAULT:
            rows = [[f"{i:04d}.jpg", 1, 10 + i, 20, ""] for i in range(n)]
        if rows is not None:
            write_csv(clip_dir / label_file, header, rows)
        return clip_dir

    return make


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``$TENNIS_SHARED_DATA`` or ``../shared/data`` next to the repository; the test is skipped when absent."""
    path = Path(os.environ.get("TENNIS_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set TENNIS_SHARED_DATA)")
    return path


def write_ball_clip(clip_dir: Path, n: int = 16, size: tuple[int, int] = (160, 96), seed: int = 0) -> None:
    """A clip of a small bright ball flying over a textured background, with exact labels (code 0 when out)."""
    from data_prep.clips import Labels, write_labels

    rng = np.random.default_rng(seed)
    width, height = size
    background = cv2.GaussianBlur(rng.integers(40, 140, (height, width, 3), dtype=np.uint8), (0, 0), 2)
    start, velocity = rng.uniform([20, 20], [width - 20, height - 40]), rng.uniform([-6, -3], [6, 3])
    codes, xy = np.zeros(n, np.int64), np.full((n, 2), -1.0)
    clip_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        frame = background.copy()
        x, y = start + velocity * i + [0, 0.15 * i * i]
        if 0 <= x < width and 0 <= y < height and i % 7 != 6:  # every 7th frame: no ball
            cv2.circle(frame, (int(round(x * 4)), int(round(y * 4))), 8, (120, 255, 230), -1, cv2.LINE_AA, shift=2)
            codes[i], xy[i] = 1, (x, y)
        names.append(f"{i:04d}.jpg")
        cv2.imwrite(str(clip_dir / names[-1]), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    write_labels(clip_dir / "labels.csv", Labels(codes, xy, np.full(n, -1)), names)


@pytest.fixture(scope="session")
def ball_data(tmp_path_factory) -> Path:
    """Games 1-3, one 16-frame 160x96 clip each, of a ball flying over texture: data for tiny training runs."""
    root = tmp_path_factory.mktemp("ball_data")
    for game in (1, 2, 3):
        write_ball_clip(root / f"game{game}" / "clip1", seed=game)
    return root


@pytest.fixture(scope="session")
def tiny_runs(ball_data, tmp_path_factory) -> dict[str, Path]:
    """A proposal and a refiner trained for a few steps on ``ball_data``, and their tracker bundle."""
    import train
    from cli.bundle import main as bundle

    root = tmp_path_factory.mktemp("tiny_runs")
    common = ["--data", str(ball_data), "--games", "1", "2", "--val-games", "3", "--steps-per-epoch", "4",
              "--batch-size", "4", "--warmup-steps", "2", "--wandb", "off", "--epochs", "1",
              "--cache", str(root / "cache" / "frames")]
    train.main(["--stage", "proposal", "--width", "160", "--height", "96", "--crop-width", "96",
                "--crop-height", "64", "--out", str(root / "proposal")] + common)
    train.main(["--stage", "refine", "--proposal", str(root / "proposal" / "best.pt"), "--out",
                str(root / "refine")] + common)
    bundle(["--proposal", str(root / "proposal" / "best.pt"), "--refine", str(root / "refine" / "best.pt"),
            "--out", str(root / "bundle" / "tracker.pt"), "--data", str(ball_data), "--val-games", "3"])
    return {"proposal": root / "proposal" / "best.pt", "refine": root / "refine" / "best.pt",
            "bundle": root / "bundle" / "tracker.pt", "root": root}


@pytest.fixture
def loopback(tmp_path):
    """Serve tmp_path/www over HTTP on 127.0.0.1 (no other address is ever contacted)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
