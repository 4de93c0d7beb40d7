"""Sampling n answers per prompt: the per-shard stage ``samples`` of the prompt store.

Each sample has its own seed, derived from the run's seed, the ``prompt_id`` and the
sample's index (:func:`sample_seed`), and the backend is given one seed per sample:
so a sample does not depend on the chunk, batch or machine it ran on, and a rerun or
a resumed run gives the same samples wherever the backend is deterministic. A failed
generation is kept as its error, never replaced by a text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.errors import InputError
from curate.llm.base import GenerationBackend, GenerationParams
from curate.runner import Stage
from curate.store import Store

SIDECAR = "samples"

SAMPLE = pa.struct(
    [
        ("text", pa.string()),  # None: the generation failed
        ("error", pa.string()),
        ("finish_reason", pa.string()),  # stop | length
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("seed", pa.int64()),
    ]
)
SCHEMA = pa.schema([("samples", pa.list_(SAMPLE))])


@dataclass(frozen=True)
class SamplingOptions:
    """How each prompt is sampled (the same meaning on every backend)."""

    n: int = 7
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 1024
    seed: int = 0
    stop: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.n > 1 and self.temperature == 0:
            raise InputError(
                f"-n {self.n} with --temperature 0 samples the same (greedy) answer {self.n} "
                "times; give a temperature above 0 (e.g. 0.8), or -n 1"
            )

    def record(self) -> dict[str, Any]:
        """These options as JSON (fingerprints, manifests, each row's meta)."""
        return {
            "n": self.n,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
            "stop": list(self.stop),
        }

    def params(self) -> GenerationParams:
        return GenerationParams(
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
            stop=self.stop,
        )


def sample_seed(seed: int, prompt_id: str, index: int) -> int:
    """The seed of sample ``index`` of one prompt: 31 bits (every backend's seed type takes it)."""
    digest = hashlib.blake2b(f"{seed}:{prompt_id}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF


def sample_requests(
    prompt_ids: list[str], prompts: list[list[dict]], options: SamplingOptions
) -> tuple[list[list[dict]], list[int]]:
    """Each prompt ``options.n`` times, in order, with the seed of each sample."""
    requests, seeds = [], []
    for pid, prompt in zip(prompt_ids, prompts):
        for k in range(options.n):
            requests.append(prompt)
            seeds.append(sample_seed(options.seed, pid, k))
    return requests, seeds


def sample_columns(
    backend: GenerationBackend, options: SamplingOptions, table: pa.Table, progress=None
) -> dict[str, pa.Array]:
    """``samples`` for each prompt row of ``table`` (columns ``prompt_id``, ``messages``)."""
    params = options.params()
    requests, seeds = sample_requests(
        table.column("prompt_id").to_pylist(), table.column("messages").to_pylist(), options
    )
    replies = backend.generate(requests, params, seeds=seeds) if requests else []
    if len(replies) != len(requests):  # a backend's bug: never pad or guess
        raise RuntimeError(
            f"backend {backend.name!r} returned {len(replies)} generations for "
            f"{len(requests)} prompts"
        )
    rows = [
        {
            "text": g.text,
            "error": None if g.ok else (g.error or "no text returned"),
            "finish_reason": g.finish_reason,
            "prompt_tokens": int(g.prompt_tokens),
            "completion_tokens": int(g.completion_tokens),
            "seed": s,
        }
        for g, s in zip(replies, seeds)
    ]
    n = options.n
    samples = pa.array([rows[i * n : (i + 1) * n] for i in range(table.num_rows)], pa.list_(SAMPLE))
    if progress is not None:
        progress(table.num_rows, sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows))
    return {"samples": samples}


def sample_counts(store: Store) -> dict[str, Any]:
    """Samples made, failed, cut off and tokens spent, from the finished sidecar."""
    flat = pc.list_flatten(store.read_sidecar(SIDECAR, columns=["samples"]).column("samples"))
    failed = int(pc.sum(pc.is_null(pc.struct_field(flat, "text"))).as_py() or 0)
    reasons = pc.struct_field(flat, "finish_reason")
    return {
        "rows": store.num_rows(),
        "samples": len(flat),
        "failed": failed,
        "cut_off": int(pc.sum(pc.equal(reasons, "length")).as_py() or 0),
        "prompt_tokens": int(pc.sum(pc.struct_field(flat, "prompt_tokens")).as_py() or 0),
        "tokens": int(pc.sum(pc.struct_field(flat, "completion_tokens")).as_py() or 0),
    }


def samples_stage(
    backend: GenerationBackend, options: SamplingOptions, chunk_prompts: int = 64
) -> Stage:
    """The declaration of the sampling stage for a loaded ``backend``."""
    return Stage(
        name=SIDECAR,
        params={
            "sampling": options.record(),
            "backend": backend.params(),
            "identity": backend.identity(),
        },
        columns=("prompt_id", "messages"),
        schema=SCHEMA,
        compute_shard=lambda table, progress: sample_columns(backend, options, table, progress),
        chunk_rows=chunk_prompts,
        counts=sample_counts,
        rates=("tokens",),
        reports_progress=True,
        # what the model says it is once it has answered (a server's served model name)
        extra=lambda: {"backend_identity": backend.identity()},
        close=backend.close,
    )
