"""How dedup's default ``--cross-lingual-threshold`` is chosen from measured curves.

``benchmarks/bench_crosslingual.py`` measures, on every translation-pair set in
``../shared/data``, how many partner pairs (translations of each other) and how many
false merges (any other cross-language pair) reach each threshold of :data:`GRID`;
:func:`choose_threshold` turns those counts into the default. Pure NumPy, no I/O:
the rule is tested on its own (``tests/curate/dedup/test_threshold_choice.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Thresholds the curves are measured at: 0.600, 0.625, ..., 0.900.
GRID = np.round(np.arange(0.6, 0.9 + 1e-9, 0.025), 3)

#: The precision every labelled set must keep (see :func:`choose_threshold`).
MIN_PRECISION = 0.99


def precision_of(found: np.ndarray, false: np.ndarray) -> np.ndarray:
    """Partner pairs found / all pairs found; 1.0 where nothing is found (nothing merged wrongly)."""
    found = np.asarray(found, dtype=np.float64)
    total = found + np.asarray(false, dtype=np.float64)
    return np.divide(found, total, out=np.ones_like(total), where=total > 0)


def f1_of(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    precision, recall = np.asarray(precision, float), np.asarray(recall, float)
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)


def choose_threshold(
    grid: np.ndarray,
    precision: Mapping[str, np.ndarray],
    min_precision: float = MIN_PRECISION,
) -> float:
    """The lowest threshold of ``grid`` at which every set keeps ``min_precision``.

    ``precision[name][k]`` is set ``name``'s precision at ``grid[k]``. A threshold
    qualifies when every set's precision is >= ``min_precision`` there *and at every
    higher threshold of the grid* (so a lucky dip in false merges below a bad stretch
    is not picked). The lowest qualifying threshold has the highest recall, since
    recall only grows as the threshold falls. Raises ``ValueError`` when even the
    highest threshold of the grid does not qualify, or when there is nothing to judge.
    """
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or len(grid) == 0 or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be a non-empty increasing 1-D array")
    if not precision:
        raise ValueError("no precision curves to choose from")
    ok = np.ones(len(grid), dtype=bool)
    for name, values in precision.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != grid.shape:
            raise ValueError(
                f"{name}: {values.shape[0]} precision values for {len(grid)} thresholds"
            )
        ok &= values >= min_precision
    # qualifies = ok here and everywhere above: a suffix of the grid
    above = np.logical_and.accumulate(ok[::-1])[::-1]
    if not above[-1]:
        raise ValueError(
            f"no threshold up to {grid[-1]} keeps precision >= {min_precision} on every set"
        )
    return float(grid[np.argmax(above)])
