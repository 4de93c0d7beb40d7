"""``--confirm-with-judge``: keep a scored pair only if a pairwise LLM judge prefers its chosen
answer in both orders (shown as A, then as B).

The judge sees the pairwise prompt-group preset (``templates.PAIRWISE_PRESETS["prompt"]``:
one prompt, two replies, ``[[A]]``/``[[B]]``/``[[C]]``) and is asked through
:class:`curate.judge.calls.Asker` with the store's call cache, so a rerun, or a later
``curate judge --mode pairwise --groups prompt`` with the same judge, never pays for a call
twice. A pair whose verdict could not be had in one of its orders (a reply that did not
parse after the sampled retry, a backend failure, a conversation the template cannot show)
is ``judge_failed``; of the rest, a pair that is not ``A`` then ``B`` (a tie ``C``
included) is ``judge_disagrees``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from curate import names
from curate.errors import CurateError
from curate.judge import templates
from curate.judge.cache import CallCache
from curate.judge.calls import Asker, Request
from curate.llm.base import GenerationBackend

KEPT, DISAGREES, FAILED = "kept", "judge_disagrees", "judge_failed"


@dataclass(frozen=True)
class Candidate:
    """One pair to confirm: ids, the shared prompt, both answers, and the user's language."""

    chosen_id: str
    rejected_id: str
    prompt: list[dict]
    chosen: list[dict]
    rejected: list[dict]
    lang: str | None


@dataclass
class Confirmation:
    """The verdict per pair (:data:`KEPT`, :data:`DISAGREES`, :data:`FAILED`) and the calls."""

    outcome: list[str]
    calls: dict[str, int]  # made / cached, this run
    verdicts: dict[str, int]  # A / B / C / failed, over both orders
    judge: dict[str, Any]  # name, identity, template


def confirm_pairs(
    store_root: Any,
    backend: GenerationBackend,
    judge_name: str,
    candidates: Sequence[Candidate],
    max_new_tokens: int = 512,
    progress: Callable[[int, int], None] | None = None,
) -> Confirmation:
    """Ask the judge about every candidate in both orders (through the call cache)."""
    template = templates.load_template(templates.PAIRWISE_PRESETS["prompt"])
    name = names.slug(judge_name)
    if not candidates:
        return Confirmation([], {"made": 0, "cached": 0}, {}, {"name": name})
    backend.load()
    asker = Asker(backend, CallCache(store_root, name), template, max_new_tokens)
    requests: list[Request] = []
    asked: list[int] = []  # the candidates the template can show
    for k, c in enumerate(candidates):
        a, b = c.prompt + c.chosen, c.prompt + c.rejected
        try:
            ab = templates.pairwise_fields(a, b, c.lang, c.lang)
            ba = templates.pairwise_fields(b, a, c.lang, c.lang)
        except CurateError:  # not a user turn then one reply: nothing the judge can compare
            continue
        asked.append(k)
        requests.append(Request((c.chosen_id, c.rejected_id), _prompt(template, ab)))
        requests.append(Request((c.rejected_id, c.chosen_id), _prompt(template, ba)))
    answers = asker.ask(requests, progress)
    outcome = [FAILED] * len(candidates)
    verdicts: Counter[str] = Counter()
    for k, first, second in zip(asked, answers[0::2], answers[1::2]):
        for answer in (first, second):
            verdicts[answer.verdict.value if answer.ok else "failed"] += 1
        if not (first.ok and second.ok):
            continue
        both = (first.verdict.value, second.verdict.value) == ("A", "B")
        outcome[k] = KEPT if both else DISAGREES
    return Confirmation(
        outcome,
        {"made": int(asker.stats["made"]), "cached": int(asker.stats["cached"])},
        dict(sorted(verdicts.items())),
        {"name": name, "identity": asker.identity, "template": template.name},
    )


def _prompt(template: templates.Template, fields: dict[str, str]) -> list[dict]:
    return [{"role": "user", "content": template.render(**fields)}]
