"""What ``curate report`` shows, computed from a store (and a selection): one JSON-able dict.

Every section streams the store shard by shard and keeps only aggregates (counts,
histograms, quantiles) or a seeded sample (the embedding map, examples), so a 1M-row
store costs a pass over a few columns, never the whole table in memory. A section whose
stage did not run is ``{"missing": why}``: the page says so instead of drawing nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import names
from curate.runner import is_complete
from curate.store import Store

TURN_BINS = 10  # 1 .. 10 turns, then "more"
LENGTH_EDGES = [0, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000]
SCORE_BINS = 30
SNIPPET = 240


def snippet(text: str | None, width: int = SNIPPET) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def first_user(messages: list[dict]) -> str:
    return next((m["content"] for m in messages if m["role"] == "user"), "")


def last_reply(messages: list[dict]) -> str:
    return next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), "")


def source_name(file: str) -> str:
    """A source as a curator names it: the data folder under ``data/`` or the file's parent."""
    parts = Path(file).parts
    if "data" in parts and parts.index("data") + 1 < len(parts) - 1:
        return parts[parts.index("data") + 1]
    return Path(file).parent.name or Path(file).name


def pool(store: Store) -> dict[str, Any]:
    """Sources by language, scripts, turns, lengths and flags, in one pass over the shards."""
    by_source: Counter[tuple[str, str]] = Counter()
    scripts: Counter[str] = Counter()
    turns: Counter[int] = Counter()
    flags: Counter[str] = Counter()
    lengths = np.zeros(len(LENGTH_EDGES), dtype=np.int64)
    columns = ["source", "lang", "script", "n_turns", "n_chars", "flags"]
    for shard in store.iter_shards(columns=columns):
        files = pc.struct_field(shard.column("source"), "file").to_pylist()
        for (file, lang), n in Counter(zip(files, shard.column("lang").to_pylist())).items():
            by_source[(source_name(file), lang or "und")] += n
        scripts.update(s or "none" for s in shard.column("script").to_pylist())
        turns.update(min(int(t), TURN_BINS + 1) for t in shard.column("n_turns").to_pylist())
        chars = shard.column("n_chars").to_numpy(zero_copy_only=False)
        lengths += np.bincount(
            np.searchsorted(LENGTH_EDGES, chars, side="right") - 1, minlength=len(LENGTH_EDGES)
        )[: len(LENGTH_EDGES)]
        flags.update(f for row in shard.column("flags").to_pylist() for f in row or ())
    sources: dict[str, dict[str, int]] = {}
    for (source, lang), n in sorted(by_source.items()):
        sources.setdefault(source, {})[lang] = n
    labels = [f"{a:,}-{b:,}" for a, b in zip(LENGTH_EDGES, LENGTH_EDGES[1:])]
    return {
        "rows": store.num_rows(),
        "sources": sources,
        "scripts": dict(scripts.most_common()),
        "turns": {
            (str(t) if t <= TURN_BINS else f">{TURN_BINS}"): turns.get(t, 0)
            for t in range(1, TURN_BINS + 2)
        },
        "lengths": dict(zip([*labels, f">={LENGTH_EDGES[-1]:,}"], lengths.tolist())),
        "flags": dict(flags.most_common()),
        "rejects": rejects(store),
    }


def rejects(store: Store) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in sorted((store.root / "rejects").glob("*.parquet")):
        counts.update(pq.read_table(path, columns=["reason"]).column("reason").to_pylist())
    return dict(counts.most_common())


def selection(subset: Path | None) -> dict[str, Any]:
    """The selection's ``report.json`` accounting: every pool row selected or excluded once."""
    if subset is None:
        return {"missing": "no selection given (--subset DIR, the output of curate select)"}
    report = json.loads((Path(subset) / "report.json").read_text(encoding="utf-8"))
    excluded = {k: int(v) for k, v in report["excluded"].items()}
    return {
        "rows": int(report["rows"]),
        "selected": int(report["selected"]),
        "excluded": excluded,
        "adds_up": int(report["selected"]) + sum(excluded.values()) == int(report["rows"]),
        "languages": report.get("languages", {}),
        "weights": report.get("weights", {}),
    }


def selected_ids(subset: Path | None) -> set[str]:
    if subset is None:
        return set()
    return set(pq.read_table(Path(subset) / "subset.parquet", columns=["id"])["id"].to_pylist())


def languages(store: Store, chosen: set[str]) -> dict[str, Any]:
    """The language and script mix of the pool against the selection."""
    mix: dict[str, Counter[str]] = {"pool": Counter(), "selected": Counter()}
    for shard in store.iter_shards(columns=["id", "lang", "script"]):
        for i, lang, script in zip(
            shard.column("id").to_pylist(),
            shard.column("lang").to_pylist(),
            shard.column("script").to_pylist(),
        ):
            key = f"{lang or 'und'}" + (f" ({script})" if script and lang in ("zh", "und") else "")
            mix["pool"][key] += 1
            if i in chosen:
                mix["selected"][key] += 1
    return {k: dict(v.most_common()) for k, v in mix.items()}


def tags(store: Store, chosen: set[str]) -> dict[str, Any]:
    """Each tag's size in the pool and in the selection, with its terms (the tag table)."""
    from curate.errors import CurateError
    from curate.tag.stage import find_tags

    try:
        name = find_tags(store)
    except CurateError as e:
        return {"missing": str(e)}
    in_pool: Counter[str] = Counter()
    in_subset: Counter[str] = Counter()
    for shard in store.iter_shards(columns=["id"], sidecars=[name]):
        for i, row in zip(shard.column("id").to_pylist(), shard.column("tags").to_pylist()):
            in_pool.update(row or ["(untagged)"])
            if i in chosen:
                in_subset.update(row or ["(untagged)"])
    table = (store.manifest(names.manifest_name(name)) or {}).get("tag_table", [])
    terms = {t["tag"]: t.get("terms", [])[:6] for t in table}
    return {
        "sidecar": name,
        "tags": [
            {"tag": t, "pool": n, "selected": in_subset.get(t, 0), "terms": terms.get(t, [])}
            for t, n in in_pool.most_common()
        ],
    }


def scores(store: Store, chosen: set[str], sample: int = 100_000, seed: int = 0) -> dict[str, Any]:
    """Each score's histogram in the pool and the selection, and how the scores agree.

    Agreement is Spearman's rank correlation on the rows every score has (at most
    ``sample`` of them, seeded), so it costs the same on 1M rows as on 100K.
    """
    from curate.score.stage import score_arrays, score_columns

    columns = score_columns(store)
    if not columns:
        return {"missing": "no complete score sidecar: run curate score first"}
    values: dict[str, list[np.ndarray]] = {k: [] for k in columns}
    picked: list[np.ndarray] = []
    for shard in store.iter_shards(columns=["id"], sidecars=list(columns)):
        for key, array in score_arrays(shard, columns).items():
            values[key].append(array)
        picked.append(np.fromiter((i in chosen for i in shard.column("id").to_pylist()), bool))
    chosen_mask = np.concatenate(picked) if picked else np.zeros(0, bool)
    out: dict[str, Any] = {"scores": {}, "agreement": {}}
    merged = {k: np.concatenate(v) for k, v in values.items()}
    for key, x in merged.items():
        ok = ~np.isnan(x)
        if not ok.any():
            continue
        lo, hi = float(np.min(x[ok])), float(np.max(x[ok]))
        edges = np.linspace(lo, hi if hi > lo else lo + 1, SCORE_BINS + 1)
        out["scores"][key] = {
            "n": int(ok.sum()),
            "missing": int((~ok).sum()),
            "edges": [round(float(e), 6) for e in edges],
            "pool": np.histogram(x[ok], edges)[0].tolist(),
            "selected": np.histogram(x[ok & chosen_mask], edges)[0].tolist(),
            "quantiles": {
                q: round(float(np.quantile(x[ok], p)), 6)
                for q, p in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))
            },
        }
    keys = list(out["scores"])
    if len(keys) > 1:
        both = np.all([~np.isnan(merged[k]) for k in keys], axis=0)
        rows = np.flatnonzero(both)
        if len(rows) > sample:
            rows = np.sort(np.random.default_rng(seed).choice(rows, sample, replace=False))
        ranks = {k: np.argsort(np.argsort(merged[k][rows])) for k in keys}
        for a in keys:
            for b in keys:
                if a < b and len(rows) > 2:
                    out["agreement"][f"{a} ~ {b}"] = round(
                        float(np.corrcoef(ranks[a], ranks[b])[0, 1]), 4
                    )
    return out


def dedup(store: Store, examples: int = 3) -> dict[str, Any]:
    """Near-duplicate group sizes, and the largest groups' members (kept one first)."""
    if not is_complete(store, "dedup"):
        return {"missing": "no dedup sidecar: run curate dedup first"}
    sizes: Counter[int] = Counter()
    biggest: list[tuple[int, str]] = []
    for shard in store.iter_shards(columns=["id"], sidecars=["dedup"]):
        groups = shard.column("dup_group").to_pylist()
        size = shard.column("dup_group_size").to_pylist()
        for i, g, n in zip(shard.column("id").to_pylist(), groups, size):
            if i == g:  # one count per group: at its representative
                sizes[int(n)] += 1
                biggest.append((-int(n), g))
    biggest = sorted(biggest)[:examples]
    wanted = {g for _, g in biggest if _ < -1}
    members: dict[str, list[dict[str, Any]]] = {g: [] for g in wanted}
    if wanted:
        for shard in store.iter_shards(columns=["id", "messages"], sidecars=["dedup"]):
            table = shard.filter(pc.is_in(shard.column("dup_group"), pa.array(sorted(wanted))))
            for row in table.to_pylist():
                members[row["dup_group"]].append(
                    {
                        "id": row["id"],
                        "keep": bool(row["dup_keep"]),
                        "similarity": round(float(row["dup_similarity"] or 1.0), 4),
                        "prompt": snippet(first_user(row["messages"])),
                    }
                )
    for rows in members.values():
        rows.sort(key=lambda r: (not r["keep"], -r["similarity"], r["id"]))
    return {
        "groups": sum(sizes.values()),
        "sizes": {str(k): v for k, v in sorted(sizes.items())},
        "rows_in_groups": sum(k * v for k, v in sizes.items() if k > 1),
        "examples": [members[g][:5] for _, g in biggest if g in members],
    }


def embedding_map(store: Store, chosen: set[str], sample: int = 2000, seed: int = 0) -> dict:
    """A seeded sample's vectors projected to 2-D (PCA), with its tag, selection and text."""
    found = [s for s in store.sidecars() if s.startswith(names.EMBED) and is_complete(store, s)]
    if not found:
        return {"missing": "no complete embeddings: run curate embed first"}
    name = sorted(found, key=lambda s: (not s.endswith(".conversation"), s))[0]
    n = store.num_rows()
    rows = np.sort(np.random.default_rng(seed).choice(n, min(sample, n), replace=False))
    from curate.embed.stage import vectors_of
    from curate.errors import CurateError
    from curate.tag.stage import find_tags

    try:
        tag_sidecar = [find_tags(store)]
    except CurateError:
        tag_sidecar = []
    points, vectors, offset = [], [], 0
    for index in range(store.num_shards):
        size = store.shard_rows(index)
        local = (rows[(rows >= offset) & (rows < offset + size)] - offset).tolist()
        offset += size
        if not local:
            continue
        shard = store.read_shard(
            index, columns=["id", "messages", "lang"], sidecars=[name, *tag_sidecar]
        )
        shard = shard.take(pa.array(local))
        vectors.append(vectors_of(shard.column("embedding")))
        tag_column = shard.column("tag_primary").to_pylist() if tag_sidecar else [None] * len(local)
        for i, messages, lang, tag in zip(
            shard.column("id").to_pylist(),
            shard.column("messages").to_pylist(),
            shard.column("lang").to_pylist(),
            tag_column,
        ):
            points.append(
                {
                    "id": i,
                    "tag": tag or "(untagged)",
                    "lang": lang,
                    "selected": i in chosen,
                    "prompt": snippet(first_user(messages)),
                    "reply": snippet(last_reply(messages)),
                }
            )
    matrix = np.concatenate(vectors).astype(np.float64)
    matrix -= matrix.mean(axis=0)
    _, _, vt = np.linalg.svd(matrix, full_matrices=False)
    xy = matrix @ vt[:2].T
    for point, (x, y) in zip(points, xy.tolist()):
        point["x"], point["y"] = round(x, 5), round(y, 5)
    return {"embeddings": name, "sample": len(points), "rows": n, "points": points}


def judge(store: Store) -> dict[str, Any]:
    """Each judge's calls and verdict statistics, from its sidecar's manifest."""
    found = {}
    for name in store.sidecars():
        if name.startswith(names.score_sidecar("judge.")) and is_complete(store, name):
            m = store.manifest(names.manifest_name(name)) or {}
            found[name] = {k: m[k] for k in ("calls", "verdicts", "position", "counts") if k in m}
    return found or {"missing": "no judge ran: curate judge"}


def collect(store: Store, subset: Path | None = None, sample: int = 2000, seed: int = 0) -> dict:
    """Every section of the report (a section that cannot be drawn says why)."""
    chosen = selected_ids(subset)
    return {
        "store": str(store.root),
        "subset": None if subset is None else str(subset),
        "pool": pool(store),
        "dedup": dedup(store),
        "tags": tags(store, chosen),
        "scores": scores(store, chosen),
        "selection": selection(subset),
        "languages": languages(store, chosen),
        "map": embedding_map(store, chosen, sample, seed),
        "judge": judge(store),
    }
