"""Format adapters and per-file format detection.

Detection looks at the first ``SAMPLE`` records of a file and picks the adapter
that recognises most of them; ties go to the adapter listed first in ``FORMATS``
(more specific layouts come first). ``--format NAME`` skips detection.
"""

from __future__ import annotations

from collections.abc import Iterable

from curate.errors import InputError
from curate.ingest.formats.base import (
    Conversation,
    Converter,
    Format,
    FormatContext,
    RecordError,
)
from curate.ingest.formats.chat import Messages, PreferenceMessages, ShareGPT
from curate.ingest.formats.dialogue import Dialogue, FlatPair
from curate.ingest.formats.fastchat import FastChatAnswer, Questions
from curate.ingest.formats.instruction import Alpaca, MultipleChoice, PromptOnly, Squad
from curate.ingest.formats.judge_files import JudgeOutput, JudgeTemplate
from curate.ingest.formats.judgments import (
    PAIR_LAYOUTS,
    ArenaConversations,
    PairedAnswers,
    RankedAnswers,
)
from curate.ingest.formats.transcripts import BareTranscript, HHTranscript, Moss

SAMPLE = 64

#: Detection order: on equal votes the format listed first wins, so the more specific
#: layouts come first, and the refusals (judge templates, judge outputs) come before
#: the generic prompt layouts their rows would otherwise pass for.
FORMATS: tuple[Format, ...] = (
    Moss(),
    JudgeTemplate(),
    FastChatAnswer(),
    ArenaConversations(),
    *(PairedAnswers(layout) for layout in PAIR_LAYOUTS),
    RankedAnswers(),
    JudgeOutput(),
    Questions(),
    HHTranscript(),
    PreferenceMessages(),
    ShareGPT(),
    Messages(),
    Dialogue(),
    MultipleChoice(),
    Squad(),
    Alpaca(),
    FlatPair(),
    PromptOnly(),
    BareTranscript(),
)
BY_NAME = {f.name: f for f in FORMATS}


class Unrecognized(Format):
    """No adapter recognises the file: every record is rejected, naming its keys."""

    name = "unrecognized"
    summary = "no known layout"

    def __init__(self, keys: list[str]):
        self.keys = keys

    def matches(self, record: dict) -> bool:
        return False

    def converter(self, ctx: FormatContext) -> Converter:
        detail = (
            f"no known layout for records with keys {', '.join(self.keys) or '(none)'}; "
            "force one with --format and name the fields with --map"
        )

        def convert(record: dict) -> Conversation:
            raise RecordError("unrecognized_schema", detail)

        return convert


def get(name: str) -> Format:
    try:
        return BY_NAME[name]
    except KeyError:
        raise InputError(
            f"unknown --format {name!r}; choose one of: {', '.join(BY_NAME)}"
        ) from None


def detect(records: Iterable[object]) -> Format:
    """The adapter that recognises most of the sampled records."""
    sample = [r for r in records if isinstance(r, dict)][:SAMPLE]
    if not sample:
        return Unrecognized([])
    best, best_hits = None, 0
    for fmt in FORMATS:
        hits = sum(1 for r in sample if fmt.matches(r))
        if hits > best_hits:
            best, best_hits = fmt, hits
    if best is None:
        keys = sorted({k for r in sample for k in r})[:12]
        return Unrecognized(keys)
    return best


__all__ = [
    "FORMATS",
    "Conversation",
    "Converter",
    "Format",
    "FormatContext",
    "RecordError",
    "detect",
    "get",
]
