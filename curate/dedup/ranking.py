"""Which member of a near-duplicate group is kept: the best by ``--keep-by``.

``--keep-by`` takes:

``auto`` (default)  the score stage's result when there is one: the first of the
                    sidecars named ``score.<scorer>`` (``score.armorm`` preferred),
                    its column ``<scorer>_score``; otherwise the ``rule`` below
``rule``            the deterministic fallback: fewer quality flags first, then
                    more user turns, then more characters, then the smaller id
``COLUMN``          a numeric column of the base table, higher is better; a field
                    of a struct column by ``COLUMN.FIELD`` (``-source.index``: the
                    first record of a file, as many dedup scripts keep)
``SIDECAR:COLUMN``  a numeric column of a sidecar, higher is better
``-...``            a leading minus: lower is better

Rows without a value (a failed score) come after all rows with one, then follow
the fallback rule. Ties always end with the id, so the order never depends on
how the input was laid out.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.errors import CurateError
from curate.flags import QUALITY_FLAGS
from curate.store import Store
from curate.store.schema import BASE

PREFERRED_SCORES = ("score.armorm",)


def _flag_counts(flags: pa.ChunkedArray) -> np.ndarray:
    flags = flags.combine_chunks()
    hit = pc.is_in(flags.flatten(), pa.array(QUALITY_FLAGS))
    parents = pc.list_parent_indices(flags).to_numpy()
    counts = np.zeros(len(flags), dtype=np.int64)
    np.add.at(counts, parents[hit.to_numpy(zero_copy_only=False)], 1)
    return counts


def rule_keys(base: pa.Table) -> list[np.ndarray]:
    """Sort keys of the fallback rule, most important first (ascending = better)."""
    ids = base.column("id").to_numpy(zero_copy_only=False)
    id_rank = np.empty(len(ids), dtype=np.int64)
    id_rank[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    return [
        _flag_counts(base.column("flags")),
        -base.column("n_turns").to_numpy().astype(np.int64),
        -base.column("n_chars").to_numpy().astype(np.int64),
        id_rank,
    ]


def find_auto_score(store: Store) -> str | None:
    from curate.score.stage import score_columns

    columns = score_columns(store)
    for name in (*PREFERRED_SCORES, *sorted(columns)):
        if name in columns:
            return f"{name}:{columns[name]}"
    return None


def score_values(store: Store, base: pa.Table, spec: str) -> np.ndarray:
    """Values of a ``COLUMN`` or ``SIDECAR:COLUMN`` spec aligned with ``base`` (NaN = missing)."""
    if ":" in spec:
        sidecar, column = spec.split(":", 1)
        if sidecar not in store.sidecars():
            raise CurateError(
                f"--keep-by {spec}: no sidecar {sidecar!r} in the store (have: {', '.join(store.sidecars()) or 'none'})"
            )
        table = store.read_sidecar(sidecar)
        if column not in table.column_names:
            raise CurateError(
                f"--keep-by {spec}: sidecar {sidecar!r} has no column {column!r} (has: {', '.join(table.column_names)})"
            )
        table = table.select(["id", column])
        if not table.column("id").equals(base.column("id")):
            from curate.store import join_by_id

            table = join_by_id(base.select(["id"]), table, sidecar)
        values = table.column(column)
    else:
        column, _, field = spec.partition(".")
        if column in base.column_names:
            values = base.column(column)
        elif column in BASE.names:
            values = store.read(columns=[column]).column(column)
        else:
            raise CurateError(
                f"--keep-by {spec}: no such base column (use SIDECAR:COLUMN for a sidecar's)"
            )
        if field:
            if not pa.types.is_struct(values.type):
                raise CurateError(f"--keep-by {spec}: column {column!r} has no fields")
            values = pc.struct_field(values, field)
    if not (
        pa.types.is_integer(values.type)
        or pa.types.is_floating(values.type)
        or pa.types.is_boolean(values.type)
    ):
        raise CurateError(f"--keep-by {spec}: column of type {values.type} is not numeric")
    return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)


RULE = "rule: fewer quality flags, more turns, more characters, smaller id"


def keep_rule(spec: str) -> str:
    """In words: the order a resolved ``--keep-by`` spec (not ``auto``) keeps members in."""
    if spec == "rule":
        return RULE
    better = "lower" if spec.startswith("-") else "higher"
    return f"{spec.lstrip('-')} ({better} is better), then the {RULE}"


def keep_order(store: Store, base: pa.Table, keep_by: str = "auto") -> tuple[np.ndarray, str]:
    """Row indices from best to worst, and a description of the rule used."""
    spec = keep_by
    if spec == "auto":
        spec = find_auto_score(store) or "rule"
    keys = rule_keys(base)
    if spec != "rule":
        descending = not spec.startswith("-")
        values = score_values(store, base, spec.lstrip("-"))
        missing = np.isnan(values)
        primary = np.where(missing, 0.0, -values if descending else values)
        keys = [missing.astype(np.int8), primary, *keys]
    return np.lexsort(keys[::-1]), keep_rule(spec)
