"""A scripted LLM judge for tests and benchmarks: its hidden truth is known to the caller.

It reads the answer out of the judge prompt (the text after the template's answer
marker), looks up the quality the caller assigned to it, and replies like a judge: a
short rationale and ``[[n]]`` (with ``top_logprobs``: also the distribution at the
rating token, the two ratings around its unrounded value).

A pairwise prompt (one holding ``[Reply A]`` and ``[Reply B]``, as the pairwise presets
do) is answered ``[[A]]``, ``[[B]]`` or ``[[C]]`` by comparing the two answers' values
(quality + length bonus + noise): within ``position_bias`` of each other the judge says
A, whichever answer is shown there (the position bias real judges show on close pairs);
within ``tie_margin`` it says C.

Noise, a preference for longer answers and a share of garbage replies (no verdict at
all) are scripted and deterministic: the same prompt and sampling settings give the
same reply, so a test can count calls exactly (``seen`` counts each distinct call).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable

from curate.llm.base import Generation, GenerationBackend, GenerationParams, Prompt


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class ScriptedJudge(GenerationBackend):
    """Rates the answer in each prompt by ``quality(answer) + noise``, on 1-10."""

    name = "scripted-judge"

    def __init__(
        self,
        quality: Callable[[str], float] | None = None,
        noise: float = 0.0,
        length_bonus: float = 0.0,
        garbage: float = 0.0,
        marker: str = "[Assistant's last reply, the one to judge]",
        position_bias: float = 0.0,
        tie_margin: float = 0.0,
    ):
        self.quality = quality or (lambda answer: 5.0)
        self.noise = noise  # uniform noise of this half-width added to the rating
        self.length_bonus = length_bonus  # rating points per 1,000 characters of answer
        self.garbage = garbage  # share of replies without any verdict
        self.marker = marker
        self.position_bias = position_bias  # values this close: the answer shown first wins
        self.tie_margin = tie_margin  # values this close (and no position bias): a tie
        self.calls = 0
        self.seen: Counter[tuple] = Counter()  # (prompt text, temperature, seed) -> calls

    def identity(self) -> dict:
        return {
            "backend": self.name,
            "noise": self.noise,
            "garbage": self.garbage,
            "length_bonus": self.length_bonus,
            "position_bias": self.position_bias,
        }

    def value(self, answer: str, *key: object) -> float:
        """The judge's view of one answer: quality, length bonus and noise (unclipped)."""
        value = self.quality(answer) + self.length_bonus * len(answer) / 1000
        return value + self.noise * (2 * _unit("noise", *key) - 1)

    def _compare(self, text: str, key: tuple) -> str:
        a = _between(text, "[Reply A]", "[End of reply A]")
        b = _between(text, "[Reply B]", "[End of reply B]")
        d = self.value(a, "A", *key) - self.value(b, "B", *key)
        if abs(d) < self.position_bias:
            verdict = "A"
        elif abs(d) < self.tie_margin:
            verdict = "C"
        else:
            verdict = "A" if d > 0 else "B"
        return f"My own answer first. Comparing both, one is more correct.\n[[{verdict}]]"

    def answer_of(self, prompt: Prompt) -> str:
        text = prompt[-1]["content"]
        head, sep, tail = text.partition(self.marker)
        if not sep:
            return text
        if "[End of the reply]" in tail:  # the pointwise preset closes the answer: exact
            return tail.rsplit("[End of the reply]", 1)[0].strip()
        return tail.split("\n[", 1)[0].strip()  # other templates: up to the next section

    def generate(self, prompts: list[Prompt], params: GenerationParams) -> list[Generation]:
        out = []
        for prompt in prompts:
            self.calls += 1
            text = prompt[-1]["content"]
            key = (text, params.temperature, params.seed)
            self.seen[key] += 1
            if _unit("garbage", *key) < self.garbage:
                out.append(Generation("I cannot decide; both readings are plausible.", None, 50, 9))
                continue
            if "[Reply A]" in text and "[Reply B]" in text:
                out.append(Generation(self._compare(text, key), None, len(text) // 4, 20))
                continue
            value = min(10.0, max(1.0, self.value(self.answer_of(prompt), *key)))
            rating = round(value)
            pieces = ["The answer is clear and mostly correct. Rating: ", "[[", str(rating), "]]"]
            tokens = None
            if params.top_logprobs:  # the two ratings around the judge's value, interpolated
                low, high = int(value), min(int(value) + 1, 10)
                share = value - low
                top = {str(low): math.log(max(1 - share, 1e-9))}
                if high != low:
                    top[str(high)] = math.log(max(share, 1e-9))
                tokens = [(p, {p: 0.0}) for p in pieces]
                tokens[2] = (str(rating), top)
            reply = "".join(pieces)
            out.append(Generation(reply, None, len(prompt[-1]["content"]) // 4, 12, "stop", tokens))
        return out


def _between(text: str, start: str, end: str) -> str:
    """The text between the last ``start`` marker and the ``end`` after it, stripped."""
    head, _, tail = text.rpartition(start)
    return tail.split(end, 1)[0].strip()
