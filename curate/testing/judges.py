"""A scripted LLM judge for tests and benchmarks: its hidden truth is known to the caller.

It reads the answer out of the judge prompt (the text after the template's answer
marker), looks up the quality the caller assigned to it, and replies like a judge: a
short rationale and ``[[n]]`` (with ``top_logprobs``: also the distribution at the
rating token, the two ratings around its unrounded value). Noise, a preference for longer answers and a share of
garbage replies (no verdict at all) are scripted and deterministic: the same prompt
and sampling settings give the same reply, so a test can count calls exactly.
"""

from __future__ import annotations

import hashlib
import math
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
    ):
        self.quality = quality or (lambda answer: 5.0)
        self.noise = noise  # uniform noise of this half-width added to the rating
        self.length_bonus = length_bonus  # rating points per 1,000 characters of answer
        self.garbage = garbage  # share of replies without any verdict
        self.marker = marker
        self.calls = 0

    def identity(self) -> dict:
        return {"backend": self.name, "noise": self.noise, "garbage": self.garbage}

    def answer_of(self, prompt: Prompt) -> str:
        text = prompt[-1]["content"]
        head, sep, tail = text.partition(self.marker)
        return tail.split("\n[", 1)[0].strip() if sep else text

    def generate(self, prompts: list[Prompt], params: GenerationParams) -> list[Generation]:
        out = []
        for prompt in prompts:
            self.calls += 1
            answer = self.answer_of(prompt)
            key = (prompt[-1]["content"], params.temperature, params.seed)
            if _unit("garbage", *key) < self.garbage:
                out.append(Generation("I cannot decide; both readings are plausible.", None, 50, 9))
                continue
            value = self.quality(answer) + self.length_bonus * len(answer) / 1000
            value = min(10.0, max(1.0, value + self.noise * (2 * _unit("noise", *key) - 1)))
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
