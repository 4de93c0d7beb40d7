"""End-to-end ingest on hand-made inputs: accounting, rejects, dedup, determinism, resume."""

import os
import signal
import subprocess
import sys
import time

import orjson
import pyarrow.parquet as pq
import pytest

from curate.errors import InputError, StageConflict, StoreError
from curate.ingest import pipeline
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store, files
from tests.conftest import parquet_digests, write_json, write_jsonl


def ingest(inputs, store, workers=0, **options):
    return Ingestor(
        [str(p) for p in inputs], store, IngestOptions(**options), workers=workers
    ).run()


@pytest.fixture
def noisy_inputs(tmp_path):
    """One file per kind of bad input the issue lists, plus good records and duplicates."""
    d = tmp_path / "in"
    good = [
        {"instruction": f"question {i}", "input": "", "output": f"answer {i}"} for i in range(20)
    ]
    write_json(d / "alpaca.json", good + [good[0], good[1]])  # two exact duplicates
    write_jsonl(
        d / "chat.jsonl",
        [
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"},
                ]
            },
            {
                "messages": [{"role": "user", "content": "q"}, {"role": "wizard", "content": "a"}]
            },  # unknown role
            {
                "messages": [
                    {"role": "user", "content": ""},
                    {"role": "assistant", "content": "  "},
                ]
            },  # empty
            {"messages": [{"role": "user", "content": {"url": "q.png"}}]},  # non-string content
            {
                "messages": [
                    {"role": "user", "content": "x" * 500},
                    {"role": "assistant", "content": "y"},
                ]
            },  # too long
            {"messages": [{"content": "no role"}]},  # missing field
            ["not", "an", "object"],
            {
                "messages": [
                    {"role": "user", "content": "line\u2028separator"},
                    {"role": "assistant", "content": "ok"},
                ]
            },
        ],
        raw_lines=[b'{"messages": [unparsable'],
    )
    (d / "broken.json").write_bytes(
        b'[\n {"instruction": "a", "output": "b"},\n {"instruction": "c", "output": "d"},\n]'
    )
    (d / "notes.txt").write_text("not data")  # skipped by the directory walk
    return d


def test_every_record_is_accounted_for(noisy_inputs, tmp_path):
    result = ingest([noisy_inputs], tmp_path / "store", max_chars=300)
    by_file = {os.path.basename(f.file): f for f in result.files}
    assert all(f.balanced for f in result.files)
    chat = by_file["chat.jsonl"]
    assert chat.read == 9 and chat.ingested == 2
    assert dict(chat.rejected) == {
        "unknown_role": 1,
        "empty_content": 1,
        "non_string_content": 1,
        "too_long": 1,
        "missing_field": 1,
        "not_an_object": 1,
        "invalid_json": 1,
    }
    assert by_file["alpaca.json"].duplicates == 2 and by_file["alpaca.json"].ingested == 20
    assert by_file["broken.json"].ingested == 2 and dict(by_file["broken.json"].rejected) == {
        "invalid_json": 1
    }
    assert [os.path.basename(p) for p in result.skipped] == ["notes.txt"]

    store = Store.open(tmp_path / "store")
    rejects = store.rejects().to_pylist()
    assert len(rejects) == sum(f.rejected_total for f in result.files)
    bad_line = next(
        r
        for r in rejects
        if r["source"]["file"].endswith("chat.jsonl") and r["reason"] == "invalid_json"
    )
    assert (
        bad_line["source"]["line"] == 9
        and bad_line["column"]
        and bad_line["raw"] == '{"messages": [unparsable'
    )
    trailing = next(r for r in rejects if r["source"]["file"].endswith("broken.json"))
    assert trailing["source"]["line"] == 4 and "trailing comma" in trailing["detail"]
    too_long = next(r for r in rejects if r["reason"] == "too_long")
    assert (
        orjson.loads(too_long["raw"])["messages"][0]["content"] == "x" * 500
    )  # the raw record is kept
    dups = store.duplicates().to_pylist()
    assert [d["source"]["index"] for d in dups] == [20, 21]

    base = store.read()
    assert base.num_rows == 24
    u2028 = [
        m for row in base.column("messages").to_pylist() for m in row if "\u2028" in m["content"]
    ]
    assert u2028 == [{"role": "user", "content": "line\u2028separator"}]
    manifest = store.manifest("ingest")
    assert manifest["status"] == "complete"
    assert (
        manifest["counts"]["read"]
        == manifest["counts"]["ingested"]
        + manifest["counts"]["duplicates"]
        + manifest["counts"]["rejected"]
    )


def test_base_table_columns(tmp_path):
    write_jsonl(
        tmp_path / "x.jsonl",
        [
            {
                "conversations": [
                    {"from": "human", "value": "请问今天天气怎么样？"},
                    {"from": "gpt", "value": "今天天气很好。"},
                ],
                "chosen": "好",
                "rejected": "坏",
            },
            {"instruction": "Hello there, how are you?"},
        ],
    )
    ingest([tmp_path / "x.jsonl"], tmp_path / "s", format="sharegpt")
    (row,) = Store.open(tmp_path / "s").read().to_pylist()
    assert row["messages"][-1] == {"role": "assistant", "content": "好"} and row["rejected"] == "坏"
    assert row["lang"] == "zh-Hans" and row["script"] == "Hans"
    assert row["n_messages"] == 3 and row["n_turns"] == 1
    assert row["source"] == {"file": str(tmp_path / "x.jsonl"), "index": 0, "line": 1}
    assert row["format"] == "sharegpt"


def test_same_inputs_same_tables_and_ids(noisy_inputs, tmp_path):
    ingest([noisy_inputs], tmp_path / "a", shard_size=7, batch_size=3)
    ingest([noisy_inputs], tmp_path / "b", shard_size=7, batch_size=3)
    assert parquet_digests(tmp_path / "a") == parquet_digests(tmp_path / "b")
    assert Store.open(tmp_path / "a").num_shards == 5  # 34 items, 7 per shard


def test_worker_processes_give_identical_output(noisy_inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MIN_POOL_BATCH", 1)  # send even tiny batches to the pool
    ingest([noisy_inputs], tmp_path / "inline", shard_size=7, batch_size=3, workers=0)
    ingest([noisy_inputs], tmp_path / "pool", shard_size=7, batch_size=3, workers=2)
    assert parquet_digests(tmp_path / "inline") == parquet_digests(tmp_path / "pool")


class Crash(Exception):
    pass


@pytest.mark.parametrize("where", ["before_journal", "mid_shard"])
@pytest.mark.parametrize("after", [1, 3])
def test_killed_run_resumes_to_the_same_store(noisy_inputs, tmp_path, monkeypatch, where, after):
    options = {"shard_size": 7, "batch_size": 3}
    ingest([noisy_inputs], tmp_path / "clean", **options)
    calls = {"n": 0}
    if where == "before_journal":
        # The worst moment: shard files renamed into place, completion record not yet written.
        original = files.Journal.append

        def crashing_append(self, record):
            if "shard" in record:
                calls["n"] += 1
                if calls["n"] == after:
                    raise Crash
            return original(self, record)

        monkeypatch.setattr(files.Journal, "append", crashing_append)
    else:
        original = pipeline.ShardWriter.write

        def crashing_write(self, name, table):
            calls["n"] += 1
            if calls["n"] == 3 * after + 1:
                raise Crash
            return original(self, name, table)

        monkeypatch.setattr(pipeline.ShardWriter, "write", crashing_write)
    with pytest.raises(Crash):
        ingest([noisy_inputs], tmp_path / "crashed", **options)
    monkeypatch.undo()
    assert Store.open(tmp_path / "crashed").manifest("ingest") is None
    result = ingest([noisy_inputs], tmp_path / "crashed", **options)
    assert result.resumed_from_shard >= 0
    assert parquet_digests(tmp_path / "crashed") == parquet_digests(tmp_path / "clean")
    clean, resumed = Store.open(tmp_path / "clean"), Store.open(tmp_path / "crashed")
    assert resumed.manifest("ingest")["counts"] == clean.manifest("ingest")["counts"]
    assert not list((tmp_path / "crashed").rglob(f"*{files.TMP_MARK}*"))


def test_torn_journal_line_is_dropped_on_resume(noisy_inputs, tmp_path, monkeypatch):
    options = {"shard_size": 7, "batch_size": 3}
    ingest([noisy_inputs], tmp_path / "clean", **options)
    original = files.Journal.append
    calls = {"n": 0}

    def crashing_append(self, record):
        if "shard" in record:
            calls["n"] += 1
            if calls["n"] == 2:  # half a line reaches the disk, then the process dies
                with open(self.path, "ab") as fh:
                    fh.write(orjson.dumps(record)[:10])
                raise Crash
            if calls["n"] == 5:  # the resumed run dies too, after committing shards 1 and 2
                raise Crash
        return original(self, record)

    monkeypatch.setattr(files.Journal, "append", crashing_append)
    for _ in range(2):
        with pytest.raises(Crash):
            ingest([noisy_inputs], tmp_path / "torn", **options)
    monkeypatch.undo()
    result = ingest([noisy_inputs], tmp_path / "torn", **options)
    assert result.resumed_from_shard == 3  # the records after the torn line were kept
    assert parquet_digests(tmp_path / "torn") == parquet_digests(tmp_path / "clean")


def test_sigkill_midway_then_resume(shared_data, tmp_path):
    """A real kill -9 of `curate ingest`, then the same command again."""
    source = shared_data / "alpaca_52k_en"
    cmd = [
        sys.executable,
        "-m",
        "curate",
        "ingest",
        str(source),
        "--store",
        str(tmp_path / "killed"),
        "--shard-size",
        "4000",
        "--workers",
        "0",
        "--quiet",
    ]
    proc = subprocess.Popen(cmd)
    journal = tmp_path / "killed" / "journal" / "ingest.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 3:  # header + 2 shards
            proc.kill()
            break
        time.sleep(0.01)
    assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert (tmp_path / "killed" / "manifests" / "ingest.json").exists() is False
    subprocess.run(cmd, check=True)
    subprocess.run([*cmd[:6], str(tmp_path / "clean"), *cmd[7:]], check=True)
    assert parquet_digests(tmp_path / "killed") == parquet_digests(tmp_path / "clean")


def test_rerun_is_a_noop_and_other_inputs_conflict(noisy_inputs, tmp_path):
    store = tmp_path / "s"
    ingest([noisy_inputs], store)
    before = parquet_digests(store)
    assert ingest([noisy_inputs], store).already_done
    assert parquet_digests(store) == before
    with pytest.raises(StageConflict, match="--overwrite"):
        ingest([noisy_inputs / "alpaca.json"], store)
    with pytest.raises(StageConflict):
        ingest([noisy_inputs], store, max_chars=10)
    result = Ingestor(
        [str(noisy_inputs / "alpaca.json")], store, IngestOptions(), overwrite=True, workers=0
    ).run()
    assert result.totals.read == 22 and Store.open(store).num_rows() == 20


def test_store_refuses_foreign_directories_and_a_second_writer(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    write_jsonl(tmp_path / "x.jsonl", [{"instruction": "a", "output": "b"}])
    with pytest.raises(StoreError, match="not empty"):
        ingest([tmp_path / "x.jsonl"], tmp_path / "full")
    store = Store.create(tmp_path / "busy")
    with store.lock(), pytest.raises(StoreError, match="in use"):
        ingest([tmp_path / "x.jsonl"], tmp_path / "busy")


def test_missing_input_is_a_user_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        Ingestor([str(tmp_path / "nope.json")], tmp_path / "s", IngestOptions())
    with pytest.raises(InputError, match="no file matches"):
        Ingestor([str(tmp_path / "*.jsonl")], tmp_path / "s", IngestOptions())


def test_field_map_for_unusual_schemas(tmp_path):
    write_jsonl(
        tmp_path / "odd.jsonl",
        [
            {"input_values": {"q": "What is 2+2?"}, "solution": "4"},
            {"input_values": {"q": "Capital of France?"}, "solution": "Paris"},
        ],
    )
    result = ingest(
        [tmp_path / "odd.jsonl"],
        tmp_path / "s",
        field_map={"instruction": "input_values.q", "output": "solution"},
    )
    assert result.totals.ingested == 2
    rows = Store.open(tmp_path / "s").read(columns=["messages"]).column("messages").to_pylist()
    assert rows[0] == [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
    ]


def test_shards_are_bounded_by_shard_size(tmp_path):
    write_jsonl(tmp_path / "x.jsonl", [{"instruction": f"q{i}", "output": "a"} for i in range(25)])
    ingest([tmp_path / "x.jsonl"], tmp_path / "s", shard_size=10, batch_size=4)
    store = Store.open(tmp_path / "s")
    assert [pq.ParquetFile(p).metadata.num_rows for p in store.base_shards()] == [10, 10, 5]
