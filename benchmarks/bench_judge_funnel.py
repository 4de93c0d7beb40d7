"""Does a judged selection follow the judge far better than the heuristics alone?

Usage::

    python benchmarks/bench_judge_funnel.py                       # 6,000 conversations, ~1 min on 2 cores
    python benchmarks/bench_judge_funnel.py --pool 3000 --no-pairwise
    python benchmarks/bench_judge_funnel.py --no-pairwise --a 0.6 --top-k-multiple 4
    python benchmarks/bench_judge_funnel.py --out /tmp/bench_judge_funnel_section.md

**Pool.** Real conversations from ``../shared/data`` (:data:`SOURCES`: English, Simplified
and Traditional Chinese, Russian; single- and multi-turn), ingested once with
:class:`curate.ingest.pipeline.Ingestor`, then a seeded sample of ``--pool`` conversations
(each source its share, a short source's rest taken from Alpaca-52K) that end with a user
turn and a non-empty reply, with every final answer distinct (so that the scripted judge
can look it up), written as ``{"messages", "origin"}`` JSONL and ingested again into the
benchmark's store. **Clusters**: ``--clusters`` tag clusters by a hash of ``prompt_id``
(BLAKE2b mod C, written directly as a tag sidecar ``tag.bench``): every answer to one
prompt lands in one cluster, and a cluster mixes sources and languages. Scored with the
real heuristic scorer (``scorers/heuristics.py``).

**Hidden quality.** q = a z(heuristics) + sqrt(1 - a^2) N(0, 1) (z over the pool,
a = ``--a`` 0.3, ``numpy.random.default_rng(seed)``), mapped to the rating scale as
q10 = clip(5.5 + 1.5 q, 1, 10): heuristics are weakly informative, as in reality. Only
:class:`curate.testing.judges.ScriptedJudge` knows it: it reads the answer out of each
judge prompt and looks up q10 (keyed by the answer text the judge reads; a miss is
counted and must be 0). Judge settings: noise 1.5 (uniform half-width), position_bias 0.5,
length_bonus 0.5 rating points per 1,000 characters, garbage 0.05; called in-process as
the backend of :class:`curate.judge.pointwise.PointwiseJudge` (no HTTP). Each method gets
its own judge name, so its own call cache: calls made are what the method costs.

**Methods**, each then selected with ``run_select(per_tag=Q, per_prompt=None)`` (the
CLI's ``--per-prompt 0``: several sources are multi-model benches, and a one-per-prompt
limit would make the selection something other than the best Q of each cluster) and
explicit weights on every score in the store (0 for those not named):

* heuristics alone; answer length alone ("the longer answer wins");
* pointwise judge over every row (``curate judge --mode pointwise``): judge only, and
  judge 1 + heuristics 0.25 (select's default weight for heuristics next to a model score);
* funnel (``--mode funnel``; top-K = ``--top-k-multiple`` (2) x Q by heuristics, near-cut
  Q/2, 6 opponents, 3 rounds, ``--by heuristics=1,length=0``): judge + heuristics (unjudged
  rows stay in, but ``curate select`` ranks a funnel's judged rows first within a tag and
  prompt, ``report.json`` ``judged_first``, so they are taken only when the judged rows run
  out; ``--missing-score others``; also with heuristics 1), and judge alone (rows without a
  judge score have no combined score and are excluded);
* the funnel with ``--length-covariate``;
* pairwise over whole clusters (``--mode pairwise``), judge only (``--no-pairwise`` skips it).

**Metrics.** precision@Q: per cluster, the share of the selected rows that are in the
cluster's true top Q by q, averaged over clusters; mean q10 of the selection; Kendall
tau-b between the method's ranking score and q within each cluster, over the rows that
score (judged rows, for a judge), averaged over clusters; LLM calls made (the stage
manifest's ``calls.made``, checked against the backend's own count); selected rows without
a score from that method's judge (counted, and checked against ``report.json``'s
``judged_first.selected_unscored`` for a funnel judge); wall seconds of the judge stage
plus the selection (``OPENBLAS_NUM_THREADS=1`` unless set: see below). **Funnel
ceiling**: per cluster, the share of its true top Q inside its top-K by heuristics (the
rows the funnel can judge at all; also over the rows it did rate), averaged over clusters.
``--json`` writes ``{"config", "ceiling", "calls", "rows"}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Bradley-Terry's Newton solves (curate/judge/ranking.py) run 5-30x slower with OpenBLAS's
# default threads on a 2-core machine (measured: the pairwise stage 55 s -> 11 s on 1,500
# rows); one BLAS thread unless the caller says otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: (name, paths under ../shared/data, share of the pool); the first is the big filler
SOURCES = [
    ("alpaca_52k_en", ["alpaca_52k_en"], 0.14),
    ("lima_en", ["lima_en/lima.json"], 0.08),
    ("gpteacher_roleplay_en", ["gpteacher_en/roleplay-simple-deduped-roleplay-dataset.json"], 0.06),
    (
        "moss_zh_en",
        ["moss_sft_zh_en/conversation_without_plugins__helpful_conversations.jsonl"],
        0.07,
    ),
    ("oasst_zh", ["oasst_zh/oaast_sft_zh.json"], 0.08),
    ("medicalgpt_sharegpt_zh", ["medicalgpt_zh/sharegpt_zh_1K_format.jsonl"], 0.08),
    (
        "alpaca_zh_translated",
        ["alpaca_zh_translated_hikariming/translated_chunks/alpaca_data-3252-6382-zh-done.json"],
        0.07,
    ),
    ("drcd_zh_tw", ["drcd_zh_tw/DRCD_dev.json"], 0.08),
    ("zh_tw_bench_answers", ["zh_tw_bench/model_answer"], 0.10),
    ("mtbench_ru_answers", ["mtbench_ru/model_answer"], 0.10),
    (
        "rulm_ru",
        [
            "rulm_ru/tasks__saiga_mistral_7b_answers.jsonl",
            "rulm_ru/user_saiga13b_answers.jsonl",
            "rulm_ru/saicuna_vs_vicuna.jsonl",
            "rulm_ru/ru_turbo_alpaca_gen100.jsonl",
        ],
        0.14,
    ),
]
TAG_SIDECAR = "tag.bench"
HEURISTICS = "heuristics"
LENGTH = "length"
JUDGE_SETTINGS = dict(noise=1.5, position_bias=0.5, length_bonus=0.5, garbage=0.05)


# -- the pool --------------------------------------------------------------------------------


def pointwise_key(answer: str) -> str:
    """The answer as the scripted judge reads it from a pointwise prompt.

    ``ScriptedJudge.answer_of`` takes the text after the template's answer marker up to
    the first ``"\\n["`` (the next section header), so an answer holding ``"\\n["`` is
    cut there, and one that starts with ``"["`` reads as empty.
    """
    return ("\n" + answer).split("\n[", 1)[0].strip()


def pair_key(answer: str) -> str:
    """The answer as the scripted judge reads it from a pairwise prompt (between markers)."""
    return answer.strip()


def judgeable(messages: list[dict]) -> bool:
    from curate.errors import CurateError
    from curate.judge.templates import conversation_fields

    try:
        fields = conversation_fields(messages)
    except CurateError:
        return False
    return bool(fields["answer"].strip()) and bool(pointwise_key(fields["answer"]))


def sample_pool(work: Path, n: int, seed: int) -> tuple[Path, dict[str, int]]:
    """Ingest every source once, sample ``n`` judgeable conversations with distinct answers."""
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.store import Store

    paths: dict[str, str] = {}
    for name, rels, _ in SOURCES:
        for rel in rels:
            if not (DATA / rel).exists():
                sys.exit(f"missing {DATA / rel}: this benchmark needs ../shared/data")
            paths[str((DATA / rel).resolve())] = name
    root = work / "sources"
    shutil.rmtree(root, ignore_errors=True)
    Ingestor(list(paths), root, IngestOptions(), workers=0, overwrite=True).run()
    table = Store.open(root).read(columns=["messages", "source"])
    by_source: dict[str, list[list[dict]]] = {name: [] for name, _, _ in SOURCES}
    for messages, source in zip(
        table.column("messages").to_pylist(), table.column("source").to_pylist()
    ):
        file = str(Path(source["file"]).resolve())
        name = next(v for k, v in paths.items() if file == k or file.startswith(k + "/"))
        if judgeable(messages):
            by_source[name].append(messages)
    rng = np.random.default_rng(seed)
    seen_pw: set[str] = set()
    seen_pair: set[str] = set()
    picked: list[tuple[str, list[dict]]] = []
    counts: Counter[str] = Counter()

    def take(name: str, rows: list[list[dict]], want: int) -> None:
        for k in rng.permutation(len(rows)).tolist():
            if counts[name] >= want:
                return
            answer = rows[k][-1]["content"]
            a, b = pointwise_key(answer), pair_key(answer)
            if a in seen_pw or b in seen_pair:
                continue
            seen_pw.add(a)
            seen_pair.add(b)
            picked.append((name, rows[k]))
            counts[name] += 1

    filler = SOURCES[0][0]
    for name, _, share in SOURCES[1:]:
        take(name, by_source[name], math.floor(n * share))
    take(filler, by_source[filler], n - sum(counts.values()))
    if sum(counts.values()) < n:
        sys.exit(f"only {sum(counts.values()):,} distinct judgeable conversations; lower --pool")
    order = rng.permutation(len(picked))
    path = work / "pool.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for k in order.tolist():
            name, messages = picked[k]
            msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
            fh.write(json.dumps({"messages": msgs, "origin": name}, ensure_ascii=False) + "\n")
    return path, dict(counts)


def build_store(work: Path, pool_path: Path, clusters: int):
    """The benchmark store: the pool ingested, heuristics, hash clusters, answer lengths."""
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.score.stage import run_score
    from curate.store import SidecarWriter, Store
    from curate.testing.scores import write_scores
    from scorers.heuristics import HeuristicScorer

    root = work / "store"
    shutil.rmtree(root, ignore_errors=True)
    Ingestor([str(pool_path)], root, IngestOptions(), workers=0, overwrite=True).run()
    store = Store.open(root)
    started = time.perf_counter()
    run_score(store, HeuristicScorer())
    heuristics_s = time.perf_counter() - started
    writer = SidecarWriter(store, TAG_SIDECAR, {"hash_of_prompt_id": clusters})
    for index in writer.pending():
        shard = store.read_shard(index, columns=["id", "prompt_id"])
        tags = [
            f"c{int(hashlib.blake2b(p.encode(), digest_size=8).hexdigest(), 16) % clusters:03d}"
            for p in shard.column("prompt_id").to_pylist()
        ]
        writer.write(
            index,
            pa.table(
                {
                    "id": shard.column("id"),
                    "tags": pa.array([[t] for t in tags], pa.list_(pa.string())),
                    "tag_primary": pa.array(tags, pa.string()),
                }
            ),
        )
    writer.finish()
    messages = store.read(columns=["messages"]).column("messages").to_pylist()
    write_scores(store, LENGTH, [float(len(m[-1]["content"])) for m in messages])
    return store, heuristics_s


# -- the hidden truth and the judge ----------------------------------------------------------


@dataclass
class Truth:
    ids: np.ndarray  # base order
    cluster: np.ndarray  # int code per row
    q10: np.ndarray  # hidden quality on 1..10 (clipped)
    q: np.ndarray  # the same, unclipped (the ideal order: no ties)
    by_answer: dict[str, float]  # what the scripted judge looks up
    misses: Counter = field(default_factory=Counter)

    def quality(self, answer: str) -> float:
        value = self.by_answer.get(answer)
        if value is None:
            self.misses[answer[:60]] += 1
            return 5.5
        return value


def hidden_truth(store, a: float, seed: int) -> Truth:
    table = store.read(columns=["id", "messages"], sidecars=[TAG_SIDECAR, f"score.{HEURISTICS}"])
    ids = np.asarray(table.column("id").to_pylist(), dtype=object)
    h = np.asarray(table.column("heuristics_score").to_pylist(), dtype=np.float64)
    if np.isnan(h).any():
        raise SystemExit("a pooled conversation has no heuristic score")
    _, cluster = np.unique(
        np.asarray(table.column("tag_primary").to_pylist(), dtype=object), return_inverse=True
    )
    z = (h - h.mean()) / h.std()
    rng = np.random.default_rng(seed)
    q = a * z + math.sqrt(1 - a * a) * rng.standard_normal(len(z))
    q_scale = 5.5 + 1.5 * q
    q10 = np.clip(q_scale, 1.0, 10.0)
    by_answer: dict[str, float] = {}
    for messages, value in zip(table.column("messages").to_pylist(), q10.tolist()):
        answer = messages[-1]["content"]
        for key in {pointwise_key(answer), pair_key(answer)}:
            if key in by_answer:
                raise SystemExit(f"two pooled answers read the same to the judge: {key[:60]!r}")
            by_answer[key] = value
    return Truth(ids, cluster.astype(np.int64), q10, q_scale, by_answer)


def scripted(truth: Truth):
    from curate.testing.judges import ScriptedJudge

    return ScriptedJudge(truth.quality, **JUDGE_SETTINGS)


# -- methods ---------------------------------------------------------------------------------


@dataclass
class JudgeRun:
    key: str  # score key, e.g. judge.pw
    calls_made: int
    backend_calls: int
    wall: float
    manifest: dict
    planned: int | None = None  # plan_grouped's calls_at_most (first attempts, no retries)


def run_pointwise(store, truth: Truth, name: str) -> JudgeRun:
    from curate.judge.pointwise import PointwiseJudge
    from curate.judge.run import run_judge

    backend = scripted(truth)
    judge = PointwiseJudge(backend, store.root, name)
    started = time.perf_counter()
    result = run_judge(store, judge)
    wall = time.perf_counter() - started
    made = int(result.manifest.get("calls", {}).get("made", 0))
    return JudgeRun(judge.key, made, backend.calls, wall, result.manifest)


def run_grouped_judge(store, truth: Truth, name: str, **options) -> JudgeRun:
    from curate.judge import grouped
    from curate.judge.pointwise import PointwiseJudge
    from curate.judge.run import plan_grouped, run_grouped

    backend = scripted(truth)
    pointwise = PointwiseJudge(backend, store.root, name)
    judge = grouped.GroupedJudge(pointwise, grouped.GroupOptions(**options))
    planned = plan_grouped(store, judge).calls_at_most
    started = time.perf_counter()
    result = run_grouped(store, judge)
    wall = time.perf_counter() - started
    made = int(result.manifest.get("calls", {}).get("made", 0))
    return JudgeRun(pointwise.key, made, backend.calls, wall, result.manifest, planned)


def select_ids(store, work: Path, label: str, per_tag: int, weights: dict[str, float]):
    from curate import names
    from curate.score.stage import score_columns
    from curate.select.stage import SelectOptions, run_select

    keys = [names.score_key(s) for s in score_columns(store)]
    full = {k: float(weights.get(k, 0.0)) for k in keys}
    unknown = set(weights) - set(keys)
    assert not unknown, unknown
    out = work / "selections" / label
    options = SelectOptions(per_tag=per_tag, per_prompt=None, weights=full)
    started = time.perf_counter()
    result = run_select(store, options, out, overwrite=True)
    wall = time.perf_counter() - started
    ids = pq.read_table(out / "subset.parquet", columns=["id"]).column("id").to_pylist()
    return ids, wall, result.report


def score_of(store, key: str) -> np.ndarray:
    from curate import names

    table = store.read(columns=["id"], sidecars=[names.score_sidecar(key)])
    column = table.column(names.score_column(key))
    return np.asarray([np.nan if v is None else v for v in column.to_pylist()], dtype=np.float64)


# -- metrics ---------------------------------------------------------------------------------


def true_top(truth: Truth, q: int) -> np.ndarray:
    """Mask of each cluster's true top ``q`` by hidden quality."""
    mask = np.zeros(len(truth.ids), dtype=bool)
    for c in np.unique(truth.cluster):
        rows = np.flatnonzero(truth.cluster == c)
        mask[rows[np.argsort(-truth.q[rows], kind="stable")[:q]]] = True
    return mask


def mean_tau(truth: Truth, score: np.ndarray) -> tuple[float, int]:
    """Mean over clusters of Kendall tau-b(score, q) over rows with a score; rows scored."""
    from scipy.stats import kendalltau

    taus = []
    for c in np.unique(truth.cluster):
        rows = np.flatnonzero((truth.cluster == c) & ~np.isnan(score))
        if len(rows) < 3 or np.ptp(score[rows]) == 0:
            continue
        taus.append(kendalltau(score[rows], truth.q[rows]).statistic)
    return (float(np.mean(taus)) if taus else float("nan")), int((~np.isnan(score)).sum())


@dataclass
class Row:
    method: str
    precision: float
    mean_q: float
    selected: int
    tau: float
    scored: int
    calls: int | None
    wall: float
    unjudged_selected: int | None = None
    report_unscored: int | None = None  # report.json judged_first.selected_unscored (funnel)


def evaluate(
    truth: Truth,
    top: np.ndarray,
    selected_ids: list[str],
    label: str,
    tau_score: np.ndarray | None,
    calls: int | None,
    wall: float,
    judge_score: np.ndarray | None = None,
) -> Row:
    position = {i: k for k, i in enumerate(truth.ids.tolist())}
    rows = np.asarray([position[i] for i in selected_ids], dtype=np.int64)
    precisions = []
    for c in np.unique(truth.cluster):
        mine = rows[truth.cluster[rows] == c]
        precisions.append(top[mine].mean() if len(mine) else 0.0)
    tau, scored = mean_tau(truth, tau_score) if tau_score is not None else (float("nan"), 0)
    unjudged = None
    if judge_score is not None:
        unjudged = int(np.isnan(judge_score[rows]).sum())
    return Row(
        label,
        float(np.mean(precisions)),
        float(truth.q10[rows].mean()),
        len(rows),
        tau,
        scored,
        calls,
        wall,
        unjudged,
    )


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> str:
    from curate.judge import grouped

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pool", type=int, default=6000, help="conversations in the pool")
    ap.add_argument("--clusters", type=int, default=30)
    ap.add_argument("--per-tag", type=int, default=20, help="Q: select's --per-tag")
    ap.add_argument("--a", type=float, default=0.3, help="weight of z(heuristics) in q")
    ap.add_argument(
        "--top-k-multiple",
        type=int,
        default=2,
        help="funnel top-K = this multiple x --per-tag (rows rated per cluster)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pairwise", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--work", type=Path, default=None, help="work folder (rebuilt each run)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_judge_funnel_section.md"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    Q = args.per_tag
    if args.top_k_multiple < 1:
        sys.exit("--top-k-multiple must be >= 1")
    K = args.top_k_multiple * Q
    started_all = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="judge_funnel_"))
    work.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[1]
    if repo == work.resolve() or repo in work.resolve().parents:
        sys.exit("--work must be outside the repository")

    pool_path, per_source = sample_pool(work, args.pool, args.seed)
    store, heuristics_s = build_store(work, pool_path, args.clusters)
    truth = hidden_truth(store, args.a, args.seed)
    top = true_top(truth, Q)
    sizes = np.bincount(truth.cluster)
    langs = Counter(store.read(columns=["lang"]).column("lang").to_pylist())
    print(
        f"pool: {len(truth.ids):,} conversations, {len(sizes)} clusters "
        f"(sizes {sizes.min()}-{sizes.max()}, median {int(np.median(sizes))}); "
        f"heuristics scored in {heuristics_s:.1f} s",
        flush=True,
    )

    runs: dict[str, JudgeRun] = {}
    runs["pw"] = run_pointwise(store, truth, "pw")
    print(f"pointwise: {runs['pw'].calls_made:,} calls, {runs['pw'].wall:.1f} s", flush=True)
    funnel_options = dict(
        mode=grouped.FUNNEL,
        quota=Q,
        top_k=K,
        by={HEURISTICS: 1.0, LENGTH: 0.0},
        seed=args.seed,
    )
    runs["funnel"] = run_grouped_judge(store, truth, "funnel", **funnel_options)
    print(f"funnel: {runs['funnel'].calls_made:,} calls, {runs['funnel'].wall:.1f} s", flush=True)
    runs["funnel_len"] = run_grouped_judge(
        store, truth, "funnel-len", length_covariate=True, **funnel_options
    )
    print(
        f"funnel + length covariate: {runs['funnel_len'].calls_made:,} calls, "
        f"{runs['funnel_len'].wall:.1f} s",
        flush=True,
    )
    if args.pairwise:
        runs["pairwise"] = run_grouped_judge(
            store, truth, "pairwise", mode=grouped.PAIRWISE, quota=Q, seed=args.seed
        )
        print(
            f"pairwise: {runs['pairwise'].calls_made:,} calls, {runs['pairwise'].wall:.1f} s",
            flush=True,
        )

    scores = {HEURISTICS: score_of(store, HEURISTICS), LENGTH: score_of(store, LENGTH)}
    for r in runs.values():
        scores[r.key] = score_of(store, r.key)

    plans = [
        ("ideal (true top Q by hidden q)", None, None, None),
        ("heuristics alone", {HEURISTICS: 1.0}, HEURISTICS, None),
        ('answer length alone ("longer wins")', {LENGTH: 1.0}, LENGTH, None),
        ("pointwise judge, all rows: judge only", {"judge.pw": 1.0}, "judge.pw", "pw"),
        (
            "pointwise judge, all rows: judge 1 + heuristics 0.25",
            {"judge.pw": 1.0, HEURISTICS: 0.25},
            "judge.pw",
            "pw",
        ),
        (
            "funnel: judge 1 + heuristics 0.25",
            {"judge.funnel": 1.0, HEURISTICS: 0.25},
            "judge.funnel",
            "funnel",
        ),
        (
            "funnel: judge 1 + heuristics 1",
            {"judge.funnel": 1.0, HEURISTICS: 1.0},
            "judge.funnel",
            "funnel",
        ),
        (
            "funnel: judge only (unjudged rows excluded)",
            {"judge.funnel": 1.0},
            "judge.funnel",
            "funnel",
        ),
        (
            "funnel + length covariate: judge 1 + heuristics 0.25",
            {"judge.funnel-len": 1.0, HEURISTICS: 0.25},
            "judge.funnel-len",
            "funnel_len",
        ),
        (
            "funnel + length covariate: judge only",
            {"judge.funnel-len": 1.0},
            "judge.funnel-len",
            "funnel_len",
        ),
    ]
    if args.pairwise:
        plans.append(
            (
                "pairwise, whole clusters: judge only",
                {"judge.pairwise": 1.0},
                "judge.pairwise",
                "pairwise",
            )
        )
    rows: list[Row] = []
    for k, (label, weights, tau_key, run) in enumerate(plans):
        if weights is None:
            ideal = truth.ids[top].tolist()
            rows.append(evaluate(truth, top, ideal, label, None, None, 0.0))
            continue
        ids, wall, report = select_ids(store, work, f"sel{k:02d}", Q, weights)
        judge_run = runs.get(run) if run else None
        row = evaluate(
            truth,
            top,
            ids,
            label,
            scores[tau_key],
            judge_run.calls_made if judge_run else 0,
            wall + (judge_run.wall if judge_run else 0.0),
            scores[tau_key] if judge_run else None,
        )
        if judge_run is not None and tau_key in report.get("judged_first", {}):
            row.report_unscored = int(report["judged_first"][tau_key]["selected_unscored"])
        rows.append(row)
        print(f"  {label}: precision@Q {row.precision:.3f}", flush=True)

    misses = sum(truth.misses.values())
    rated = ~np.isnan(scores["judge.funnel"])
    ceiling = float(
        np.mean(
            [
                (top & rated & (truth.cluster == c)).sum() / min(Q, s)
                for c, s in enumerate(sizes.tolist())
            ]
        )
    )
    # the same over each cluster's top-K by heuristics, whether or not the judge rated it
    top_k_mask = np.zeros(len(truth.ids), dtype=bool)
    for c in range(len(sizes)):
        members = np.flatnonzero(truth.cluster == c)
        order = np.argsort(-scores[HEURISTICS][members], kind="stable")
        top_k_mask[members[order[:K]]] = True
    ceiling_k = float(
        np.mean(
            [
                (top & top_k_mask & (truth.cluster == c)).sum() / min(Q, s)
                for c, s in enumerate(sizes.tolist())
            ]
        )
    )
    report_mismatch = {
        r.method: (r.unjudged_selected, r.report_unscored)
        for r in rows
        if r.report_unscored is not None and r.report_unscored != r.unjudged_selected
    }
    reported = sum(r.report_unscored is not None for r in rows)
    answers = store.read(columns=["messages"]).column("messages").to_pylist()
    cut = sum(pointwise_key(m[-1]["content"]) != pair_key(m[-1]["content"]) for m in answers)
    planned = ", ".join(
        f"{k} planned at most {r.planned:,} first attempts, made {r.calls_made:,} with retries"
        for k, r in runs.items()
        if r.planned is not None
    )
    mismatched = {
        k: (r.calls_made, r.backend_calls)
        for k, r in runs.items()
        if r.calls_made != r.backend_calls
    }
    pool_q = float(truth.q10.mean())
    random_precision = float(np.mean([min(Q, s) / s for s in sizes]))
    funnel = runs["funnel"].manifest
    total_s = time.perf_counter() - started_all

    lines = [
        "| method | precision@Q | mean hidden q | rows selected | Kendall tau (score vs q, within cluster) | rows with that score | LLM calls made | selected rows without a judge score | wall s (judge + select) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        tau = "" if math.isnan(r.tau) else f"{r.tau:.3f}"
        calls = "" if r.calls is None else f"{r.calls:,}"
        unjudged = "" if r.unjudged_selected is None else f"{r.unjudged_selected:,}"
        scored = f"{r.scored:,}" if r.scored else ""
        wall = f"{r.wall:.1f}" if r.calls is not None else ""
        lines.append(
            f"| {r.method} | {r.precision:.3f} | {r.mean_q:.2f} | {r.selected:,} | {tau} | "
            f"{scored} | {calls} | {unjudged} | {wall} |"
        )
    lines.append(f"| (random, expected) | {random_precision:.3f} | {pool_q:.2f} | | | | | | |")
    table = "\n".join(lines)
    command = "python benchmarks/bench_judge_funnel.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    setup = [
        f"Command: `{command}` (seeded; {total_s / 60:.1f} min on this machine, of which "
        f"ingest, sampling and heuristics scoring are not in the table's wall times; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}: with OpenBLAS's "
        "default threads on 2 cores the Bradley-Terry solves, and so the pairwise stage, "
        "are ~5x slower).",
        "",
        f"Pool: {len(truth.ids):,} real conversations from `../shared/data` "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(per_source.items()))}; languages "
        f"{', '.join(f'{k} {v:,}' for k, v in langs.most_common(6))}), every final answer "
        f"distinct; {len(sizes)} tag clusters by BLAKE2b(prompt_id) mod {len(sizes)} "
        f"(sizes {sizes.min()}-{sizes.max()}, median {int(np.median(sizes))}); Q = {Q} per "
        "cluster, `--per-prompt 0` (no per-prompt limit: the ideal is simply each cluster's "
        "true top Q). Heuristics: the real scorer. Hidden quality q = "
        f"{args.a} z(heuristics) + sqrt(1 - {args.a}^2) N(0,1) (seed {args.seed}), "
        "q10 = clip(5.5 + 1.5 q, 1, 10), known only to the ScriptedJudge (noise 1.5, "
        "position_bias 0.5, length_bonus 0.5 per 1,000 chars, garbage 0.05), called in-process. "
        f"Funnel: top-K {args.top_k_multiple}Q = {K} by heuristics "
        "(`--by heuristics=1,length=0`), near-cut Q/2, "
        "6 opponents, 3 rounds. Each method has its own judge name and call cache. "
        "`judge only` with the funnel: rows without a judge score have no combined score "
        "and are excluded; `judge + heuristics`: they stay (`--missing-score others`), but "
        "`curate select` ranks the funnel's judged rows first within a tag and prompt "
        "(`report.json` `judged_first`), so an unjudged row is taken only when the judged "
        "ones run out. Tau is over the rows that have the score (the funnel: "
        "its top-K rated rows; heuristics and length: all rows).",
        "",
        f"Checks: judge lookups that missed the hidden table: {misses}; manifest "
        f"`calls.made` vs the backend's own count: "
        f"{mismatched if mismatched else 'equal for every judge'}. Funnel manifest: "
        f"status {funnel.get('counts', {}).get('status')}, pairs {funnel.get('pairs')}, "
        f"position bias {funnel.get('position_bias')}. Plans (`plan_grouped`): {planned}. "
        f"Selected rows without a judge score, counted vs `report.json` "
        f"`judged_first.selected_unscored` ({reported} funnel selections): "
        f"{report_mismatch if report_mismatch else 'equal'}.",
        "",
        f"Funnel ceiling: the share of each cluster's true top Q that is inside its top-K "
        f"({K}) by heuristics (so can be judged at all), averaged over clusters: "
        f"{ceiling_k:.3f}; inside the rows the funnel did rate: {ceiling:.3f}. "
        f"Answers the scripted judge reads cut short in pointwise prompts (they hold "
        f'"\\n[", `ScriptedJudge.answer_of`): {cut:,} of {len(answers):,} (looked up by '
        "the cut text; their length bonus counts only the cut part there).",
    ]
    if "pairwise" in runs:
        pw = runs["pairwise"].manifest
        setup.append("")
        setup.append(
            f"Pairwise manifest: pairs {pw.get('pairs')}, position bias {pw.get('position_bias')}."
        )
    if "funnel_len" in runs:
        setup.append("")
        setup.append(
            f"Length covariate (funnel): {runs['funnel_len'].manifest.get('length_covariate')}."
        )
    heading = (
        "### The judged selection against a hidden quality: pointwise, funnel, pairwise "
        "(`benchmarks/bench_judge_funnel.py`)\n\n"
    )
    text = heading + "\n".join(setup) + "\n\n" + table + "\n"
    print()
    print(text)
    args.out.write_text(text, encoding="utf-8")
    if args.json:
        summary = {
            "config": {
                "pool": args.pool,
                "clusters": args.clusters,
                "per_tag": Q,
                "a": args.a,
                "top_k_multiple": args.top_k_multiple,
                "top_k": K,
                "seed": args.seed,
                "pairwise": args.pairwise,
            },
            "ceiling": {"top_k_by_heuristics": ceiling_k, "rated": ceiling},
            "calls": {k: r.calls_made for k, r in runs.items()},
            "total_s": total_s,
            "rows": [r.__dict__ for r in rows],
        }
        args.json.write_text(json.dumps(summary, indent=2))
    return text


if __name__ == "__main__":
    main()
