"""Exceptions that mean "the user asked for something we cannot do".

The CLI prints them as one red line and exits with status 1, without a traceback.
Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class CurateError(Exception):
    """A user-facing error: the message says what is wrong and what to do."""


class StoreError(CurateError):
    """The store directory is missing, damaged, locked, or in an unexpected state."""


class StageConflict(CurateError):
    """A stage's existing results were built with different inputs or parameters."""


class InputError(CurateError):
    """An input path or option cannot be used."""
