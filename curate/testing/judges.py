"""A scripted LLM judge for tests and benchmarks: its hidden truth is known to the caller.

It reads the answer out of the judge prompt (the text after the template's answer
marker), looks up the quality the caller assigned to it, and replies like a judge: a
short rationale and ``[[n]]``. Noise, a preference for longer answers and a share of
garbage replies (no verdict at all) are scripted and deterministic: the same prompt
and sampling settings give the same reply, so a test can count calls exactly.
"""

from __future__ import annotations

import hashlib
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
            rating = self.quality(answer) + self.length_bonus * len(answer) / 1000
            rating += self.noise * (2 * _unit("noise", *key) - 1)
            rating = min(10, max(1, round(rating)))
            reply = f"The answer is clear and mostly correct. Rating: [[{rating}]]"
            out.append(Generation(reply, None, len(prompt[-1]["content"]) // 4, 12))
        return out
