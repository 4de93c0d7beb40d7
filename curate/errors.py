"""Exceptions that mean "the user asked for something we cannot do".

The CLI prints them as one red line and exits with status 1, without a traceback.
Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import os


class CurateError(Exception):
    """A user-facing error: the message says what is wrong and what to do."""


class StoreError(CurateError):
    """The store directory is missing, damaged, locked, or in an unexpected state."""


class StageConflict(CurateError):
    """A stage's existing results were built with different inputs or parameters."""


class InputError(CurateError):
    """An input path or option cannot be used."""


# -- operating-system errors the user can act on ----------------------------------------------

# Never a bug: the disk, the quota or the mount is the problem, wherever it happens.
_ENVIRONMENT = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}
# A user error when the path is one the user named (or lies inside or above one).
_PATH = {
    errno.EACCES,
    errno.EPERM,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EEXIST,
    errno.ENAMETOOLONG,
    errno.ELOOP,
}
_ADVICE = {
    errno.ENOSPC: "no space left on the device of {path}: free some space and run the same "
    "command again (stages resume where they stopped)",
    errno.EDQUOT: "disk quota exceeded writing {path}: free some space or raise the quota, and "
    "run the same command again (stages resume where they stopped)",
    errno.EROFS: "{path} is on a read-only file system: use a store and output on a writable "
    "disk (copy the store there, or remount it read-write), and run the command again",
    errno.EACCES: "permission denied: {path}: fix its permissions or choose another path, and "
    "run the command again",
    errno.EISDIR: "{path} is a folder: name a file instead",
    errno.ENOTDIR: "{path}: a part of this path is a file, not a folder: choose another path",
    errno.EEXIST: "{path} already exists and is not what curate expects there: choose another "
    "path or move it away",
    errno.ENAMETOOLONG: "{path}: file name too long: choose a shorter path",
    errno.ELOOP: "{path}: too many levels of symbolic links: fix the link or choose another path",
}
_ADVICE[errno.EPERM] = _ADVICE[errno.EACCES]


def _errno_of(exc: OSError) -> int | None:
    if exc.errno is not None:
        return exc.errno
    # pyarrow raises OSError("... Detail: [errno 28] No space left on device") without errno
    text = str(exc)
    for code in _ENVIRONMENT | _PATH:
        if f"[errno {code}]" in text.lower() or os.strerror(code) in text:
            return code
    return None


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _related(path: str, named: list[str]) -> bool:
    """Whether ``path`` is a named path, lies inside one, or is a folder above one."""
    path = os.path.abspath(path)
    for name in named:
        name = os.path.abspath(name)
        if path == name or path.startswith(name.rstrip(os.sep) + os.sep):
            return True
        if name.startswith(path.rstrip(os.sep) + os.sep):
            return True
    return False


def os_error_message(exc: BaseException, named: list[str]) -> str | None:
    """The red line for an operating-system error the user can fix, or None (a bug: traceback).

    A full disk, an exceeded quota or a read-only file system anywhere (also as the
    cause of another exception) is always the user's to fix. A permission, "is a
    folder", "not a folder", "exists" error is when it concerns a path the user named
    in ``named`` (the command line's arguments), a path inside one or above one.
    """
    for link in _chain(exc):
        if isinstance(link, OSError) and _errno_of(link) in _ENVIRONMENT:
            return _format(link)
    if isinstance(exc, OSError) and _errno_of(exc) in _PATH:
        paths = [p for p in (exc.filename, exc.filename2) if isinstance(p, str | os.PathLike)]
        if any(_related(os.fspath(p), named) for p in paths):
            return _format(exc)
    return None


def _format(exc: OSError) -> str:
    code = _errno_of(exc)
    if exc.filename is None:  # only a full disk, a quota or a read-only mount gets here
        what = {
            errno.ENOSPC: "no space left on device",
            errno.EDQUOT: "disk quota exceeded",
            errno.EROFS: "read-only file system",
        }[code]
        advice = (
            _ADVICE[code].split(": ", 1)[1]
            if code != errno.EROFS
            else ("use a store and output on a writable disk, and run the command again")
        )
        return f"{what} ({exc}): {advice}"
    return _ADVICE[code].format(path=os.fspath(exc.filename))
