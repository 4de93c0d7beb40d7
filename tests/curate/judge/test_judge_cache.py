"""The judge's call cache: keys, parts written whole, nothing paid for twice after a kill."""

import pytest

from curate.judge.cache import Call, CallCache, call_key

JUDGE = {"model": "tiny-judge", "revision": "abc123"}


def test_the_key_depends_on_everything_that_decides_the_reply():
    base = call_key(JUDGE, "T {a}", ["x", "y"])
    assert base == call_key(dict(reversed(list(JUDGE.items()))), "T {a}", ("x", "y"))
    others = {
        call_key({**JUDGE, "revision": "def"}, "T {a}", ["x", "y"]),
        call_key(JUDGE, "T2 {a}", ["x", "y"]),
        call_key(JUDGE, "T {a}", ["y", "x"]),  # the other order is another call
        call_key(JUDGE, "T {a}", ["x", "y"], attempt=1),  # the sampled retry
    }
    assert base not in others and len(others) == 4


def calls(n, start=0):
    return [
        Call(
            call_key(JUDGE, "T", [f"c{i}"]), (f"c{i}",), 0, f"rating [[{i % 10 + 1}]]", None, 10, 5
        )
        for i in range(start, start + n)
    ]


def test_chunks_are_parts_and_a_new_handle_reads_them_back(tmp_path):
    cache = CallCache(tmp_path, "tiny-judge")
    assert len(cache) == 0 and cache.add([]) is None
    first = cache.add(calls(3))
    second = cache.add(calls(4, start=2))  # two known already: only c3..c5 are new
    assert first.name == "part-00000.parquet" and second.name == "part-00001.parquet"
    again = CallCache(tmp_path, "tiny-judge")
    assert len(again) == 6
    call = again.get(call_key(JUDGE, "T", ["c4"]))
    assert call.raw == "rating [[5]]" and call.ids == ("c4",) and call.prompt_tokens == 10
    keys = [c.key for c in calls(8)]
    assert again.missing(keys + keys[:2]) == keys[6:]
    assert cache.add(calls(6)) is None  # everything known: nothing written


def test_a_killed_write_leaves_no_part_and_the_calls_are_made_again(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    cache = CallCache(tmp_path, "j")
    cache.add(calls(2))
    original = pq.write_table

    def killed(table, where, **kwargs):
        original(table, where, **kwargs)
        raise KeyboardInterrupt  # killed after writing the temporary file, before the move

    monkeypatch.setattr(pq, "write_table", killed)
    with pytest.raises(KeyboardInterrupt):
        cache.add(calls(3, start=2))
    monkeypatch.setattr(pq, "write_table", original)
    assert sorted(p.name for p in cache.directory.iterdir()) == ["part-00000.parquet"]
    resumed = CallCache(tmp_path, "j")
    assert len(resumed) == 2  # the unfinished chunk is not recorded ...
    assert resumed.missing(c.key for c in calls(5)) == [c.key for c in calls(3, start=2)]
    resumed.add(calls(3, start=2))  # ... and is made again, once
    assert len(CallCache(tmp_path, "j")) == 5


def test_judge_names_stay_inside_the_store(tmp_path):
    for bad in ("", "../x", ".hidden", "a/b"):
        with pytest.raises(ValueError):
            CallCache(tmp_path, bad)
