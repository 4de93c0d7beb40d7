"""The judge's prompt templates: presets shipped in ``curate/judge/templates/`` or a user file.

A template is plain text with ``{placeholder}`` fields (``{{`` and ``}}`` for literal
braces), rendered as the judge's user message. Only these fields exist:

* pointwise templates: ``{history}``, ``{question}``, ``{answer}``, ``{language}``;
* pairwise templates: ``{answer_a}``, ``{answer_b}``, and either the one prompt both answer
  (``{history}``, ``{question}``, ``{language}``: two answers to one prompt, a prompt group)
  or each conversation's own (``{history_a}``, ``{question_a}``, ``{language_a}``, and the
  same for ``b``: two conversations of a tag cluster, with different prompts).

A template with any other field (a typo, ``{0}``, ``{answer.upper}``, a format spec) fails
at load time with a :class:`~curate.errors.CurateError`, and rendering without a value for
a field the template uses fails too: a judge never sees a half-filled prompt. Values are
inserted verbatim, so braces inside a conversation are never interpreted.

Multi-turn conversations: the judge rates the LAST assistant reply (``{answer}``) to the
last user message (``{question}``); every earlier turn, system prompt included, is shown as
context in ``{history}``. That matches what the judge's score is used for (the final turn
is what a row of SFT data teaches), and keeps one verdict per row; earlier assistant turns
are not rated.

Presets: ``pointwise`` (the default; reference-free rubric, ``[[n]]`` on 1-10),
``prometheus2`` and ``m-prometheus`` (Prometheus-2 absolute grading and its multilingual
variant, ``[RESULT] n`` on 1-5), ``pairwise`` (the judge answers first, ignores order and
length, ends with ``[[A]]``, ``[[B]]`` or ``[[C]]``; two answers to one prompt) and
``pairwise-cluster`` (the same for two conversations of one tag cluster, each reply judged
against its own question). Our own wording throughout.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from curate.errors import CurateError
from curate.judge import parse

POINTWISE, PAIRWISE = "pointwise", "pairwise"
FIELDS = {
    POINTWISE: ("history", "question", "answer", "language"),
    PAIRWISE: (
        "history",
        "question",
        "language",
        "answer_a",
        "answer_b",
        "history_a",
        "question_a",
        "language_a",
        "history_b",
        "question_b",
        "language_b",
    ),
}
#: the fields of a pairwise template that show ONE prompt: both answers must reply to it
SHARED_PROMPT = ("history", "question", "language")
#: the fields a template of each kind must use, or it cannot show what is judged
REQUIRED = {POINTWISE: ("answer",), PAIRWISE: ("answer_a", "answer_b")}

#: verdict formats: name -> (the kind of template it fits, its parser)
VERDICTS = {
    "rating": (POINTWISE, parse.parse_rating),
    "prometheus": (POINTWISE, parse.parse_prometheus),
    "pairwise": (PAIRWISE, parse.parse_pairwise),
}

#: preset name -> (kind, verdict format); the text is ``templates/<name>.txt``
PRESETS = {
    "pointwise": (POINTWISE, "rating"),
    "prometheus2": (POINTWISE, "prometheus"),
    "m-prometheus": (POINTWISE, "prometheus"),
    "pairwise": (PAIRWISE, "pairwise"),
    "pairwise-cluster": (PAIRWISE, "pairwise"),
}
DEFAULT_PRESET = "pointwise"
#: the pairwise preset for each kind of group: answers to one prompt, or a tag cluster
PAIRWISE_PRESETS = {"prompt": "pairwise", "tag": "pairwise-cluster"}

NO_HISTORY = "(none: this is the first turn)"

_LANGUAGES = {
    "en": "English",
    "ru": "Russian",
    "uk": "Ukrainian",
    "zh": "Chinese",
    "zh-Hans": "Simplified Chinese",
    "zh-Hant": "Traditional Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "hi": "Hindi",
    "th": "Thai",
    "el": "Greek",
    "he": "Hebrew",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
}
#: what ``{language}`` says when the language is unknown (``und``, ``other``, missing)
UNKNOWN_LANGUAGE = "the language of the user's last message"


def language_name(code: str | None) -> str:
    """A human-readable name for a ``lang`` code: ``"Traditional Chinese (zh-Hant)"``."""
    if not code or code in ("und", "other"):
        return UNKNOWN_LANGUAGE
    name = _LANGUAGES.get(code)
    return f"{name} ({code})" if name else code


@dataclass(frozen=True)
class Template:
    """A checked template: its text, kind, verdict format and the fields it uses."""

    name: str  # the preset name, or the file path
    text: str
    kind: str  # POINTWISE or PAIRWISE
    verdict: str  # a key of VERDICTS
    placeholders: tuple[str, ...]  # fields used, in order of first use

    def render(self, **values: str) -> str:
        """The prompt with every field filled; values may include fields this one does not use."""
        missing = [f for f in self.placeholders if not isinstance(values.get(f), str)]
        if missing and self.kind == PAIRWISE and set(missing) <= set(SHARED_PROMPT):
            raise CurateError(
                f"judge template {self.name!r} shows one prompt that both answers reply to, "
                "but these two conversations have different prompts: use the "
                "pairwise-cluster preset, or a template with {question_a} and {question_b}"
            )
        if missing:
            raise CurateError(
                f"judge template {self.name!r} needs a text value for "
                + ", ".join("{" + f + "}" for f in missing)
            )
        return "".join(
            literal + (values[field] if field is not None else "")
            for literal, field, _, _ in string.Formatter().parse(self.text)
        )

    @property
    def shared_prompt(self) -> bool:
        """Whether this pairwise template shows one prompt that both answers reply to."""
        return any(f in SHARED_PROMPT for f in self.placeholders)

    def parse(self, reply: str | None) -> parse.Verdict:
        """The judge's reply parsed with this template's verdict format."""
        return VERDICTS[self.verdict][1](reply)


def _placeholders(name: str, text: str, kind: str | None) -> tuple[str, tuple[str, ...]]:
    """The template's kind and fields; CurateError for any field it cannot have."""
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise CurateError(
            f"judge template {name!r}: {exc} (write literal braces as {{{{ and }}}})"
        ) from None
    used: list[str] = []
    for _, field, spec, conversion in pieces:
        if field is None:
            continue
        if spec or conversion or not field.isidentifier():
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise CurateError(
                f"judge template {name!r}: placeholder {{{shown}}} is not allowed: "
                "use a plain name such as {answer}"
            )
        if field not in used:
            used.append(field)
    if kind is None:
        kind = PAIRWISE if {"answer_a", "answer_b"} & set(used) else POINTWISE
    unknown = [f for f in used if f not in FIELDS[kind]]
    if unknown:
        raise CurateError(
            f"judge template {name!r}: unknown placeholder "
            + ", ".join("{" + f + "}" for f in unknown)
            + f"; a {kind} template can use "
            + ", ".join("{" + f + "}" for f in FIELDS[kind])
        )
    absent = [f for f in REQUIRED[kind] if f not in used]
    if absent:
        raise CurateError(
            f"judge template {name!r} never shows "
            + ", ".join("{" + f + "}" for f in absent)
            + f": a {kind} template must contain it"
        )
    return kind, tuple(used)


def preset_text(name: str) -> str:
    """The shipped text of preset ``name``."""
    return resources.files("curate.judge").joinpath("templates", f"{name}.txt").read_text("utf-8")


def load_template(source: str = DEFAULT_PRESET, verdict: str | None = None) -> Template:
    """The preset named ``source``, or else the template in the file at path ``source``.

    A user file's kind follows from its fields (``{answer_a}``/``{answer_b}``: pairwise);
    its verdict format defaults to ``rating`` (``[[n]]``) or ``pairwise``, and ``verdict``
    overrides it (e.g. ``prometheus`` for a Prometheus-style file).
    """
    if verdict is not None and verdict not in VERDICTS:
        raise CurateError(
            f"unknown verdict format {verdict!r}: choose one of {', '.join(VERDICTS)}"
        )
    if source in PRESETS:
        kind, default = PRESETS[source]
        text = preset_text(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise CurateError(
                f"judge template {source!r} is neither a preset ({', '.join(PRESETS)}) "
                "nor a readable file"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CurateError(f"cannot read judge template {source!r}: {exc}") from None
        kind, default = None, None
    if not text.strip():
        raise CurateError(f"judge template {source!r} is empty")
    kind, used = _placeholders(source, text, kind)
    chosen = verdict or default or ("pairwise" if kind == PAIRWISE else "rating")
    if VERDICTS[chosen][0] != kind:
        raise CurateError(
            f"judge template {source!r} is a {kind} template; verdict format {chosen!r} "
            f"is for {VERDICTS[chosen][0]} templates"
        )
    return Template(source, text, kind, chosen, used)


def _render_turns(messages: list[dict]) -> str:
    return "\n\n".join(f"{m['role'].capitalize()}:\n{m['content']}" for m in messages)


def conversation_fields(messages: list[dict]) -> dict[str, str]:
    """``history``, ``question`` and ``answer`` of a conversation that ends user, assistant."""
    if (
        len(messages) < 2
        or messages[-1].get("role") != "assistant"
        or messages[-2].get("role") != "user"
    ):
        raise CurateError("a judged conversation must end with a user turn and an assistant reply")
    return {
        "history": _render_turns(messages[:-2]) or NO_HISTORY,
        "question": messages[-2]["content"],
        "answer": messages[-1]["content"],
    }


def pairwise_fields(
    messages_a: list[dict],
    messages_b: list[dict],
    language_a: str | None = None,
    language_b: str | None = None,
) -> dict[str, str]:
    """The fields for comparing conversation A with conversation B.

    Each side's ``history_*``, ``question_*``, ``answer_*`` and ``language_*`` always;
    the shared ``history``, ``question`` and ``language`` only when both reply to the same
    prompt (the same turns before the last), so that a template showing one prompt
    cannot be rendered for two different ones.
    """
    a, b = conversation_fields(messages_a), conversation_fields(messages_b)
    fields = {
        "history_a": a["history"],
        "question_a": a["question"],
        "answer_a": a["answer"],
        "language_a": language_name(language_a),
        "history_b": b["history"],
        "question_b": b["question"],
        "answer_b": b["answer"],
        "language_b": language_name(language_b),
    }
    if messages_a[:-1] == messages_b[:-1]:
        fields.update(
            history=a["history"], question=a["question"], language=language_name(language_a)
        )
    return fields
