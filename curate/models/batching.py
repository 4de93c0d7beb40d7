"""Length-sorted batches packed to a token budget, and their padded tensors.

Rows are sorted longest first (an out-of-memory batch shows up at once, not
after an hour) and each batch takes as many rows as fit ``rows x longest <=
token_budget``. Where lengths are sparse (the long tail) that alone can leave a
batch half padding, so a batch also closes once the next row would push its
padding above ``max_padding``, provided it already holds ``min_tokens`` real
tokens (a GPU wants batches large enough to stay busy).
:func:`padding_fraction` measures what padding is left.
"""

from __future__ import annotations

import numpy as np


def plan_batches(
    lengths: np.ndarray,
    token_budget: int,
    max_rows: int,
    max_padding: float = 0.1,
    min_tokens: int | None = None,
) -> list[np.ndarray]:
    """Indices into ``lengths`` per batch, longest rows first."""
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    min_tokens = token_budget // 8 if min_tokens is None else min_tokens
    batches = []
    start = 0
    while start < len(order):
        longest = max(int(sorted_lengths[start]), 1)
        end = start + max(1, min(max_rows, token_budget // longest))
        end = min(end, len(order))
        # real tokens if the batch were rows start..k (inclusive)
        real = np.cumsum(sorted_lengths[start:end])
        rows = np.arange(1, end - start + 1)
        too_padded = (1 - real / (rows * longest) > max_padding) & (
            real - sorted_lengths[start:end] >= min_tokens
        )
        if too_padded.any():
            end = start + int(np.argmax(too_padded))  # stop before the first row that overflows
        batches.append(order[start:end])
        start = end
    return batches


def padded_length(longest: int, multiple: int) -> int:
    return -(-longest // multiple) * multiple


def pad_right(
    ids: list[np.ndarray], pad_id: int, multiple: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask, last_index)`` for a batch, padded on the right.

    Right padding keeps position ids ``0..len-1`` for every row, so a row's hidden
    states do not depend on its batch; ``last_index`` is each row's last real token.
    """
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    width = padded_length(int(lengths.max()), multiple)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = seq
    mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
    return input_ids, mask, lengths - 1


def padding_fraction(lengths: np.ndarray, batches: list[np.ndarray], multiple: int = 1) -> float:
    """Share of the computed positions that are padding."""
    real = padded = 0
    for rows in batches:
        real += int(lengths[rows].sum())
        padded += len(rows) * padded_length(int(lengths[rows].max()), multiple)
    return 1 - real / padded if padded else 0.0
