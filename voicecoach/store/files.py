"""What a history file is, and what its errors mean in plain words (for ``store/history.py``)."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """The history cannot be read or written; ``str()`` is a plain sentence naming the file."""


def plain(exc: BaseException, path: Path) -> str:
    """What an SQLite or file error means for the history file at ``path``, in plain words."""
    text = str(exc).lower()
    if isinstance(exc, IsADirectoryError) or path.is_dir():
        return f"{path} is a folder, not a history file"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"{path} is damaged or is not a history file ({exc})"
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        return f"{path} cannot be written (a read-only file or folder)"
    if "full" in text:
        return f"the disk holding {path} is full"
    if "locked" in text or "busy" in text:
        return f"{path} is in use by another program"
    if "unable to open" in text:
        return f"{path} cannot be opened (a missing or read-only folder, or no permission)"
    return f"{path}: {getattr(exc, 'strerror', None) or exc}"


def regular_or_missing(path: Path) -> None:
    """A history is a regular file (or not there yet): a device (``/dev/null``), a FIFO or a
    socket is refused before SQLite opens it, so nothing is written beside it or into it and
    nothing waits on it."""
    import stat
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(str(path))
    if not stat.S_ISREG(mode):
        raise StoreError(f"{path} is not a regular file (a device, a pipe or a socket); it is left as it is")
