"""The store API that later stages build on: reading shards, sidecars, joins, resume."""

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from curate.errors import StageConflict, StoreError
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import SidecarWriter, Store, join_by_id
from curate.store.schema import BASE
from tests.conftest import write_jsonl


@pytest.fixture
def store(tmp_path):
    write_jsonl(
        tmp_path / "x.jsonl",
        [{"instruction": f"question {i}", "output": "a" * i} for i in range(25)],
    )
    Ingestor(
        [str(tmp_path / "x.jsonl")], tmp_path / "s", IngestOptions(shard_size=10), workers=0
    ).run()
    return Store.open(tmp_path / "s")


def lengths(shard: pa.Table) -> pa.Table:
    return pa.table(
        {"id": shard.column("id"), "answer_chars": pc.subtract(shard.column("n_chars"), 0)}
    )


def test_open_requires_a_store(tmp_path):
    with pytest.raises(StoreError, match="not a curate store"):
        Store.open(tmp_path)
    with pytest.raises(StoreError, match="no complete base table"):
        Store.create(tmp_path / "new").require_base()


def test_read_and_iterate(store):
    assert store.num_shards == 3 and store.num_rows() == 25
    assert store.read().schema == BASE
    assert [t.num_rows for t in store.iter_shards(columns=["id"])] == [10, 10, 5]
    assert store.read(columns=["lang"]).column_names == ["lang"]


def test_sidecar_written_shard_by_shard_resumes_and_joins(store):
    writer = SidecarWriter(store, "test.lengths", params={"v": 1})
    assert writer.pending() == [0, 1, 2]
    writer.write(0, lengths(store.read_shard(0)))
    # A new writer with the same parameters resumes: shard 0 is done.
    writer = SidecarWriter(store, "test.lengths", params={"v": 1})
    assert writer.pending() == [1, 2]
    for i in writer.pending():
        writer.write(i, lengths(store.read_shard(i)))
    manifest = writer.finish(counts={"rows": 25})
    assert manifest["status"] == "complete" and manifest["rows"] == 25
    table = store.read(columns=["id", "n_chars"], sidecars=["test.lengths"])
    assert table.column("answer_chars").equals(table.column("n_chars"))
    assert store.sidecars() == ["test.lengths"]


def test_sidecar_rejects_misaligned_ids_and_conflicting_parameters(store):
    writer = SidecarWriter(store, "test.lengths", params={"v": 1})
    shard = lengths(store.read_shard(1))
    with pytest.raises(StoreError, match="ids must be those of base shard 0"):
        writer.write(0, shard)
    writer.write(1, shard)
    with pytest.raises(StageConflict, match="--overwrite"):
        SidecarWriter(store, "test.lengths", params={"v": 2})
    replaced = SidecarWriter(store, "test.lengths", params={"v": 2}, overwrite=True)
    assert replaced.pending() == [0, 1, 2]
    with pytest.raises(StoreError, match="missing shards"):
        replaced.finish()


def test_reading_an_unfinished_sidecar_is_an_error(store):
    SidecarWriter(store, "test.partial", params={}).write(0, lengths(store.read_shard(0)))
    with pytest.raises(StoreError, match="no shard 1"):
        store.read(columns=["id"], sidecars=["test.partial"])


def test_join_by_id_keeps_left_order():
    left = pa.table({"id": ["c", "a", "b"], "x": [1, 2, 3]})
    right = pa.table({"id": ["a", "b", "z"], "y": [20, 30, 99]})
    joined = join_by_id(left, right)
    assert joined.column("id").to_pylist() == ["c", "a", "b"]
    assert joined.column("y").to_pylist() == [None, 20, 30]
    with pytest.raises(StoreError, match="clash"):
        join_by_id(left, pa.table({"id": ["a"], "x": [0]}))


def test_chunk_checkpoints_resume_with_a_different_chunk_size(store):
    """Checkpointed chunks are kept; the gaps are filled without repeating or overlapping rows."""
    writer = SidecarWriter(store, "test.lengths", params={"v": 1})
    full = lengths(store.read_shard(0))
    assert writer.chunks_to_do(0, 4) == ([(0, 4), (4, 4), (8, 2)], 0)
    writer.write_part(0, 4, full.slice(4, 4))  # killed after the second chunk of 4
    todo, done_rows = writer.chunks_to_do(0, 3)  # resumed with chunks of 3
    assert todo == [(0, 3), (3, 1), (8, 2)] and done_rows == 4
    for start, rows in todo:
        writer.write_part(0, start, full.slice(start, rows))
    assert writer.chunks_to_do(0, 3) == ([], 10)
    writer.write_from_parts(0, full.schema)
    written = pq.read_table(store.sidecar_dir("test.lengths") / "part-00000.parquet")
    assert written.equals(full)


def test_a_store_ingested_before_prompt_id_gets_it_on_read(store):
    written = store.read(columns=["id", "prompt_id"])
    assert written.column("prompt_id").null_count == 0
    # an old store: the same shards without the column
    for path in store.base_shards():
        table = pq.read_table(path)
        pq.write_table(table.drop_columns(["prompt_id"]), path)
    assert "prompt_id" not in pq.ParquetFile(store.base_shards()[0]).schema_arrow.names
    assert store.read(columns=["id", "prompt_id"]).equals(written)
    assert store.read(columns=["prompt_id"]).column(0).equals(written.column("prompt_id"))
    assert store.read().schema == BASE  # whole rows: the column in its place
    assert store.read(columns=["n_chars"]).column_names == ["n_chars"]
