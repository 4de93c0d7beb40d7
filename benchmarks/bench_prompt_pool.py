"""Several models' answers to the same prompts, through the offline defaults, end to end.

The held-out pool of issue 12 was 16 models' answers to 805 prompts. The closest pools
in ``../shared/data`` are the benches answered by several models: MT-Bench in Russian
(the first turns; 13 models x 80 questions) and Taiwan-LLM's zh_tw_bench (10 models x 80
questions), with the strong and weak models named in ``preference_sets.py``. The pool is
written as AlpacaEval-style JSONL (``instruction``, ``output``, ``generator``) and run
through ``curate run`` with the README's offline stages (embed, cluster tags, heuristic
score, dedup), then selected with ``--per-tag 20`` three ways:

* ``default``: the defaults (``--per-prompt 1``, heuristic score);
* ``no prompt limit``: ``--per-prompt 0`` (what select did before prompt groups);
* ``longer wins``: ``--per-prompt 1`` ranked by the answer's length alone.

Printed per selection: rows, distinct prompts, most rows of one prompt, and the share of
the selected rows from each model, strong and weak models marked::

    python benchmarks/bench_prompt_pool.py [--work DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import preference_sets as sets  # noqa: E402

from curate.select.stage import SelectOptions, run_select  # noqa: E402
from curate.store import Store  # noqa: E402
from curate.testing.scores import write_scores  # noqa: E402

STRONG = {*sets.MTBENCH_RU_STRONG, *sets.ZH_TW_STRONG}
WEAK = {*sets.MTBENCH_RU_WEAK, *sets.ZH_TW_WEAK}


def write_pool(path: Path) -> dict[str, int]:
    """The pool as JSONL (left alone when it holds the same bytes: a rerun reuses the
    store); answers per model."""
    per_model: Counter[str] = Counter()
    lines = []
    for name, loader in sorted(sets.POOLS.items()):
        for pool in loader():
            for model, answer in sorted(pool.answers.items()):
                record = {
                    "instruction": pool.prompt[-1]["content"],
                    "output": answer,
                    "generator": f"{name}/{model}",
                }
                lines.append(json.dumps(record, ensure_ascii=False) + "\n")
                per_model[f"{name}/{model}"] += 1
    data = "".join(lines).encode("utf-8")
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    return dict(per_model)


CONFIG = """\
store: {store}
ingest:
  inputs: [{pool}]
embed:
  - max-chars: 400
  - text: user
    max-chars: 400
tag:
  tagger: cluster
score:
  - model: heuristics
dedup:
  threshold: 0.9
"""


def write_length_score(store: Store) -> None:
    """``score.length``: characters of the final answer, the "longer wins" ranking."""
    messages = store.read(columns=["messages"]).column("messages").to_pylist()
    write_scores(store, "length", [float(len(m[-1]["content"])) for m in messages], overwrite=True)


def describe(store: Store, out: Path) -> dict:
    import pyarrow.parquet as pq

    ids = pq.read_table(out / "subset.parquet", columns=["id"]).column("id").to_pylist()
    base = store.read(columns=["id", "prompt_id", "meta"])
    by_id = {
        i: (p, json.loads(m)["generator"])
        for i, p, m in zip(
            base.column("id").to_pylist(),
            base.column("prompt_id").to_pylist(),
            base.column("meta").to_pylist(),
        )
    }
    prompts = Counter(by_id[i][0] for i in ids)
    models = Counter(by_id[i][1] for i in ids)
    n = max(len(ids), 1)
    return {
        "rows": len(ids),
        "prompts": len(prompts),
        "most_per_prompt": max(prompts.values()) if prompts else 0,
        "strong_share": round(
            sum(v for k, v in models.items() if k.split("/")[1] in STRONG) / n, 3
        ),
        "weak_share": round(sum(v for k, v in models.items() if k.split("/")[1] in WEAK) / n, 3),
        "by_model": {k: round(v / n, 3) for k, v in sorted(models.items(), key=lambda kv: -kv[1])},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--work", type=Path, default=None, help="Work folder (kept; reruns reuse it)."
    )
    parser.add_argument("--per-tag", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="prompt_pool_"))
    work.mkdir(parents=True, exist_ok=True)
    answers = write_pool(work / "pool.jsonl")
    (work / "run.yaml").write_text(CONFIG.format(store=work / "store", pool=work / "pool.jsonl"))
    subprocess.run([sys.executable, "-m", "curate", "run", str(work / "run.yaml")], check=True)
    store = Store.open(work / "store")
    write_length_score(store)
    runs = {
        "default (--per-prompt 1, heuristics)": SelectOptions(
            per_tag=args.per_tag, weights={"heuristics": 1.0, "length": 0.0}
        ),
        "no prompt limit (--per-prompt 0)": SelectOptions(
            per_tag=args.per_tag, per_prompt=None, weights={"heuristics": 1.0, "length": 0.0}
        ),
        "longer wins (--per-prompt 1, length)": SelectOptions(
            per_tag=args.per_tag, weights={"heuristics": 0.0, "length": 1.0}
        ),
    }
    results = {}
    for label, options in runs.items():
        out = work / ("sel-" + str(abs(hash(label)) % 10**8))
        run_select(store, options, out, overwrite=True)
        results[label] = describe(store, out)
    total = sum(answers.values())
    print(
        f"pool: {total:,} answers from {len(answers)} models; selections with --per-tag {args.per_tag}"
    )
    print(
        "| selection | rows | distinct prompts | most per prompt | strong models' share | weak models' share |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in results.items():
        print(
            f"| {label} | {r['rows']:,} | {r['prompts']:,} | {r['most_per_prompt']} | "
            f"{r['strong_share']:.1%} | {r['weak_share']:.1%} |"
        )
    strong_pool = sum(v for k, v in answers.items() if k.split("/")[1] in STRONG) / total
    weak_pool = sum(v for k, v in answers.items() if k.split("/")[1] in WEAK) / total
    print(f"| (the pool) | {total:,} | | | {strong_pool:.1%} | {weak_pool:.1%} |")
    print()
    models = sorted(answers)
    print("| model | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for model in models:
        mark = (
            " (strong)"
            if model.split("/")[1] in STRONG
            else " (weak)"
            if model.split("/")[1] in WEAK
            else ""
        )
        shares = [f"{r['by_model'].get(model, 0):.1%}" for r in results.values()]
        print(f"| {model}{mark} | " + " | ".join(shares) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    np.set_printoptions(suppress=True)
    main()
