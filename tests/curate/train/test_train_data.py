"""Reading DATA for curate train: selection and pairs folders, single files, refusals."""

from __future__ import annotations

import orjson
import pytest

from curate.errors import InputError
from curate.train.data import read_data
from tests.curate.train.conftest import CONVERSATIONS, pair_rows, write_pairs, write_selection


def test_a_selection_folder_gives_only_the_messages_column(tmp_path):
    data = read_data(write_selection(tmp_path / "sel", repeat=2), "sft")
    assert data.kind == "selection" and data.files[0].name == "subset.parquet"
    assert data.rows == [{"messages": c} for c in CONVERSATIONS * 2]
    assert data.ids[:2] == ["c000", "c001"]
    assert data.describe()["rows"] == 6 and len(data.fingerprint) == 32


def test_parquet_and_jsonl_of_the_same_rows_have_one_fingerprint(tmp_path):
    folder = write_selection(tmp_path / "sel", repeat=2)
    from_parquet = read_data(folder, "sft")
    (folder / "subset.parquet").unlink()
    from_jsonl = read_data(folder, "sft")
    assert from_jsonl.files[0].name == "subset.jsonl"
    assert from_jsonl.rows == from_parquet.rows
    assert from_jsonl.fingerprint == from_parquet.fingerprint
    # another order is other data: the trainer sees the rows in file order
    lines = (folder / "subset.jsonl").read_bytes().splitlines()
    (folder / "subset.jsonl").write_bytes(b"\n".join(lines[::-1]) + b"\n")
    assert read_data(folder, "sft").fingerprint != from_parquet.fingerprint


def test_a_pairs_folder_hides_the_metadata_columns(tmp_path):
    folder = write_pairs(tmp_path / "pairs", repeat=1)
    dpo = read_data(folder, "dpo")
    assert dpo.kind == "pairs" and dpo.files[0].name == "pairs.parquet"
    assert all(set(row) == {"prompt", "chosen", "rejected"} for row in dpo.rows)
    first = pair_rows(1)[0]
    assert dpo.rows[0] == {k: first[k] for k in ("prompt", "chosen", "rejected")}
    sft = read_data(folder, "sft")  # SFT on pairs: prompt + chosen
    assert sft.rows[0] == {"messages": first["prompt"] + first["chosen"]}
    assert sft.fingerprint != dpo.fingerprint


def test_single_files_of_either_shape(tmp_path):
    pairs = tmp_path / "p.jsonl"
    pairs.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in pair_rows(1)))
    assert read_data(pairs, "dpo").kind == "pairs"
    sharegpt = tmp_path / "s.jsonl"
    sharegpt.write_bytes(
        orjson.dumps(
            {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}
        )
        + b"\n"
    )
    assert read_data(sharegpt, "sft").rows == [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    ]
    parquet = write_selection(tmp_path / "sel", repeat=1) / "subset.parquet"
    assert len(read_data(parquet, "sft").rows) == 3


def test_refusals(tmp_path):
    selection = write_selection(tmp_path / "sel", repeat=1)
    with pytest.raises(InputError, match="--method dpo needs preference pairs.*curate pairs"):
        read_data(selection, "dpo")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n")
    with pytest.raises(InputError, match="no rows"):
        read_data(empty, "sft")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match="neither a selection folder"):
        read_data(tmp_path / "nothing", "sft")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(orjson.dumps({"messages": [{"role": "tool", "content": "x"}]}) + b"\n")
    with pytest.raises(InputError, match="line 1.*role 'tool'"):
        read_data(bad, "sft")


def test_conversations_without_an_assistant_turn_are_left_out_and_counted(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"messages": CONVERSATIONS[0]}, {"messages": [{"role": "user", "content": "hi?"}]}]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    data = read_data(path, "sft")
    assert data.rows == [rows[0]] and data.skipped == {"no_assistant": 1}
    path.write_bytes(orjson.dumps(rows[1]) + b"\n")
    with pytest.raises(InputError, match="no rows to train on.*1 without an assistant"):
        read_data(path, "sft")
