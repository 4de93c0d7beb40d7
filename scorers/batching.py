"""Length-sorted batches packed to a token budget, and their padded tensors.

Rows are sorted longest first (an out-of-memory batch shows up at once, not
after an hour) and each batch takes as many rows as fit ``rows x longest <=
token_budget``: rows of one batch have near-equal lengths, so little compute is
spent on padding (:func:`padding_fraction` measures it).
"""

from __future__ import annotations

import numpy as np


def plan_batches(lengths: np.ndarray, token_budget: int, max_rows: int) -> list[np.ndarray]:
    """Indices into ``lengths`` per batch, longest rows first."""
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    batches = []
    start = 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        rows = max(1, min(max_rows, token_budget // longest))
        batches.append(order[start : start + rows])
        start += rows
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


def padding_fraction(
    lengths: np.ndarray, batches: list[np.ndarray], multiple: int = 1
) -> float:
    """Share of the computed positions that are padding."""
    real = padded = 0
    for rows in batches:
        real += int(lengths[rows].sum())
        padded += len(rows) * padded_length(int(lengths[rows].max()), multiple)
    return 1 - real / padded if padded else 0.0
