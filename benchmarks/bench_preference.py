"""How often the heuristic scorer agrees with real preferences (``../shared/data``).

Usage::

    python benchmarks/bench_preference.py                          # the tables
    python benchmarks/bench_preference.py --markdown /tmp/bench_preference.md

Every set of ``preference_sets.py`` is loaded as (prompt, chosen, rejected) pairs; both
conversations of every pair are scored by the real scorer (``HeuristicScorer().score``,
which computes the ingest columns with ``base_columns``). Per set:

* **new**: the scorer as shipped (hand-set weights, version 2);
* **learned (LOSO)**: the learned weights of ``train_quality_model.py``, fitted without
  the set (sets never trained on: fitted on all the permissive ones);
* **longer wins**: more weighted characters (CJK x3) in the final answer;
* **v1**: the version-1 formula (capped length of all replies, turns, repetition,
  refusal, language mismatch, template), computed from the same columns;
* **chance**: 50%.

Agreement is the share of pairs where the chosen answer scores higher, a tie counting
half. Then: exact score ties among different answers to the same prompt (v1 vs new);
what each signal adds (the agreement with that term's weight set to 0); cross-prompt
agreement (GPT-4's 1-10 grades of rulm_ru answers to different prompts, and the 12
MT-Bench ratings); and, on the two benches with many models' answers, each model's
share of the prompts where its answer is the top pick.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import preference_sets as ps  # noqa: E402
import train_quality_model as tqm  # noqa: E402

from scorers import heuristics  # noqa: E402

WITHIN = [n for n in ps.LOADERS if n != "mtbench_en"]


def weighted_chars(text: str) -> int:
    return sum(heuristics.CJK_WEIGHT if 0x3000 <= ord(c) <= 0xDFFF else 1 for c in text)


def v1_score(columns: dict[str, np.ndarray], conversations: list[list[dict]]) -> np.ndarray:
    """Version 1's formula from version 2's columns (the components it used are unchanged)."""
    chars = np.array(
        [
            sum(weighted_chars(m["content"] or "") for m in c if m["role"] == "assistant")
            for c in conversations
        ],
        dtype=np.float64,
    )
    length = np.clip(np.log(np.maximum(chars, 1.0) / 10.0) / np.log(100.0), 0.0, 1.0)
    turns = np.minimum(np.log2(np.maximum(columns["turns"].astype(np.float64), 1)), 3) / 3
    as_bool = {k: columns[k].astype(bool) for k in ("refusal", "lang_match", "template")}
    score = (
        length
        + 0.1 * turns
        - columns["repetition"].astype(np.float64)
        - as_bool["refusal"]
        - 0.5 * ~as_bool["lang_match"]
        - 0.5 * as_bool["template"]
    )
    return score.astype(np.float32)


def agree(c: np.ndarray, r: np.ndarray) -> float:
    return float(np.mean(np.where(c > r, 1.0, np.where(c == r, 0.5, 0.0))))


def tie_share(groups: dict[str, list[tuple[str, float]]]) -> tuple[float, int]:
    """Among pairs of different answers to one prompt: the share with exactly equal scores."""
    ties = total = 0
    for answers in groups.values():
        distinct = dict(answers)  # answer text -> score
        values = np.array(list(distinct.values()))
        k = len(values)
        if k < 2:
            continue
        total += k * (k - 1) // 2
        _, counts = np.unique(values, return_counts=True)
        ties += int((counts * (counts - 1) // 2).sum())
    return (ties / total if total else 0.0), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", help="also write the tables as a Markdown section here")
    args = parser.parse_args()
    started = time.perf_counter()
    pairs = ps.load_all()
    scored = tqm.score_pairs(pairs)
    table = scored["_all"]["columns"]
    conversations = scored["_all"]["conversations"]
    new = table["score"].astype(np.float32)
    old = v1_score(table, conversations)
    longer = table["chars"].astype(np.float64)
    loso = tqm.loso(scored, list(ps.LOADERS))
    seconds = time.perf_counter() - started
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line)
        out.append(line)

    say("| set | pairs | prompts | new | learned (LOSO) | longer wins | v1 | chance |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = {}
    for name in ps.LOADERS:
        c, r = scored[name]["conversations"]
        row = {
            "new": agree(new[c], new[r]),
            "learned": loso[name]["learned"],
            "longer": agree(longer[c], longer[r]),
            "v1": agree(old[c], old[r]),
        }
        rows[name] = row
        prompts = len({p.group for p in pairs[name]})
        label = f"{name} (cross-prompt)" if name == "mtbench_en" else name
        say(
            f"| {label} | {len(pairs[name])} | {prompts} | {row['new']:.3f} | "
            f"{row['learned']:.3f} | {row['longer']:.3f} | {row['v1']:.3f} | 0.500 |"
        )
    mean = {k: np.mean([rows[n][k] for n in WITHIN]) for k in ("new", "learned", "longer", "v1")}
    say(
        f"| mean of the {len(WITHIN)} within-prompt sets | | | {mean['new']:.3f} | "
        f"{mean['learned']:.3f} | {mean['longer']:.3f} | {mean['v1']:.3f} | 0.500 |"
    )
    beats = sum(rows[n]["new"] > rows[n]["longer"] for n in WITHIN)
    worst = min(rows[n]["new"] - rows[n]["longer"] for n in WITHIN)
    say(
        f"\nnew beats longer-wins on {beats} of {len(WITHIN)} within-prompt sets; "
        f"worst difference {worst:+.3f}"
    )

    # exact ties among different answers to one prompt
    say("\n| ties among different answers to one prompt | answer pairs | v1 | new |")
    say("|---|---:|---:|---:|")
    all_old, all_new = defaultdict(list), defaultdict(list)
    for name in ps.LOADERS:
        g_old, g_new = defaultdict(list), defaultdict(list)
        for pair, ci, ri in zip(pairs[name], *scored[name]["conversations"]):
            if pair.rejected_prompt is not None:
                continue  # answers to different prompts
            key = f"{name}\0{pair.group}"
            for text, i in ((pair.chosen, ci), (pair.rejected, ri)):
                for groups, all_groups, values in ((g_old, all_old, old), (g_new, all_new, new)):
                    groups[key].append((text, float(values[i])))
                    all_groups[key].append((text, float(values[i])))
        if g_new:
            (t_old, total), (t_new, _) = tie_share(g_old), tie_share(g_new)
            say(f"| {name} | {total} | {t_old:.2%} | {t_new:.2%} |")
    (t_old, total), (t_new, _) = tie_share(all_old), tie_share(all_new)
    say(f"| all | {total} | {t_old:.2%} | {t_new:.2%} |")

    # what each signal adds: agreement with its weight set to 0
    say("\n| signal (weight) | " + " | ".join(WITHIN) + " | mean |")
    say("|---|" + "---:|" * (len(WITHIN) + 1))
    weights = np.array([heuristics.WEIGHTS[t] for t in heuristics.TERMS])
    diffs = {n: tqm.differences(scored, [n])[0] for n in WITHIN}
    base = {n: tqm.agreement(weights, diffs[n]) for n in WITHIN}
    for i, term in enumerate(heuristics.TERMS):
        if term == "turns":
            continue  # the same within a pair
        dropped = weights.copy()
        dropped[i] = 0.0
        deltas = [base[n] - tqm.agreement(dropped, diffs[n]) for n in WITHIN]
        say(
            f"| {term} ({weights[i]:+g}) | "
            + " | ".join(f"{d:+.3f}" for d in deltas)
            + f" | {np.mean(deltas):+.3f} |"
        )
    # what the prompt asks (the targets): every prompt judged against the open target instead
    deltas = []
    for n in WITHIN:
        sides = []
        for side in ("chosen", "rejected"):
            cols = dict(scored[n][side])
            cols["length"] = heuristics.length_term(
                cols["chars"].astype(np.float64),
                np.full(len(cols["chars"]), heuristics.TARGETS["open"][0]),
                np.full(len(cols["chars"]), "open", dtype=object),
            )
            sides.append(tqm.term_matrix(cols) @ weights)
        deltas.append(base[n] - agree(*sides))
    say(
        "| what the prompt asks (targets) | "
        + " | ".join(f"{d:+.3f}" for d in deltas)
        + f" | {np.mean(deltas):+.3f} |"
    )
    say(
        "(each cell: agreement of the full score minus agreement without that signal; for the "
        "targets, minus agreement with every prompt's target at the open one, 1,000)"
    )

    # across prompts: GPT-4 grades of rulm_ru answers to different prompts
    graded = ps.graded_rulm_ru()
    from scorers.heuristics import HeuristicScorer

    g_columns = HeuristicScorer().score([g.conversation for g in graded])
    g_new = g_columns["heuristics_score"].to_numpy(zero_copy_only=False)
    g_longer = g_columns["heuristics_chars"].to_numpy(zero_copy_only=False).astype(np.float64)
    g_cols = {
        k.removeprefix("heuristics_"): v.to_numpy(zero_copy_only=False)
        for k, v in g_columns.items()
    }
    g_old = v1_score(g_cols, [g.conversation for g in graded])
    grade = np.array([g.grade for g in graded])
    prompt = np.array([g.prompt_id for g in graded])
    i, j = np.triu_indices(len(graded), 1)
    keep = (prompt[i] != prompt[j]) & (grade[i] != grade[j])
    i, j = i[keep], j[keep]
    hi, lo = np.where(grade[i] > grade[j], i, j), np.where(grade[i] > grade[j], j, i)
    say("\n| across prompts | pairs | new | longer wins | v1 |")
    say("|---|---:|---:|---:|---:|")
    say(
        f"| rulm_ru GPT-4 grades, answers to different prompts | {len(i)} | "
        f"{agree(g_new[hi], g_new[lo]):.3f} | {agree(g_longer[hi], g_longer[lo]):.3f} | "
        f"{agree(g_old[hi], g_old[lo]):.3f} |"
    )
    r = rows["mtbench_en"]
    say(
        f"| mtbench_en GPT-4 ratings, one model, 6 questions x 2 turns | "
        f"{len(pairs['mtbench_en'])} | {r['new']:.3f} | {r['longer']:.3f} | {r['v1']:.3f} |"
    )

    # the many-model benches: each model's share of prompts where it is the top pick
    for bench, pool_loader in ps.POOLS.items():
        pools = pool_loader()
        convs, owner, model_of = [], [], []
        for k, pool in enumerate(pools):
            for model, answer in sorted(pool.answers.items()):
                convs.append([*pool.prompt, {"role": "assistant", "content": answer}])
                owner.append(k)
                model_of.append(model)
        cols = HeuristicScorer().score(convs)
        s_new = cols["heuristics_score"].to_numpy(zero_copy_only=False)
        s_len = cols["heuristics_chars"].to_numpy(zero_copy_only=False).astype(np.float64)
        s_old = v1_score(
            {
                k.removeprefix("heuristics_"): v.to_numpy(zero_copy_only=False)
                for k, v in cols.items()
            },
            convs,
        )
        models = sorted(set(model_of))
        share = {m: [0.0, 0.0, 0.0] for m in models}
        owner_a, model_a = np.array(owner), np.array(model_of)
        for k in range(len(pools)):
            at = np.flatnonzero(owner_a == k)
            for col, values in enumerate((s_new, s_len, s_old)):
                best = at[values[at] == values[at].max()]
                for b in best:  # a tie shares the prompt
                    share[model_a[b]][col] += 1.0 / len(best)
        strong, weak = (
            (ps.MTBENCH_RU_STRONG, ps.MTBENCH_RU_WEAK)
            if bench == "mtbench_ru"
            else (ps.ZH_TW_STRONG, ps.ZH_TW_WEAK)
        )
        say(f"\n| {bench}: model | role | top pick, new | top pick, longer wins | top pick, v1 |")
        say("|---|---|---:|---:|---:|")
        for m in sorted(models, key=lambda m: -share[m][0]):
            role = "strong" if m in strong else "weak" if m in weak else ""
            say(
                f"| {m} | {role} | {share[m][0] / len(pools):.1%} | "
                f"{share[m][1] / len(pools):.1%} | {share[m][2] / len(pools):.1%} |"
            )
        say("(a tie for the top shares the prompt among the tied answers)")
    print(f"\n({seconds:.1f} s to load, score and fit)")
    if args.markdown:
        Path(args.markdown).write_text("\n".join(out) + "\n", encoding="utf-8")
        print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
