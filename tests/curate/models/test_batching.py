"""Length-sorted, token-budget batches (curate.models.batching)."""

import numpy as np
import pytest

from curate.models.batching import pad_right, padding_fraction, plan_batches


@pytest.mark.parametrize("budget,min_tokens", [(64, 0), (512, 64), (4096, None)])
def test_batches_cover_every_row_once_within_the_budget(budget, min_tokens):
    lengths = np.random.default_rng(0).integers(1, 300, size=500)
    batches = plan_batches(lengths, budget, max_rows=32, max_padding=0.1, min_tokens=min_tokens)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(500))
    longest = [lengths[b].max() for b in batches]
    assert longest == sorted(longest, reverse=True)  # longest batches first
    for b in batches:
        assert len(b) <= 32
        assert len(b) == 1 or len(b) * lengths[b].max() <= budget
    if min_tokens == 0:  # the padding cap always applies
        for b in batches:
            pad = 1 - lengths[b].sum() / (len(b) * lengths[b].max())
            assert pad <= 0.1 + 1e-9


def test_padding_cap_splits_sparse_tails():
    lengths = np.array([1000, 500, 490, 480, 10, 10])
    loose = plan_batches(lengths, 10_000, 64, max_padding=1.0, min_tokens=0)
    tight = plan_batches(lengths, 10_000, 64, max_padding=0.1, min_tokens=0)
    assert [len(b) for b in loose] == [6]
    assert [sorted(lengths[b].tolist()) for b in tight] == [[1000], [480, 490, 500], [10, 10]]
    assert padding_fraction(lengths, tight) < 0.02 < padding_fraction(lengths, loose)


def test_pad_right():
    ids, mask, last = pad_right([np.array([5, 6, 7]), np.array([8])], pad_id=0, multiple=4)
    assert ids.tolist() == [[5, 6, 7, 0], [8, 0, 0, 0]]
    assert mask.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    assert last.tolist() == [2, 0]
