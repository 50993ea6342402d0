"""Run folders: ``runs/exp_1``, ``runs/exp_2``, ... numbered automatically, in the project's ``runs/`` unless told
otherwise, and a lock that keeps two processes from writing one folder at once."""
from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from data_prep.paths import RUNS_DIR

LOCK_NAME = ".lock"


class RunFolderBusy(RuntimeError):
    """Another live process holds the run folder's lock; the message names the folder and that process."""

    def __init__(self, folder: Path, pid: int | None):
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(f"{folder}: run folder in use by {holder}; wait for it to finish or choose another folder")
        self.folder, self.pid = Path(folder), pid


class Interrupted(Exception):
    """Ctrl-C in a command; the message is its one line instead of a traceback, saying how to go on."""


def next_run_dir(root: Path = RUNS_DIR, prefix: str = "exp") -> Path:
    """Create and return the next free ``root/prefix_N`` (N = 1 + the largest existing number)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.fullmatch(rf"{prefix}_(\d+)", p.name))]
    number = max(numbers, default=0) + 1
    while True:
        path = root / f"{prefix}_{number}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took it between listing and mkdir
            number += 1


def training_state(run: Path) -> str:
    """How far the training run in ``run`` got: ``"finished"`` (its ``summary.json`` is there), ``"started"`` (its
    ``config.json`` is: killed, to be resumed) or ``"new"``."""
    run = Path(run)
    if (run / "summary.json").is_file():
        return "finished"
    return "started" if (run / "config.json").is_file() else "new"


@contextmanager
def run_folder_lock(folder: Path) -> Iterator[Path]:
    """Hold ``folder``'s lock (created with the folder when missing) for the ``with`` block, else raise
    :class:`RunFolderBusy` at once.

    The lock is an ``flock`` on ``folder/.lock``, which holds the owner's pid for the message. The kernel releases
    it when the process ends, however it ends (SIGKILL included), so a killed run never leaves its folder locked.
    The file itself stays: deleting it would let a second process lock a new file while the first holds the old.
    A second lock of one folder within one process is refused too (each ``open`` is its own lock holder).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise RunFolderBusy(folder, int(text) if text.isdigit() else None) from None  # no pid yet: just locked
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield folder
    finally:
        os.close(fd)
