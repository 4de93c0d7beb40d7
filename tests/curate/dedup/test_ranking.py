import numpy as np
import pyarrow as pa
import pytest

from curate.dedup.ranking import keep_order, rule_keys
from curate.errors import CurateError


class FakeStore:
    def sidecars(self):
        return []

    def manifest(self, name):
        return None


def base(ids, flags, turns, chars, **extra):
    return pa.table(
        {
            "id": ids,
            "flags": pa.array(flags, pa.list_(pa.string())),
            "n_turns": pa.array(turns, pa.int32()),
            "n_chars": pa.array(chars, pa.int64()),
            **extra,
        }
    )


def test_rule_prefers_clean_then_longer_conversations_then_smaller_id():
    table = base(
        ["d", "c", "b", "a"],
        [["placeholder"], [], [], []],
        [1, 1, 2, 1],
        [900, 100, 50, 100],
    )
    order, rule = keep_order(FakeStore(), table, "auto")
    assert rule.startswith("rule")
    # b: 2 turns; then a and c tie on everything but the id; d has a quality flag.
    assert [table.column("id")[i].as_py() for i in order] == ["b", "a", "c", "d"]
    assert len(rule_keys(table)) == 4


def test_score_column_then_rule_and_missing_scores_last():
    table = base(
        ["a", "b", "c"], [[], [], []], [1, 1, 1], [10, 20, 30], score=pa.array([0.5, None, 0.9])
    )
    order, rule = keep_order(FakeStore(), table, "score")
    assert order.tolist() == [2, 0, 1] and "higher is better" in rule
    order, _ = keep_order(FakeStore(), table, "-score")
    assert order.tolist() == [0, 2, 1]


def test_bad_specs_are_user_errors():
    table = base(["a"], [[]], [1], [1], lang=pa.array(["en"]))
    with pytest.raises(CurateError, match="no such base column"):
        keep_order(FakeStore(), table, "nope")
    with pytest.raises(CurateError, match="not numeric"):
        keep_order(FakeStore(), table, "lang")
    with pytest.raises(CurateError, match="no sidecar"):
        keep_order(FakeStore(), table, "score.x:x_score")
    assert isinstance(keep_order(FakeStore(), table, "rule")[0], np.ndarray)
