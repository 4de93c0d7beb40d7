"""Sparse comparison designs within a cluster, and the planned cost of judging a pool."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from curate.judge.design import (
    adaptive_round,
    first_round,
    is_connected,
    plan_calls,
    straddling,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("n,m", [(60, 8), (61, 7), (300, 8), (10, 3)])
def test_first_round_is_connected_regular_ish_and_never_repeats(n, m):
    pairs = first_round(n, m, seed=1)
    assert pairs.shape[1] == 2 and np.all(pairs[:, 0] < pairs[:, 1])
    assert len({tuple(p) for p in pairs.tolist()}) == len(pairs)
    deg = np.bincount(pairs.ravel(), minlength=n)
    assert deg.min() >= m and deg.max() <= m + 1, (deg.min(), deg.max())
    assert is_connected(n, pairs)
    np.testing.assert_array_equal(pairs, first_round(n, m, seed=1))
    assert not np.array_equal(pairs, first_round(n, m, seed=2))


def test_first_round_small_cluster_is_round_robin():
    pairs = first_round(5, 8, seed=0)
    assert len(pairs) == 10
    assert first_round(1, 4).shape == (0, 2)


def test_is_connected_detects_components():
    assert not is_connected(4, np.array([[0, 1], [2, 3]]))
    assert is_connected(4, np.array([[0, 1], [1, 2], [2, 3]]))


def _intervals(n, seed):
    """Strengths ~ N(0,1) with intervals of half-width 0.3 + noise (a bootstrap's shape)."""
    rng = np.random.default_rng(seed)
    s = rng.normal(0.0, 1.0, n)
    half = 0.3 + 0.2 * rng.random(n)
    return s, s - half, s + half


def test_adaptive_round_focuses_on_the_cut_and_never_repeats():
    n, k, m = 200, 20, 4
    s, lo, hi = _intervals(n, seed=0)
    judged = first_round(n, 8, seed=0)
    new = adaptive_round(s, lo, hi, k, m, seed=0, judged=judged)
    mask = straddling(s, lo, hi, k)
    assert 5 < mask.sum() < n // 4  # a band around the cut, not the whole cluster
    assert len(new) > 0
    old = {tuple(p) for p in judged.tolist()}
    assert not old & {tuple(p) for p in new.tolist()}
    assert len({tuple(p) for p in new.tolist()}) == len(new)
    assert np.all(np.bincount(new.ravel(), minlength=n) <= m)
    either = mask[new[:, 0]] | mask[new[:, 1]]
    both = mask[new[:, 0]] & mask[new[:, 1]]
    assert either.all()
    # Close neighbours of straddling items mostly straddle too (measured: 0.8 here).
    assert both.mean() > 0.6, both.mean()
    # Pairs join items close in strength: far closer than random pairs.
    gap = np.abs(s[new[:, 0]] - s[new[:, 1]]).mean()
    assert gap < 0.25 * np.abs(s[judged[:, 0]] - s[judged[:, 1]]).mean()
    np.testing.assert_array_equal(new, adaptive_round(s, lo, hi, k, m, seed=0, judged=judged))


def test_adaptive_rounds_run_out_of_new_pairs_instead_of_repeating():
    n, k, m = 30, 5, 3
    s, lo, hi = _intervals(n, seed=1)
    judged = first_round(n, 4, seed=1)
    seen = {tuple(p) for p in judged.tolist()}
    for r in range(40):
        new = adaptive_round(s, lo, hi, k, m, seed=r, judged=np.array(sorted(seen)))
        batch = {tuple(p) for p in new.tolist()}
        assert not batch & seen
        if not batch:
            break
        seen |= batch
    else:
        pytest.fail("adaptive rounds never ran out of new pairs")
    # Every pair with a straddling item got judged before the rounds stopped.
    mask = straddling(s, lo, hi, k)
    for a in np.flatnonzero(mask):
        assert all((min(a, b), max(a, b)) in seen for b in range(n) if b != a)


def test_adaptive_round_nothing_to_do_when_the_cut_is_settled():
    s = np.arange(10, dtype=float)
    assert adaptive_round(s, s - 0.1, s + 0.1, 3, 4).shape == (0, 2)
    assert adaptive_round(s, s - 5, s + 5, 0, 4).shape == (0, 2)  # no quota, no cut
    assert adaptive_round(s, s - 5, s + 5, 10, 4).shape == (0, 2)  # everything kept


def test_plan_calls_hand_computed():
    # Sizes 3, 10, 50; quota 5; top 20 pointwise; 10 items near the cut; m = 4; 2 orders.
    # Pointwise: 3 + 10 + 20 = 33. Pairwise: cluster 0 has K=3 <= quota, none; clusters
    # 1 and 2: 10 items x 4 / 2 = 20 pairs each, 40 pairs, 80 calls. Pointwise all: 63.
    # Round robin: 3 + 45 + 1225 = 1273 pairs, 2546 calls.
    plan = plan_calls(
        np.array([3, 10, 50]),
        5,
        top_k=20,
        near_cut=10,
        m=4,
        conv_tokens=100,
        template_tokens=50,
        answer_tokens=10,
    )
    fp, pw, pa, rr = (
        plan.funnel_pointwise,
        plan.funnel_pairwise,
        plan.pointwise_all,
        plan.round_robin,
    )
    assert (fp.calls, fp.prompt_tokens, fp.answer_tokens) == (33, 33 * 150, 330)
    assert (pw.calls, pw.prompt_tokens, pw.answer_tokens) == (80, 80 * 250, 800)
    assert (pa.calls, pa.prompt_tokens, pa.answer_tokens) == (63, 63 * 150, 630)
    assert (rr.calls, rr.prompt_tokens, rr.answer_tokens) == (2546, 2546 * 250, 25460)
    assert plan.funnel.calls == 113 and plan.funnel.tokens == 33 * 160 + 80 * 260
    # Near-cut groups of at most m+1 items are a round robin: 5 items -> 10 pairs;
    # odd products round up: 7 items x 3 opponents -> 11 pairs.
    small = plan_calls(
        np.array([10, 50]),
        5,
        top_k=20,
        near_cut=5,
        m=4,
        conv_tokens=1,
        template_tokens=0,
        answer_tokens=0,
    )
    assert small.funnel_pairwise.calls == 2 * 20
    odd = plan_calls(
        np.array([9]),
        2,
        top_k=9,
        near_cut=7,
        m=3,
        conv_tokens=1,
        template_tokens=0,
        answer_tokens=0,
    )
    assert odd.funnel_pairwise.calls == 2 * 11


def test_benchmark_plan_funnel_far_below_pointwise_far_below_round_robin(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "bench_judge_plan", ROOT / "benchmarks" / "bench_judge_plan.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sizes = bench.cluster_sizes(1_000_000, 5_000)
    assert sizes.sum() == 1_000_000 and sizes.min() >= 1 and sizes.size == 5_000
    np.testing.assert_array_equal(sizes, bench.cluster_sizes(1_000_000, 5_000))
    out = tmp_path / "plan.md"
    text = bench.main(["--out", str(out)])
    assert out.read_text(encoding="utf-8") == text and "| round robin, both orders |" in text
    quota = np.ceil(0.05 * sizes).astype(np.int64)
    plan = plan_calls(
        sizes,
        quota,
        top_k=np.minimum(sizes, 2 * quota),
        near_cut=np.ceil(quota / 2).astype(np.int64),
        m=6,
        conv_tokens=600,
        template_tokens=300,
        answer_tokens=150,
    )
    assert plan.funnel.calls * 3 < plan.pointwise_all.calls
    assert plan.funnel.tokens * 3 < plan.pointwise_all.tokens
    assert plan.pointwise_all.calls * 100 < plan.round_robin.calls
    assert plan.pointwise_all.tokens * 100 < plan.round_robin.tokens
