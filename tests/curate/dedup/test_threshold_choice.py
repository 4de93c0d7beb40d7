"""The rule that picks dedup's default --cross-lingual-threshold, on synthetic curves.

The real curves come from ``benchmarks/bench_crosslingual.py`` (a store of ~93,000
conversations: embedding it takes minutes on 2 cores, so the shipped default is checked
by ``python benchmarks/bench_crosslingual.py --check``, not here).
"""

import importlib.util
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from curate.dedup import DEFAULT_CROSS_LINGUAL_THRESHOLD, DEFAULT_THRESHOLD
from curate.dedup.calibration import GRID, choose_threshold, f1_of, precision_of
from curate.dedup.languages import CrossLingual

REPO = Path(__file__).resolve().parents[3]
BENCH = REPO / "benchmarks" / "bench_crosslingual.py"


@cache
def bench_module():
    """The benchmark script, imported by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_crosslingual", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_grid():
    assert GRID[0] == 0.6 and GRID[-1] == 0.9 and len(GRID) == 13
    assert np.allclose(np.diff(GRID), 0.025)
    values = CrossLingual.parse(DEFAULT_CROSS_LINGUAL_THRESHOLD).values()
    assert set(values) <= set(GRID.tolist()) and max(values) <= DEFAULT_THRESHOLD


def test_precision_and_f1_from_counts():
    found = np.array([10, 5, 0])
    false = np.array([10, 0, 0])
    assert precision_of(found, false).tolist() == [0.5, 1.0, 1.0]  # nothing found: no false merge
    assert f1_of(np.array([0.5, 1.0, 1.0]), np.array([1.0, 0.5, 0.0])).tolist() == pytest.approx(
        [2 / 3, 2 / 3, 0.0]
    )


def test_lowest_threshold_where_every_set_keeps_the_floor():
    grid = np.array([0.6, 0.7, 0.8, 0.9])
    precision = {
        "a": np.array([0.90, 0.995, 1.0, 1.0]),  # fine from 0.7
        "b": np.array([0.50, 0.98, 0.991, 1.0]),  # fine from 0.8: the binding set
    }
    assert choose_threshold(grid, precision, 0.99) == 0.8
    assert choose_threshold(grid, {"a": precision["a"]}, 0.99) == 0.7
    assert choose_threshold(grid, precision, 0.95) == 0.7
    assert choose_threshold(grid, precision, 0.0) == 0.6


def test_an_isolated_good_point_below_a_bad_stretch_is_not_chosen():
    grid = np.array([0.6, 0.7, 0.8, 0.9])
    precision = {"a": np.array([0.995, 0.9, 1.0, 1.0])}  # 0.6 is good by luck only
    assert choose_threshold(grid, precision, 0.99) == 0.8


def test_the_floor_is_inclusive():
    grid = np.array([0.6, 0.7])
    assert choose_threshold(grid, {"a": np.array([0.99, 0.99])}, 0.99) == 0.6


def test_no_qualifying_threshold_or_bad_input_is_an_error():
    grid = np.array([0.6, 0.7])
    with pytest.raises(ValueError, match="no threshold up to 0.7"):
        choose_threshold(grid, {"a": np.array([1.0, 0.9])}, 0.99)
    with pytest.raises(ValueError, match="precision values"):
        choose_threshold(grid, {"a": np.array([1.0])}, 0.99)
    with pytest.raises(ValueError, match="increasing"):
        choose_threshold(grid[::-1], {"a": np.array([1.0, 1.0])}, 0.99)
    with pytest.raises(ValueError, match="no precision curves"):
        choose_threshold(grid, {}, 0.99)


def test_curves_from_similarities_feed_the_rule():
    """Synthetic similarities: partners around 0.8, false candidates spread up to 0.72."""
    bench = bench_module()
    rng = np.random.default_rng(0)
    partners = rng.uniform(0.6, 1.0, 200)
    false = np.concatenate([rng.uniform(0.3, 0.7, 5000), [0.71, 0.72]])
    found = bench.at_or_above(partners, GRID)
    wrong = bench.at_or_above(false, GRID)
    assert found.tolist() == [(partners >= np.float32(t)).sum() for t in GRID]
    assert wrong[GRID.tolist().index(0.725)] == 0 and wrong[GRID.tolist().index(0.7)] == 2
    precision = precision_of(found, wrong)
    # 0.7 lets the two false pairs in among ~150 found: precision 0.987 < 0.99
    assert choose_threshold(GRID, {"set": precision}) == 0.725


def test_alignment_keeps_the_order_and_skips_on_both_sides():
    """A translated chunk that leaves originals 3 and 7 out and adds one record of its own."""
    bench = bench_module()
    rng = np.random.default_rng(1)
    originals = [0, 1, 2, 4, 5, None, 6, 8, 9, 10, 11]  # None: no original
    sims = rng.uniform(0.0, 0.3, (len(originals), 12))
    for i, j in enumerate(originals):
        if j is not None:
            sims[i, j] = 0.8
    sims[4, 5] = 0.35  # a poor translation: the order between its neighbours places it
    sims[4, 0] = 0.9  # and a stray high similarity out of order does not move it
    expected = [-1 if j is None else j for j in originals]
    assert bench.align_monotone(sims).tolist() == expected
    # a chunk in order and complete aligns one to one
    assert bench.align_monotone(np.eye(5) * 0.9 + 0.05).tolist() == [0, 1, 2, 3, 4]


def test_the_check_compares_every_measured_pair_with_the_shipped_default():
    bench = bench_module()
    assert bench.split_pair("zh-Hans-zh-Hant") == ("zh-Hans", "zh-Hant")
    assert bench.split_pair("ru-zh-Hant") == ("ru", "zh-Hant")
    assert bench.split_pair("ru-en") == ("ru", "en")
    shipped = CrossLingual.parse(DEFAULT_CROSS_LINGUAL_THRESHOLD)
    measured = {
        "ru-en": shipped.threshold("ru", "en"),
        "zh-Hans-zh-Hant": shipped.threshold("zh-Hans", "zh-Hant"),
    }
    agree = bench.Choice(shipped.default, [], measured, 0.775)
    assert bench.shipped_mismatches(agree) == []
    off = bench.Choice(shipped.default, [], {**measured, "ru-en": 0.7}, 0.775)
    assert bench.shipped_mismatches(off) == [f"ru-en=0.7 (shipped {measured['ru-en']})"]
    assert bench.shipped_mismatches(bench.Choice(0.9, [], measured, 0.775))[0].startswith("*=0.9")
