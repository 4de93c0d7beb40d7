import gzip
import random

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.ingest import readers
from curate.ingest.readers import open_reader


def read(path):
    with open_reader(path) as reader:
        return reader.layout, list(reader)


def values(items):
    return [it.value for it in items if it.error is None]


def test_json_array_fast_path(tmp_path):
    recs = [{"a": i, "s": 'tricky "},{" inside'} for i in range(100)]
    (tmp_path / "x.json").write_bytes(orjson.dumps(recs, option=orjson.OPT_INDENT_2))
    layout, items = read(tmp_path / "x.json")
    assert layout == "json-array"
    assert values(items) == recs
    assert [it.index for it in items] == list(range(100))


@pytest.mark.parametrize("block", [7, 64, 1000])
def test_json_array_across_small_blocks(tmp_path, monkeypatch, block):
    monkeypatch.setattr(readers, "BLOCK", block)
    rng = random.Random(block)
    recs = [
        {"i": i, "s": "x" * rng.randint(0, 300) + '\\"},{[', "n": [1, {"k": "]"}]}
        for i in range(300)
    ]
    (tmp_path / "x.json").write_bytes(orjson.dumps(recs, option=orjson.OPT_INDENT_2))
    assert values(read(tmp_path / "x.json")[1]) == recs


def test_trailing_comma_costs_one_item(tmp_path):
    (tmp_path / "x.json").write_bytes(b'[\n  {"a": 1},\n  {"b": 2},\n]\n')
    _, items = read(tmp_path / "x.json")
    assert values(items) == [{"a": 1}, {"b": 2}]
    (err,) = [it for it in items if it.error]
    assert "trailing comma" in err.error and err.line == 4 and err.column == 1


def test_broken_element_is_isolated_with_line_and_column(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BLOCK", 50)
    recs = [{"i": i} for i in range(20)]
    text = orjson.dumps(recs, option=orjson.OPT_INDENT_2).replace(b'"i": 7', b'"i": 7x', 1)
    (tmp_path / "x.json").write_bytes(text)
    _, items = read(tmp_path / "x.json")
    assert values(items) == [r for r in recs if r["i"] != 7]
    (err,) = [it for it in items if it.error]
    assert err.index == 7
    line_text = text.split(b"\n")[err.line - 1]
    assert line_text[err.column - 1 : err.column] == b"x"


def test_unterminated_array_and_trailing_garbage(tmp_path):
    (tmp_path / "a.json").write_bytes(b'[{"a": 1}, {"b": "abc')
    _, items = read(tmp_path / "a.json")
    assert values(items) == [{"a": 1}] and "unterminated string" in items[1].error
    (tmp_path / "b.json").write_bytes(b'[{"a": 1}] junk')
    _, items = read(tmp_path / "b.json")
    assert values(items) == [{"a": 1}] and "after the JSON array" in items[1].error


def test_empty_and_scalar_arrays(tmp_path):
    (tmp_path / "e.json").write_bytes(b"  [ ]  ")
    assert read(tmp_path / "e.json")[1] == []
    (tmp_path / "s.json").write_bytes(b'[1, "two", null, [3]]')
    assert [it.value for it in read(tmp_path / "s.json")[1]] == [1, "two", None, [3]]


def test_jsonl_u2028_is_not_a_line_break_and_crlf_is(tmp_path):
    data = '{"a": "x\u2028y\u2029z"}\r\n\r\n{"b": 2}\r\n{bad json\r\n'.encode()
    (tmp_path / "x.json").write_bytes(data)  # JSON Lines saved as .json
    layout, items = read(tmp_path / "x.json")
    assert layout == "jsonl"
    assert values(items) == [{"a": "x\u2028y\u2029z"}, {"b": 2}]
    bad = items[2]
    assert bad.error and bad.line == 4 and bad.column is not None and bad.raw == b"{bad json"


def test_jsonl_whose_first_line_is_broken(tmp_path):
    (tmp_path / "x.jsonl").write_bytes(b'{"a": \n{"b": 1}\n{"c": 2}\n')
    layout, items = read(tmp_path / "x.jsonl")
    assert layout == "jsonl" and values(items) == [{"b": 1}, {"c": 2}] and items[0].error


def test_gzip_is_sniffed_not_named(tmp_path):
    (tmp_path / "x.data").write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    layout, items = read(tmp_path / "x.data")
    assert layout == "jsonl" and values(items) == [{"a": 1}, {"a": 2}]


def test_document_unwrapping(tmp_path):
    squad = {
        "version": "1",
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": "C",
                        "qas": [
                            {"id": "q1", "question": "Q1", "answers": [{"text": "A1"}]},
                            {"id": "q2", "question": "Q2", "answers": [{"text": "A2"}]},
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "squad.json").write_bytes(orjson.dumps(squad, option=orjson.OPT_INDENT_2))
    layout, items = read(tmp_path / "squad.json")
    assert layout == "json-document"
    assert [v["question"] for v in values(items)] == ["Q1", "Q2"]
    (tmp_path / "wrap.json").write_bytes(orjson.dumps({"meta": 1, "items": [{"instruction": "a"}]}))
    assert values(read(tmp_path / "wrap.json")[1]) == [{"instruction": "a"}]
    for single in (
        {"messages": [{"role": "user", "content": "hi"}]},
        {
            "question_id": 1,
            "choices": [{"index": 0, "turns": ["a"]}],
        },  # one list field is not a wrapper
    ):
        (tmp_path / "one.json").write_bytes(orjson.dumps(single, option=orjson.OPT_INDENT_2))
        assert values(read(tmp_path / "one.json")[1]) == [single]


def test_invalid_document_is_one_error_with_position(tmp_path):
    (tmp_path / "x.json").write_bytes(b'{\n  "a": 1,\n  "b": }\n')
    _, items = read(tmp_path / "x.json")
    assert len(items) == 1 and items[0].line == 3 and items[0].error


def test_not_json_at_all(tmp_path):
    (tmp_path / "x.json").write_bytes(b"hello, world")
    layout, items = read(tmp_path / "x.json")
    assert layout == "unreadable" and len(items) == 1 and items[0].raw == b"hello, world"


def test_parquet(tmp_path):
    table = pa.table(
        {"messages": [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]]}
    )
    pq.write_table(table, tmp_path / "x.parquet")
    layout, items = read(tmp_path / "x.parquet")
    assert layout == "parquet" and values(items) == table.to_pylist()


def test_reader_matches_orjson_on_random_arrays(tmp_path, monkeypatch):
    """Property: for any valid array, the streaming reader gives what orjson.loads gives."""
    monkeypatch.setattr(readers, "BLOCK", 97)
    rng = random.Random(0)
    alphabet = 'ab{}[],:"\\ \n\u2028中'

    def value(depth=0):
        kind = rng.randint(0, 5 if depth < 3 else 2)
        if kind == 0:
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        if kind == 1:
            return rng.randint(-5, 5)
        if kind == 2:
            return None
        if kind in (3, 4):
            return {f"k{i}": value(depth + 1) for i in range(rng.randint(0, 3))}
        return [value(depth + 1) for _ in range(rng.randint(0, 3))]

    for trial in range(30):
        arr = [value() for _ in range(rng.randint(0, 40))]
        path = tmp_path / f"r{trial}.json"
        path.write_bytes(orjson.dumps(arr, option=orjson.OPT_INDENT_2 if trial % 2 else 0))
        assert [it.value for it in read(path)[1]] == arr


def test_truncated_gzip_and_corrupt_parquet_become_error_items(tmp_path):
    data = gzip.compress(b"".join(orjson.dumps({"i": i}) + b"\n" for i in range(30000)))
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    with open_reader(tmp_path / "cut.jsonl.gz") as reader:
        items = list(reader.records())
    assert items[-1].error and "read error after" in items[-1].error
    assert [it.value for it in items[:-1]] == [{"i": i} for i in range(len(items) - 1)]
    (tmp_path / "bad.parquet").write_bytes(b"PAR1" + b"\x00" * 100)
    with open_reader(tmp_path / "bad.parquet") as reader:
        (item,) = list(reader.records())
    assert reader.layout == "unreadable" and "cannot read the file" in item.error
