"""Learn the heuristic scorer's term weights from preference pairs (``scorers/quality_model.json``).

Usage::

    python benchmarks/train_quality_model.py            # fit, print leave-one-source-out, write
    python benchmarks/train_quality_model.py --check    # fit and compare, write nothing

The model: a logistic regression on pairwise differences of the scorer's terms
(:func:`scorers.heuristics.terms`: length against the prompt's target, structure, code,
repetition, refusal, language mismatch, template debris, role leak, boilerplate,
truncation, off-topic), ``P(chosen > rejected) = sigmoid(w . (terms(chosen) -
terms(rejected)))``, no intercept (the order of a pair is arbitrary). Each set weighs
the same in the loss whatever its number of pairs (else the 2,300 HH pairs would decide
everything), a little L2, and every weight keeps the sign a curator gives it (length,
structure, code up; the detectors down): a free fit learns the labels' quirks (the
harmless set prefers refusals, claude's zh_tw answers are cut off and partly in
Simplified script) and would reward truncation and the wrong script. ``turns`` does not
vary within a pair; it keeps its hand weight. The weights are scaled so that the
learned score has the spread of the hand-set one.

Trained only on the sets whose licence allows it (``preference_sets.LICENCES``):
rulm_ru, oasst_zh, hh_rlhf_harmless, llamafactory_dpo_en, llamafactory_dpo_zh,
zh_tw_bench. medicalgpt_zh (research only), mtbench_ru and mtbench_en (no licence) are
only ever test sets.

Evaluation, leave-one-source-out: for each training set, fit on the other five and
measure the pairwise agreement on it; the sets never trained on are measured with the
model fitted on all six. The learned weights become the scorer's default only if they
beat the hand-set :data:`scorers.heuristics.WEIGHTS` there (this script says which).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import preference_sets as ps  # noqa: E402

from scorers import heuristics  # noqa: E402

OUT = Path(heuristics.LEARNED_WEIGHTS_FILE)
LICENCE_NOTE = OUT.with_name("quality_model_LICENSES.md")
#: the sign each term must keep: +1 up, -1 down, 0 fixed at the hand weight
SIGNS = {"length": 1, "turns": 0, "structure": 1, "code": 1, "repetition": -1, "refusal": -1}
SIGNS |= {"lang_mismatch": -1, "template": -1, "role_leak": -1, "boilerplate": -1}
SIGNS |= {"truncated": -1, "off_topic": -1}
L2 = 1e-3


def train_sets() -> list[str]:
    return [name for name, (_, ok) in ps.LICENCES.items() if ok]


def score_pairs(pairs: dict[str, list[ps.Pair]]) -> dict[str, dict]:
    """The scorer's columns for every pair's two conversations, once per distinct conversation.

    Returns, per set: ``chosen`` and ``rejected`` (dicts of numpy columns, prefix dropped),
    aligned with the set's pairs.
    """
    from scorers.heuristics import HeuristicScorer

    conversations: list[list[dict]] = []
    index: dict[str, int] = {}

    def at(conversation: list[dict]) -> int:
        key = json.dumps(conversation, ensure_ascii=False, sort_keys=True)
        if key not in index:
            index[key] = len(conversations)
            conversations.append(conversation)
        return index[key]

    where = {}
    for name, items in pairs.items():
        chosen, rejected = [], []
        for pair in items:
            c, r = pair.conversations()
            chosen.append(at(c))
            rejected.append(at(r))
        where[name] = (np.array(chosen, dtype=np.int64), np.array(rejected, dtype=np.int64))
    columns = HeuristicScorer().score(conversations)
    table = {
        k.removeprefix("heuristics_"): np.asarray(v.to_numpy(zero_copy_only=False))
        for k, v in columns.items()
    }
    out = {}
    for name, (c, r) in where.items():
        out[name] = {
            "chosen": {k: v[c] for k, v in table.items()},
            "rejected": {k: v[r] for k, v in table.items()},
            "conversations": (c, r),
        }
    out["_all"] = {"columns": table, "conversations": conversations}
    return out


def term_matrix(columns: dict[str, np.ndarray]) -> np.ndarray:
    values = heuristics.terms(columns)
    return np.stack([values[t] for t in heuristics.TERMS], axis=1)


def differences(scored: dict[str, dict], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Term differences (chosen - rejected) of the named sets, and each row's set index."""
    rows, owner = [], []
    for i, name in enumerate(names):
        d = term_matrix(scored[name]["chosen"]) - term_matrix(scored[name]["rejected"])
        rows.append(d)
        owner.append(np.full(len(d), i))
    return np.concatenate(rows), np.concatenate(owner)


def fit(diff: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Sign-constrained, set-balanced logistic regression; weights in :data:`TERMS` order."""
    from scipy.optimize import minimize

    hand = np.array([heuristics.WEIGHTS[t] for t in heuristics.TERMS])
    fixed = np.array([SIGNS[t] == 0 for t in heuristics.TERMS])
    sample = 1.0 / np.bincount(owner)[owner]
    sample /= sample.sum()
    scale = np.abs(diff).mean(axis=0)
    scale[scale == 0] = 1.0
    z = diff / scale
    offset = z[:, fixed] @ (hand[fixed] * scale[fixed])  # fixed terms at their hand weight
    free = np.flatnonzero(~fixed)

    def loss(w):
        margin = z[:, free] @ w + offset
        value = (sample * np.logaddexp(0.0, -margin)).sum() + L2 * w @ w
        grad = -(sample / (1.0 + np.exp(margin))) @ z[:, free] + 2 * L2 * w
        return value, grad

    bounds = [(0, None) if SIGNS[heuristics.TERMS[i]] > 0 else (None, 0) for i in free]
    result = minimize(loss, np.zeros(len(free)), jac=True, bounds=bounds, method="L-BFGS-B")
    weights = hand.copy()
    weights[free] = result.x / scale[free]
    return weights


def agreement(weights: np.ndarray, diff: np.ndarray) -> float:
    margin = diff @ weights
    return float(np.mean(np.where(margin > 0, 1.0, np.where(margin == 0, 0.5, 0.0))))


def loso(scored: dict[str, dict], test_sets: list[str]) -> dict[str, dict[str, float]]:
    """Agreement of the learned weights on each set, trained without it; and of the hand ones."""
    names = train_sets()
    hand = np.array([heuristics.WEIGHTS[t] for t in heuristics.TERMS])
    everything = fit(*differences(scored, names))
    out = {}
    for name in test_sets:
        diff, _ = differences(scored, [name])
        if name in names:
            others = [n for n in names if n != name]
            weights = fit(*differences(scored, others))
        else:
            weights = everything
        out[name] = {"learned": agreement(weights, diff), "hand": agreement(hand, diff)}
    return out


def rescale(weights: np.ndarray, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Learned weights scaled so that the learned score spreads like the hand-set one."""
    ok = columns["status"] == heuristics.STATUS_OK
    x = term_matrix({k: v[ok] for k, v in columns.items()})
    hand = np.array([heuristics.WEIGHTS[t] for t in heuristics.TERMS])
    fixed = np.array([SIGNS[t] == 0 for t in heuristics.TERMS])
    learned_part = x[:, ~fixed] @ weights[~fixed]
    hand_part = x[:, ~fixed] @ hand[~fixed]
    factor = hand_part.std() / max(learned_part.std(), 1e-12)
    out = weights.copy()
    out[~fixed] *= factor
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing")
    args = parser.parse_args()

    names = train_sets()
    tests = list(ps.LOADERS)
    pairs = ps.load_all(sets=tests)
    scored = score_pairs(pairs)
    result = loso(scored, tests)
    print("| set | pairs | trained on | learned (LOSO) | hand |")
    print("|---|---:|---|---:|---:|")
    for name in tests:
        r = result[name]
        trained = "yes (left out here)" if name in names else "never"
        print(f"| {name} | {len(pairs[name])} | {trained} | {r['learned']:.3f} | {r['hand']:.3f} |")
    mean_l = np.mean([result[n]["learned"] for n in tests if n != "mtbench_en"])
    mean_h = np.mean([result[n]["hand"] for n in tests if n != "mtbench_en"])
    wins = sum(result[n]["learned"] > result[n]["hand"] for n in tests if n != "mtbench_en")
    print(f"\nmean over the 8 within-prompt sets: learned {mean_l:.3f}, hand {mean_h:.3f}")
    print(f"learned better on {wins} of 8 sets")
    better = mean_l > mean_h and wins > 4
    print(
        "learned weights beat the hand-set ones: make them the default"
        if better
        else "learned weights do not beat the hand-set ones: the hand weights stay the default"
    )
    weights = rescale(fit(*differences(scored, names)), scored["_all"]["columns"])
    learned = {t: round(float(w), 4) for t, w in zip(heuristics.TERMS, weights)}
    print("\nweights (all six training sets):")
    for t in heuristics.TERMS:
        print(f"  {t:14s} hand {heuristics.WEIGHTS[t]:+.3f}  learned {learned[t]:+.4f}")
    if args.check:
        return
    body = {
        "scorer_version": heuristics.VERSION,
        "weights": learned,
        "model": "logistic regression on term differences of preference pairs; set-balanced, "
        "sign-constrained, L2 1e-3; rescaled to the hand score's spread; turns fixed",
        "trained_on": {n: {"pairs": len(pairs[n]), "licence": ps.LICENCES[n][0]} for n in names},
        "not_trained_on": {n: ps.LICENCES[n][0] for n in tests if n not in names},
        "leave_one_source_out": {n: {k: round(v, 4) for k, v in result[n].items()} for n in tests},
        "default": bool(better),
        "made_by": "benchmarks/train_quality_model.py",
    }
    text = json.dumps(body, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    OUT.write_text(text, encoding="utf-8")
    print(
        f"\nwrote {OUT} ({len(text.encode())} bytes, sha256 "
        f"{hashlib.sha256(text.encode()).hexdigest()[:12]})"
    )
    lines = [
        "# Licences of the data behind `quality_model.json`",
        "",
        'The learned weights of the heuristic scorer (`HeuristicScorer(weights="learned")`) '
        "were fitted by `benchmarks/train_quality_model.py` on preference pairs from "
        "`../shared/data`. Only sets whose licence permits it were used:",
        "",
        "| set | pairs | licence |",
        "|---|---:|---|",
        *[f"| {n} | {len(pairs[n])} | {ps.LICENCES[n][0]} |" for n in names],
        "",
        "Used only to measure, never to train (licence not permissive or not found):",
        "",
        *[f"- {n}: {ps.LICENCES[n][0]}" for n in tests if n not in names],
        "",
        "The file holds 12 floating-point weights and these notes; no text of the data.",
        "",
    ]
    LICENCE_NOTE.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {LICENCE_NOTE}")


if __name__ == "__main__":
    main()
