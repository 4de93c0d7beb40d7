"""Does ``curate pairs`` build right-way-round preference pairs? Real multi-answer sets.

Usage::

    python benchmarks/bench_pairs.py                       # print the tables
    python benchmarks/bench_pairs.py --out /tmp/pairs.md   # and write them as Markdown

Every set is ingested with :class:`curate.ingest.pipeline.Ingestor` (``workers=0``) into a
store in a temporary folder, scored with the heuristic scorer
(:func:`curate.score.stage.run_score`), and :func:`curate.pairs.stage.run_pairs` builds
pairs from its prompt groups (rows sharing ``prompt_id``) with ``--rejected`` worst,
2-worst and below-median and ``--min-margin`` 0 and the 25th / 50th / 75th percentile of
that set's margins at 0. A pair has a **known order** when we know which of its two answers
is better; its **accuracy** is the share of known pairs whose chosen answer is the better one.

The sets (``../shared/data``, never written to; derived copies go to the temporary folder):

``mtbench_ru (as ingested)``
    ``mtbench_ru/model_answer/`` as it is: 15 answer files, joined by ingest with
    ``question_ru.jsonl`` / ``question_en.jsonl``. MT-Bench has two turns, so every row ends
    on the *second* answer and its ``prompt_id`` covers the model's own first answer:
    answers of two models almost never share a prompt, and there is almost nothing to pair.
``mtbench_ru (turn 1)``
    The same files with the question and answer turns cut to the first (a derived copy in
    the temporary folder, names kept so that ingest joins them the same way): one prompt
    group per question. Order: ``preference_sets.py``'s split by the published leaderboard,
    strong ``mt_bench_ru_chatgpt`` vs weak xglm-4.5B / gigasaiga-13b / saiga-7b-v1; the
    model is ``meta.model_id`` (``EXAMPLE_MODEL.jsonl`` is a byte copy of
    Mistral-7B-OpenOrca: its rows say so, and the copy's rows are exact duplicates).
``zh_tw_bench``
    ``zh_tw_bench/model_answer/``: 10 models, 80 Traditional Chinese questions, one turn.
    Order: strong gpt-4 / claude vs weak Llama-2-13b-chat / housearch / LLAMA2-sft-0808 /
    zh_TW_LLAMA2-sft-0808; the model is ``meta.model_id`` or else the file's name
    (Taiwan-LLM's ``generated_text`` schema has no model field).
``oasst_zh (as ingested)``
    ``oasst_zh/oaast_rm_zh.json``: ingest turns each ranked ``output`` list into one
    preference record (best chosen, worst in ``rejected``); ``curate pairs`` passes those
    through as ``ingested`` pairs and builds no scored pair from them (their order is the
    label itself: nothing to measure).
``oasst_zh (ranked, one row per answer)``
    A derived copy with one Alpaca record per ranked answer (same instruction, input and
    history): rows of one list share a ``prompt_id``. Order: the rank in the list (best
    first), known only for two answers of the same list (a few lists repeat a prompt).

Baselines on exactly the same prompt groups and rows (the pool ``run_pairs`` reads, rows
with a heuristic score): **longer wins**, the same choice of pairs
(:func:`curate.pairs.build.choose_pairs`) with the final answer's weighted characters
(CJK x3, ``heuristics_chars``) as the score: longest vs shortest, vs the two shortest, vs
every answer shorter than the median; its margin sweep keeps the same pairs above the
percentiles of its own margins, measured two ways: log10(longer / shorter), the unit of
the heuristic's length term, and the plain difference in weighted characters. **Random
order**: 50% on any set of pairs. For the two benches, where few pairs are strong vs weak,
a table also says how often each rule's chosen and rejected answers come from a strong or
a weak model, over all its pairs.

``run_pairs``'s scored pairs at min-margin 0 are checked against
:func:`curate.pairs.build.choose_pairs` on the heuristic score (a warning if they differ).

Deterministic: same data, same tables (the timing line is printed, not written).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import preference_sets as ps  # noqa: E402

MODES = ("worst", "2-worst", "below-median")
LEVELS = ("0", "p25", "p50", "p75")
PERCENTILE = {"p25": 25, "p50": 50, "p75": 75}


# -- the inputs ---------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def mtbench_ru_first_turn(data: Path, into: Path) -> Path:
    """A copy of ``mtbench_ru`` with every question and answer cut to its first turn."""
    folder = into / "mtbench_ru_turn1"
    for name in ("question_ru.jsonl", "question_en.jsonl"):
        questions = _read_jsonl(data / "mtbench_ru" / name)
        _write_jsonl(folder / name, [{**q, "turns": q["turns"][:1]} for q in questions])
    for path in sorted((data / "mtbench_ru" / "model_answer").glob("*.jsonl")):
        answers = []
        for r in _read_jsonl(path):
            choices = [{**r["choices"][0], "turns": r["choices"][0]["turns"][:1]}]
            answers.append({**r, "choices": choices})
        _write_jsonl(folder / "model_answer" / path.name, answers)
    return folder / "model_answer"


def oasst_exploded(data: Path, into: Path) -> tuple[Path, list[tuple[int, int]]]:
    """One Alpaca record per ranked answer of ``oaast_rm_zh.json``; ``(list, rank)`` of each."""
    records = json.loads((data / "oasst_zh" / "oaast_rm_zh.json").read_text(encoding="utf-8"))
    out, where = [], []
    for i, r in enumerate(records):
        for rank, answer in enumerate(r["output"]):
            row = {"instruction": r["instruction"], "input": r.get("input", ""), "output": answer}
            if r.get("history"):
                row["history"] = r["history"]
            out.append(row)
            where.append((i, rank))
    path = into / "oasst_zh_ranked" / "oaast_rm_zh_one_per_answer.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return path, where


# -- what is known about a row's answer ------------------------------------------------------


def model_of(source: dict, meta: str | None) -> str:
    model = (json.loads(meta) if meta else {}).get("model_id")
    return model if isinstance(model, str) and model else Path(source["file"]).stem


def tier_labels(table, strong, weak) -> np.ndarray:
    """+1 strong, -1 weak, 0 neither, per base row."""
    out = []
    for source, meta in zip(table.column("source").to_pylist(), table.column("meta").to_pylist()):
        m = model_of(source, meta)
        out.append(1 if m in strong else -1 if m in weak else 0)
    return np.array(out, dtype=np.int64)


@dataclass
class Oracle:
    """Which of two rows is the better answer, where known."""

    kind: str  # "tier" | "rank" | "none"
    tier: np.ndarray | None = None  # (N,) +1 strong, -1 weak, 0 unknown
    group: np.ndarray | None = None  # (N,) ranked list of the row, -1 unknown
    rank: np.ndarray | None = None  # (N,) rank in it (0 = best)

    def verdict(self, chosen: np.ndarray, rejected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(known, right)`` masks of pairs given as row indices."""
        if self.kind == "tier":
            tc, tr = self.tier[chosen], self.tier[rejected]
            known = (tc * tr) == -1
            return known, known & (tc > tr)
        if self.kind == "rank":
            known = (self.group[chosen] == self.group[rejected]) & (self.group[chosen] >= 0)
            known &= self.rank[chosen] != self.rank[rejected]
            return known, known & (self.rank[chosen] < self.rank[rejected])
        none = np.zeros(len(chosen), dtype=bool)
        return none, none


# -- one set -------------------------------------------------------------------------------------


@dataclass
class Cell:
    """Pairs of one rule at one (mode, margin level) on one set."""

    threshold: float | None
    pairs: int
    known: int
    right: int
    same_as_length: int | None = None  # heuristics only: pairs identical to longer-wins'


def build_set(name, inputs, oracle_of, tmp: Path) -> dict:
    from curate import plugins
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.pairs import build
    from curate.pairs.stage import PairsOptions, run_pairs
    from curate.score.stage import run_score
    from curate.store import Store

    slug = "".join(c if c.isalnum() else "_" for c in name)
    root = tmp / "stores" / slug
    Ingestor([str(p) for p in inputs], root, IngestOptions(), workers=0).run()
    store = Store.open(root)
    run_score(store, plugins.resolve("scorers", "heuristics"))
    base = store.read(columns=["id", "source", "meta"])
    oracle = oracle_of(base)

    sources = build.find_sources(store, {}, None)
    pool = build.read_pool(store, sources, False)
    assert list(pool.ids) == base.column("id").to_pylist()
    row_of = {rid: i for i, rid in enumerate(pool.ids.tolist())}
    eligible = pool.answer & ~pool.ingested & ~pool.dropped_by_dedup
    eligible &= ~np.isnan(pool.quality["heuristics"])
    chars = pool.table.column("heuristics_chars").to_numpy(zero_copy_only=False)
    chars = np.where(eligible, chars.astype(np.float64), np.nan)
    by_id = np.unique(pool.ids, return_inverse=True)[1]  # length ties: by id, as select's last key

    out: dict = {"name": name, "rows": pool.n, "cells": {}}
    out["groups"] = int(len(np.unique(pool.group[eligible]))) if eligible.any() else 0
    sizes = np.bincount(pool.group[eligible]) if eligible.any() else np.zeros(0, int)
    out["groups_multi"] = int((sizes >= 2).sum())
    out["answers"] = int(eligible.sum())
    out["tiers"] = {}
    if oracle.kind == "tier" and eligible.any():  # base rates: answers in groups of 2 or more
        in_multi = eligible & (sizes[np.where(eligible, pool.group, 0)] >= 2)
        out["tiers"]["base"] = {
            "strong": int((oracle.tier[in_multi] == 1).sum()),
            "weak": int((oracle.tier[in_multi] == -1).sum()),
            "n": int(in_multi.sum()),
        }

    def run(mode: str, min_margin: float, level: str):
        target = tmp / "pairs" / f"{slug}-{mode}-{level}"
        res = run_pairs(store, PairsOptions(rejected=mode, min_margin=min_margin), target)
        import pyarrow.parquet as pq

        t = pq.read_table(target / "pairs.parquet").to_pylist()
        scored = [p for p in t if p["origin"] == "scored"]
        c = np.array([row_of[p["chosen_id"]] for p in scored], dtype=np.int64)
        r = np.array([row_of[p["rejected_id"]] for p in scored], dtype=np.int64)
        margins = np.array([p["margin"] for p in scored], dtype=np.float64)
        return c, r, margins, res.report

    for mode in MODES:
        # longer wins on the same rows and groups
        lc_all = build.choose_pairs(pool.group, chars, by_id, eligible, mode)
        l_margins = {  # two ways to ask "by how much is it longer"
            "length": np.log10(
                np.maximum(chars[lc_all.chosen], 1.0) / np.maximum(chars[lc_all.rejected], 1.0)
            ),
            "length_diff": chars[lc_all.chosen] - chars[lc_all.rejected],
        }
        c0, r0, m0, report0 = run(mode, 0.0, "0")
        out.setdefault("ingested_pairs", report0["counts"]["by_origin"]["ingested"])
        out.setdefault("dropped", report0["dropped"])
        keep0, _, _ = build.margin_verdicts(l_margins["length_diff"], 0.0)
        for level in LEVELS:
            if level == "0":
                h_thr, c, r = None, c0, r0
            else:
                if not len(m0):
                    continue
                h_thr = float(np.percentile(m0, PERCENTILE[level]))
                c, r, _, _ = run(mode, h_thr, level)
            known, right = oracle.verdict(c, r)
            for rule, l_margin in l_margins.items():
                l_thr, lk = None, keep0
                if level != "0":
                    l_thr = float(np.percentile(l_margin[keep0], PERCENTILE[level]))
                    lk = keep0 & (l_margin >= l_thr)
                lc, lr = lc_all.chosen[lk], lc_all.rejected[lk]
                l_known, l_right = oracle.verdict(lc, lr)
                out["cells"][(mode, level, rule)] = Cell(
                    l_thr, len(lc), int(l_known.sum()), int(l_right.sum())
                )
                if rule == "length":
                    pairs_l = set(zip(lc.tolist(), lr.tolist()))
                    same = sum((a, b) in pairs_l for a, b in zip(c.tolist(), r.tolist()))
                    out["cells"][(mode, level, "heuristics")] = Cell(
                        h_thr, len(c), int(known.sum()), int(right.sum()), same
                    )
                if level == "0" and rule == "length" and oracle.kind == "tier":
                    for who, (cc, rr) in (("heuristics", (c, r)), ("length", (lc, lr))):
                        out["tiers"][(mode, who)] = tier_counts(oracle.tier, cc, rr)
        # cross-check: run_pairs's scored pairs are build's pure choice on the heuristic score
        h_all = build.choose_pairs(
            pool.group,
            np.where(eligible, pool.quality["heuristics"], np.nan),
            build_tie_order(pool),
            eligible,
            mode,
        )
        hm = pool.quality["heuristics"][h_all.chosen] - pool.quality["heuristics"][h_all.rejected]
        hk, _, _ = build.margin_verdicts(hm, 0.0)
        expected = set(zip(h_all.chosen[hk].tolist(), h_all.rejected[hk].tolist()))
        got = set(zip(c0.tolist(), r0.tolist()))
        if expected != got:
            print(f"WARNING {name} {mode}: run_pairs built other pairs than build.choose_pairs")
    return out


def tier_counts(tier: np.ndarray, chosen: np.ndarray, rejected: np.ndarray) -> dict:
    return {
        "n": len(chosen),
        "chosen_strong": int((tier[chosen] == 1).sum()),
        "chosen_weak": int((tier[chosen] == -1).sum()),
        "rejected_strong": int((tier[rejected] == 1).sum()),
        "rejected_weak": int((tier[rejected] == -1).sum()),
    }


def build_tie_order(pool) -> np.ndarray:
    from curate.select import algorithms

    return algorithms.tie_order(pool.quality, pool.weights, pool.ids)


# -- the tables ----------------------------------------------------------------------------------


def wilson(right: int, n: int) -> tuple[float, float]:
    if not n:
        return (math.nan, math.nan)
    z = 1.96
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def acc(right: int, known: int) -> str:
    if not known:
        return "-"
    lo, hi = wilson(right, known)
    return f"{right / known:.1%} [{lo:.0%}-{hi:.0%}]"


def total(sets: list[dict], key) -> Cell:
    cells = [s["cells"][key] for s in sets if key in s["cells"]]
    same = [c.same_as_length for c in cells if c.same_as_length is not None]
    return Cell(
        None,
        sum(c.pairs for c in cells),
        sum(c.known for c in cells),
        sum(c.right for c in cells),
        sum(same) if same else None,
    )


def tables(results: list[dict]) -> list[str]:
    lines = []
    say = lines.append
    labelled = [s for s in results if s["labelled"]]
    say(
        "| set | rows | candidate answers (scored) | prompts with 2+ answers | ingested pairs passed "
        "through | scored pairs, worst | known order | accuracy |"
    )
    say("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in results:
        w = s["cells"][("worst", "0", "heuristics")]
        say(
            f"| {s['name']} | {s['rows']} | {s['answers']} | {s['groups_multi']} | "
            f"{s['ingested_pairs']} | {w.pairs} | {w.known} | {acc(w.right, w.known)} |"
        )
    say("")
    say(
        "min-margin 0. Accuracy: share of pairs with a known order whose chosen answer is the "
        "better one, [Wilson 95% interval]; random order: 50%."
    )
    say("")
    say(
        "| set | rejected | heuristics: pairs | known | accuracy | same pair as longer-wins "
        "| longer wins: pairs | known | accuracy |"
    )
    say("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode in MODES:
        rows = [(s["name"], s["cells"]) for s in labelled]
        rows.append(("**all labelled sets**", None))
        for name, cells in rows:
            key_h, key_l = (mode, "0", "heuristics"), (mode, "0", "length")
            h = cells[key_h] if cells else total(labelled, key_h)
            ln = cells[key_l] if cells else total(labelled, key_l)
            same = f"{h.same_as_length / h.pairs:.0%}" if h.pairs else "-"
            say(
                f"| {name} | {mode} | {h.pairs} | {h.known} | {acc(h.right, h.known)} | {same} "
                f"| {ln.pairs} | {ln.known} | {acc(ln.right, ln.known)} |"
            )
    say("")
    say(
        "Who is paired, min-margin 0, on the two benches (all pairs, not only those with a "
        "known order): the share of chosen and of rejected answers written by a strong and "
        "by a weak model; base = their share of all answers in prompt groups of 2 or more."
    )
    say("")
    say(
        "| set | rejected | rule | pairs | chosen: strong | chosen: weak | rejected: strong | rejected: weak |"
    )
    say("|---|---|---|---:|---:|---:|---:|---:|")
    for s in labelled:
        base = s["tiers"].get("base")
        if not base:
            continue
        say(
            f"| {s['name']} | | base | {base['n']} answers | {base['strong'] / base['n']:.0%} | "
            f"{base['weak'] / base['n']:.0%} | {base['strong'] / base['n']:.0%} | "
            f"{base['weak'] / base['n']:.0%} |"
        )
        for mode in MODES:
            for rule, label in (("heuristics", "heuristics"), ("length", "longer wins")):
                t = s["tiers"][(mode, rule)]
                n = t["n"] or 1
                say(
                    f"| {s['name']} | {mode} | {label} | {t['n']} | {t['chosen_strong'] / n:.0%} | "
                    f"{t['chosen_weak'] / n:.0%} | {t['rejected_strong'] / n:.0%} | "
                    f"{t['rejected_weak'] / n:.0%} |"
                )
    say("")
    say(
        "min-margin sweep: the threshold is the 25th/50th/75th percentile of that set's "
        "margins at 0 for this rejected mode, so about 75/50/25% of the pairs are kept: "
        "heuristics in heuristic score units (`run_pairs` with `min_margin`); longer wins "
        "with the same pairs at 0, thresholded on log10(longer / shorter) weighted characters "
        "(the heuristic's length term is a log10 too) or on the difference in weighted "
        "characters. pairs: kept (share of the min-margin-0 pairs)."
    )
    say("")
    say(
        "| set | rejected | min-margin | heuristics: threshold | pairs | known | accuracy | "
        "longer, log ratio: threshold | known | accuracy | longer, char difference: "
        "threshold | known | accuracy |"
    )
    say("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode in MODES:
        rows = [(s["name"], s["cells"]) for s in labelled]
        rows.append(("**all labelled sets**", None))
        for name, cells in rows:
            for level in LEVELS:
                keys = [(mode, level, rule) for rule in ("heuristics", "length", "length_diff")]
                if cells is not None and keys[0] not in cells:
                    continue
                h, ln, ld = (cells[k] if cells else total(labelled, k) for k in keys)
                key_h0 = (mode, "0", "heuristics")
                h0 = cells[key_h0] if cells else total(labelled, key_h0)
                ht = "-" if h.threshold is None else f"{h.threshold:.3f}"
                lt = "-" if ln.threshold is None else f"{ln.threshold:.3f}"
                dt = "-" if ld.threshold is None else f"{ld.threshold:.0f}"
                hk = f"{h.pairs} ({h.pairs / h0.pairs:.0%})" if h0.pairs else "-"
                say(
                    f"| {name} | {mode} | {level} | {ht} | {hk} | {h.known} | "
                    f"{acc(h.right, h.known)} | {lt} | {ln.known} | {acc(ln.right, ln.known)} "
                    f"| {dt} | {ld.known} | {acc(ld.right, ld.known)} |"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="also write the tables as Markdown to this file")
    parser.add_argument("--data", default=str(ps.DATA), help="the shared data folder")
    args = parser.parse_args()
    data = Path(args.data)
    needed = [
        data / "mtbench_ru" / "model_answer",
        data / "zh_tw_bench" / "model_answer",
        data / "oasst_zh" / "oaast_rm_zh.json",
    ]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        print(f"skipped: {', '.join(missing)} not found (the shared data is not here)")
        return
    started = time.perf_counter()
    results = []
    ru = ps.MTBENCH_RU_STRONG, ps.MTBENCH_RU_WEAK
    tw = ps.ZH_TW_STRONG, ps.ZH_TW_WEAK
    with tempfile.TemporaryDirectory(prefix="bench_pairs_") as name:
        tmp = Path(name)

        def tiers(strong, weak):
            return lambda base: Oracle("tier", tier=tier_labels(base, strong, weak))

        ranked_path, where = oasst_exploded(data, tmp)

        def ranks(base):
            index = [s["index"] for s in base.column("source").to_pylist()]
            group = np.array([where[i][0] for i in index], dtype=np.int64)
            rank = np.array([where[i][1] for i in index], dtype=np.int64)
            return Oracle("rank", group=group, rank=rank)

        plan = [
            ("mtbench_ru (as ingested)", [data / "mtbench_ru" / "model_answer"], tiers(*ru), False),
            ("mtbench_ru (turn 1)", [mtbench_ru_first_turn(data, tmp)], tiers(*ru), True),
            ("zh_tw_bench", [data / "zh_tw_bench" / "model_answer"], tiers(*tw), True),
            (
                "oasst_zh (as ingested)",
                [data / "oasst_zh" / "oaast_rm_zh.json"],
                lambda base: Oracle("none"),
                False,
            ),
            ("oasst_zh (ranked, one row per answer)", [ranked_path], ranks, True),
        ]
        for set_name, inputs, oracle_of, labelled in plan:
            s = build_set(set_name, inputs, oracle_of, tmp)
            s["labelled"] = labelled
            results.append(s)
    lines = tables(results)
    text = "\n".join(lines) + "\n"
    print(text)
    print(f"({time.perf_counter() - started:.1f} s: ingest, score and pairs of every set)")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
