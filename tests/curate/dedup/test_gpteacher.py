"""Agreement with the gpteacher_en ladder: its authors deduplicated at similarity 0.9/0.8/0.7/0.6.

Their similarity scale is not ours (another embedder), so the test checks the
shape: what they call near-identical (their 0.9 level) we drop too; what we drop
at 0.9 they drop at their loosest level; and a higher threshold drops less.
"""

import json

import numpy as np

from curate.dedup.stage import DedupOptions, run_dedup
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store
from tests.curate.dedup.conftest import build_store

SUBSET = 1500  # the first records of dedupe-only: enough for the shape, quick to embed


def authors_drops(folder, level, ids, tmp_path):
    Ingestor(
        [str(folder / f"toolformer-similarity-{level}-dataset.json")],
        tmp_path / level,
        IngestOptions(),
        workers=0,
    ).run()
    kept = set(Store.open(tmp_path / level).read(columns=["id"]).column("id").to_pylist())
    return np.array([i not in kept for i in ids])


def test_ladder_agreement(shared_data, tmp_path):
    folder = shared_data / "gpteacher_en"
    records = json.loads((folder / "toolformer-dedupe-only-dataset.json").read_text())[:SUBSET]
    subset = tmp_path / "toolformer-subset.json"
    subset.write_text(json.dumps(records))
    store = build_store([subset], tmp_path / "store", shard_size=500)

    def ours(threshold):
        # Keep the first record in file order, as the authors' script did.
        result = run_dedup(
            store, DedupOptions(threshold=threshold, keep_by="-source.index"), overwrite=True
        )
        assert "source.index (lower is better)" in result.keep_rule
        table = store.read(columns=["id"], sidecars=["dedup"])
        return table.column("id").to_pylist(), ~table.column("dup_keep").to_numpy(
            zero_copy_only=False
        )

    ids, dropped = ours(0.9)
    strict = authors_drops(folder, "0.9", ids, tmp_path)
    loose = authors_drops(folder, "0.6", ids, tmp_path)
    assert (
        dropped & strict
    ).sum() / strict.sum() >= 0.95  # their near-identical pairs: we drop them
    assert (
        dropped & loose
    ).sum() / dropped.sum() >= 0.7  # our drops: theirs at their loosest level
    _, dropped_strict = ours(0.95)
    assert dropped_strict.sum() < dropped.sum()
