"""Atomic file writes: a file is written under a temporary name beside its target and renamed over it, so a reader
never sees half a file and an interrupted writer leaves the old one (or none) in place."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on success it replaces ``path``, on failure it is deleted.

    The temporary name, ``.{name}.{pid}.tmp``, is hidden and per process, so writers in parallel processes do not
    collide. The parent folder is created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:  # a full disk fails a write with no file named: name the target
        raise naming(error, path) from None
    finally:
        tmp.unlink(missing_ok=True)


def naming(error: OSError, path: Path) -> OSError:
    """``error`` itself when it names a file, else the same error naming ``path`` (a write or flush that fails on
    a full disk names none)."""
    return error if error.filename else OSError(error.errno, error.strerror or str(error), str(path))


def os_error_line(error: OSError) -> str:
    """``FILE: reason`` for the commands' ``error: FILE: reason`` line."""
    return f"{error.filename}: {error.strerror}" if error.filename and error.strerror else str(error)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_dead_temps(folder: Path) -> list[Path]:
    """Delete the temporary files in ``folder`` left by writers that were killed (SIGKILL runs no cleanup);
    those of live processes, possibly still writing, are kept. Returns the paths removed."""
    removed = []
    for tmp in Path(folder).glob(".*.*.tmp"):
        pid = tmp.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed
