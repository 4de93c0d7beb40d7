"""Prompt groups: rows that share a ``prompt_id`` are answers to one prompt (DESIGN.md).

Counting helpers shared by ``curate info``, the dedup summary and the select report, so
that all three describe prompt groups in the same words.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def prompt_codes(prompt_ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """One int code per row, equal for rows of one prompt group, (N,) int64."""
    if isinstance(prompt_ids, pa.ChunkedArray):
        prompt_ids = prompt_ids.combine_chunks()
    return pc.dictionary_encode(prompt_ids).indices.to_numpy(zero_copy_only=False).astype(np.int64)


def group_counts(codes: np.ndarray, rows: np.ndarray | None = None) -> dict[str, Any]:
    """Prompts and answers per prompt among ``rows`` (indices or a mask; default: all)."""
    picked = codes if rows is None else codes[rows]
    per = np.bincount(picked) if len(picked) else np.zeros(0, dtype=np.int64)
    per = per[per > 0]
    return {
        "prompts": int(len(per)),
        "answers": int(len(picked)),
        "answers_per_prompt_mean": round(float(per.mean()), 3) if len(per) else None,
        "answers_per_prompt_max": int(per.max()) if len(per) else 0,
        "prompts_with_several": int((per > 1).sum()),
    }


def describe(counts: dict[str, Any]) -> str:
    """``805 prompts, 12,880 answers (16.0 per prompt, at most 16)``."""
    if not counts["prompts"]:
        return "no prompts"
    return (
        f"{counts['prompts']:,} prompts, {counts['answers']:,} answers "
        f"({counts['answers_per_prompt_mean']:g} per prompt, at most "
        f"{counts['answers_per_prompt_max']:,})"
    )


def groups_across_prompts(codes: np.ndarray, group: np.ndarray) -> int:
    """How many groups (e.g. dedup's, one code per row) hold rows of several prompts."""
    pairs = np.unique(np.stack([group, codes], axis=1), axis=0) if len(codes) else codes
    if not len(pairs):
        return 0
    return int((np.bincount(pairs[:, 0]) > 1).sum())
