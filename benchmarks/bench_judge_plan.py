"""Planned LLM calls and tokens of the pairwise judge on a 1M-conversation pool (no LLM runs).

Usage::

    python benchmarks/bench_judge_plan.py                    # prints the table, writes /tmp/bench_judge_plan.md
    python benchmarks/bench_judge_plan.py --out other.md --select 0.05 --m 6

Pool: 1,000,000 conversations in 5,000 tag clusters whose sizes are drawn from a
lognormal (mu 0, sigma 1, ``numpy.random.default_rng(0)``), scaled to sum to exactly
1,000,000 (floors, then the largest remainders get one more; every cluster has at least
one item). Per cluster of size n: quota q = ceil(select * n); the funnel judges the top
K = min(n, 2q) by a cheap score pointwise (the cheap score is not an LLM call), and the
N = ceil(q / 2) items nearest the cut (at most K, none when K <= q) meet m opponents in
both orders (``curate.judge.design.plan_calls``). Tokens: an average conversation of 600
tokens, a judge template of 300, an answer of 150 (pairwise prompts hold two
conversations). Compared: a pointwise pass over every conversation, and a round robin in
both orders within each cluster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.judge.design import Cost, plan_calls  # noqa: E402


def cluster_sizes(total: int, clusters: int, sigma: float = 1.0, seed: int = 0) -> np.ndarray:
    """Lognormal cluster sizes summing to ``total``, each at least 1 (largest remainders)."""
    rng = np.random.default_rng(seed)
    w = rng.lognormal(0.0, sigma, clusters)
    raw = 1 + w / w.sum() * (total - clusters)
    sizes = np.floor(raw).astype(np.int64)
    short = total - int(sizes.sum())
    order = np.lexsort((np.arange(clusters), -(raw - sizes)))
    sizes[order[:short]] += 1
    return sizes


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--total", type=int, default=1_000_000)
    ap.add_argument("--clusters", type=int, default=5_000)
    ap.add_argument("--select", type=float, default=0.05, help="share of each cluster kept")
    ap.add_argument("--m", type=int, default=6, help="opponents per item near the cut")
    ap.add_argument(
        "--rounds", type=int, default=3, help="pairwise rounds (curate judge's default)"
    )
    ap.add_argument("--conv-tokens", type=float, default=600)
    ap.add_argument("--template-tokens", type=float, default=300)
    ap.add_argument("--answer-tokens", type=float, default=150)
    ap.add_argument("--out", default="/tmp/bench_judge_plan.md")
    args = ap.parse_args(argv)

    sizes = cluster_sizes(args.total, args.clusters)
    quota = np.ceil(args.select * sizes).astype(np.int64)
    top_k = np.minimum(sizes, 2 * quota)
    near_cut = np.ceil(quota / 2).astype(np.int64)
    plan = plan_calls(
        sizes,
        quota,
        top_k=top_k,
        near_cut=near_cut,
        m=args.m,
        conv_tokens=args.conv_tokens,
        template_tokens=args.template_tokens,
        answer_tokens=args.answer_tokens,
        rounds=args.rounds,
    )

    def row(name: str, c: Cost) -> str:
        return (
            f"| {name} | {c.calls:,} | {c.prompt_tokens:,} | {c.answer_tokens:,} | {c.tokens:,} "
            f"| {c.tokens / plan.pointwise_all.tokens:.3g} |"
        )

    lines = [
        f"Pool: {int(sizes.sum()):,} conversations in {sizes.size:,} clusters (lognormal sizes, "
        f"sigma 1, seed 0: min {sizes.min()}, median {int(np.median(sizes))}, max {sizes.max():,}); "
        f"quota {args.select:g} of each cluster ({int(quota.sum()):,} kept), top-K = 2 x quota "
        f"pointwise, ceil(quota/2) items near the cut x {args.m} opponents x 2 orders in the "
        f"first round, and at most as many again in each of {args.rounds - 1} later rounds; "
        f"tokens: conversation {args.conv_tokens:g}, template {args.template_tokens:g}, "
        f"answer {args.answer_tokens:g}.",
        "",
        "Command: `python benchmarks/bench_judge_plan.py`",
        "",
        "| plan | LLM calls | prompt tokens | answer tokens | total tokens | tokens vs pointwise |",
        "|---|---:|---:|---:|---:|---:|",
        row("funnel: pointwise top-K", plan.funnel_pointwise),
        row("funnel: pairwise near the cut, first round", plan.funnel_pairwise),
        row(f"funnel: {args.rounds - 1} later rounds near the cut, at most", plan.funnel_adaptive),
        row("**funnel total, at most**", plan.funnel),
        row("pointwise over everything", plan.pointwise_all),
        row("round robin, both orders", plan.round_robin),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
