"""The turns of a messages column, cut out in Arrow."""

import pyarrow as pa

from curate.store.turns import turns_of

ROWS = [
    [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"},
     {"role": "assistant", "content": "hi"}, {"role": "user", "content": "bye"}],
    [],
    [{"role": "assistant", "content": None}, {"role": None, "content": "orphan"}],
    [{"role": "user", "content": "только это"}],
]  # fmt: skip


def test_turns_are_flattened_with_their_rows_and_nulls_as_empty():
    turns = turns_of(pa.array(ROWS))
    assert turns.rows == 4
    assert turns.row.tolist() == [0, 0, 0, 0, 2, 2, 3]
    assert turns.content.to_pylist()[4:6] == ["", "orphan"]
    assert turns.role.to_pylist()[4:6] == ["assistant", ""]


def test_user_turns_cut_and_joined_per_conversation():
    users = turns_of(pa.array(ROWS)).with_role("user").cut(5)
    assert users.row.tolist() == [0, 0, 3]
    assert users.joined(" | ").to_pylist() == ["hello | bye", "", "", "толь"[:4] + "к"]


def test_a_slice_and_a_chunked_column_keep_their_own_rows():
    sliced = turns_of(pa.array(ROWS).slice(2, 2)).with_role("user")
    assert sliced.rows == 2 and sliced.row.tolist() == [1]
    assert sliced.joined().to_pylist() == ["", "только это"]
    chunked = turns_of(pa.chunked_array([pa.array(ROWS[:2]), pa.array(ROWS[2:])]))
    assert chunked.row.tolist() == turns_of(pa.array(ROWS)).row.tolist()


def test_where_keeps_turns_in_order():
    turns = turns_of(pa.array(ROWS))
    kept = turns.where(~turns.is_role("system"))
    assert kept.content.to_pylist()[:3] == ["hello there", "hi", "bye"]
    assert kept.is_role("assistant").tolist() == [False, True, False, True, False, False]
