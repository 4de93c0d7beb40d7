"""Strict parsers for LLM-judge verdicts, and the expected rating from token logprobs.

A parser returns a :class:`Verdict`; it never invents a default. The rules:

* Ratings are written ``[[n]]`` (``[[8]]``, ``[[ 8 ]]``, ``[[7.5]]``, ``Rating: [[8]]``) on a
  1-10 scale, or ``[RESULT] n`` (Prometheus absolute grading, 1-5; ``[RESULT]: 4`` and
  ``[RESULT] (4)`` are accepted too). Pairwise verdicts are ``[[A]]``, ``[[B]]``, ``[[C]]``
  (tie; ``[[tie]]`` means C too), any case.
* The LAST verdict in the text wins: judges often restate the required format ("output
  [[rating]], e.g. [[5]]") before giving their own, so an earlier match is not the answer.
* But the line holding the last verdict must be unequivocal: two different verdicts on that
  final verdict line ("[[A]] if A is better, [[B]] if B is better") are ``ambiguous``.
* A rating outside its scale is ``out_of_range`` (value None, the number kept in ``raw``),
  never clipped. No verdict at all is ``no_verdict``.

Prometheus' 1-5 grade is mapped to the common 1-10 scale linearly, ``1 + (r - 1) * 9 / 4``
(1 -> 1, 3 -> 5.5, 5 -> 10); ``raw`` keeps the judge's own number.

:func:`expected_rating` reads a backend's top-logprobs at the rating position (found with
:func:`rating_position`) instead of the sampled digit: the mean rating under the judge's
distribution, a finer and less noisy signal than one sampled token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OK, NO_VERDICT, OUT_OF_RANGE, AMBIGUOUS = "ok", "no_verdict", "out_of_range", "ambiguous"
STATUSES = (OK, NO_VERDICT, OUT_OF_RANGE, AMBIGUOUS)

_NUMBER = r"([+-]?\d+(?:\.\d+)?)"
RATING_RE = re.compile(r"\[\[\s*" + _NUMBER + r"\s*\]\]")
RESULT_RE = re.compile(r"\[RESULT\]\s*:?\s*\(?\s*" + _NUMBER + r"\s*\)?")
PAIRWISE_RE = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """One parsed judge reply: ``value`` is set only when ``status`` is ``ok``."""

    value: float | str | None  # rating on the 1-10 scale, or "A" / "B" / "C"
    status: str  # one of STATUSES
    match: str | None = None  # the text of the deciding verdict, as written
    raw: float | str | None = None  # the verdict on the judge's own scale (kept when out of range)

    @property
    def ok(self) -> bool:
        return self.status == OK


def _last_on_final_line(text: str, pattern: re.Pattern, key) -> tuple[re.Match | None, bool]:
    """The last match of ``pattern`` and whether its line holds a different verdict too."""
    matches = list(pattern.finditer(text))
    if not matches:
        return None, False
    last = matches[-1]
    line_start = text.rfind("\n", 0, last.start()) + 1
    same_line = [m for m in matches if m.start() >= line_start]
    return last, len({key(m) for m in same_line}) > 1


def _parse_number(text: str, pattern: re.Pattern, low: float, high: float, to10) -> Verdict:
    if not isinstance(text, str):
        return Verdict(None, NO_VERDICT)
    last, ambiguous = _last_on_final_line(text, pattern, lambda m: float(m.group(1)))
    if last is None:
        return Verdict(None, NO_VERDICT)
    raw = float(last.group(1))
    if ambiguous:
        return Verdict(None, AMBIGUOUS, last.group(0), raw)
    if not low <= raw <= high:
        return Verdict(None, OUT_OF_RANGE, last.group(0), raw)
    return Verdict(to10(raw), OK, last.group(0), raw)


def parse_rating(text: str, low: float = 1, high: float = 10) -> Verdict:
    """A ``[[n]]`` rating (MT-Bench / our pointwise template), on the scale ``low..high``."""
    return _parse_number(text, RATING_RE, low, high, lambda r: r)


def prometheus_to_10(raw: float) -> float:
    """A Prometheus 1-5 grade on the common 1-10 scale: linear, 1 -> 1 and 5 -> 10."""
    return 1 + (raw - 1) * 9 / 4


def parse_prometheus(text: str) -> Verdict:
    """A Prometheus absolute grade ``[RESULT] n`` (1-5); ``value`` on 1-10, ``raw`` as written."""
    return _parse_number(text, RESULT_RE, 1, 5, prometheus_to_10)


def _pairwise_key(m: re.Match) -> str:
    token = m.group(1).upper()
    return "C" if token == "TIE" else token


def parse_pairwise(text: str) -> Verdict:
    """A pairwise verdict ``[[A]]`` / ``[[B]]`` / ``[[C]]`` (``[[tie]]`` is C)."""
    if not isinstance(text, str):
        return Verdict(None, NO_VERDICT)
    last, ambiguous = _last_on_final_line(text, PAIRWISE_RE, _pairwise_key)
    if last is None:
        return Verdict(None, NO_VERDICT)
    if ambiguous:
        return Verdict(None, AMBIGUOUS, last.group(0), _pairwise_key(last))
    return Verdict(_pairwise_key(last), OK, last.group(0), _pairwise_key(last))


# -- the expected rating from logprobs -----------------------------------------------------


def _pairs(top_logprobs: Any) -> Iterable[tuple[str, float]]:
    """``(token, logprob)`` pairs from the shapes backends use (see :func:`expected_rating`)."""
    if isinstance(top_logprobs, Mapping):
        yield from top_logprobs.items()
        return
    for item in top_logprobs:
        if isinstance(item, Mapping):
            yield item["token"], item["logprob"]
        else:
            token, logprob = item
            yield token, logprob


def expected_rating(top_logprobs: Any, low: int = 1, high: int = 10) -> float | None:
    """The mean rating under the judge's distribution at the rating token, or None.

    ``top_logprobs`` is the distribution at ONE position (the token after ``[[``), as any
    of: ``{"8": -0.1, "9": -2.3}``; ``[("8", -0.1), ...]``; or OpenAI's
    ``[{"token": "8", "logprob": -0.1}, ...]``. Tokens are compared stripped of
    whitespace; those that are not an integer in ``low..high`` are dropped and the rest
    renormalized, so the result does not depend on how much mass went to "[" or " ".
    Spellings of one rating (``"8"``, ``" 8"``) add up. No valid token: None, never a
    guess. Where the tokenizer splits "10" into "1" "0", the "1" here includes "10".
    """
    mass: dict[int, float] = {}
    for token, logprob in _pairs(top_logprobs):
        word = str(token).strip()
        if not word.isascii() or not word.isdigit() or logprob is None:
            continue
        rating = int(word)
        if low <= rating <= high and math.isfinite(logprob):
            mass[rating] = mass.get(rating, 0.0) + math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return sum(r * p for r, p in mass.items()) / total


_OPENING = re.compile(r"\[\[\s*(?=[0-9])")


def rating_position(tokens: Sequence[str]) -> int | None:
    """Index of the token holding the rating's first digit after the LAST ``[[``, or None.

    ``tokens`` are the generated tokens as strings, in order (their concatenation is the
    reply). None when no ``[[`` is followed by a digit, or when the digit shares a token
    with the brackets (``"[[8"``): the distribution at that position is not over ratings.
    """
    starts, text = [], ""
    for token in tokens:
        starts.append(len(text))
        text += token
    matches = list(_OPENING.finditer(text))
    if not matches:
        return None
    digit_at = matches[-1].end()
    index = next(i for i in range(len(starts) - 1, -1, -1) if starts[i] <= digit_at)
    if text[starts[index] : digit_at].strip():
        return None
    return index
