"""A finished score sidecar from values, as a scorer would write it: for tests and benchmarks
that need scores without running a model."""

from __future__ import annotations

import pyarrow as pa

from curate.store import SidecarWriter, Store


def write_scores(
    store: Store, key: str, values, overwrite: bool = False, params: dict | None = None
) -> None:
    """A finished score sidecar ``score.<key>`` with ``<key>_score`` = ``values`` (base order;
    None: a failed score), as a scorer would write it (other ``params``: another build)."""
    values = pa.array(values, pa.float64())
    writer = SidecarWriter(store, f"score.{key}", params=params or {"v": 1}, overwrite=overwrite)
    offsets = [0]
    for index in range(store.num_shards):
        offsets.append(offsets[-1] + store.shard_rows(index))
    for index in writer.pending():
        shard = store.read_shard(index, columns=["id"])
        part = values[offsets[index] : offsets[index + 1]]
        writer.write(
            index,
            pa.table(
                {
                    "id": shard.column("id"),
                    f"{key}_score": part,
                    f"{key}_status": pa.array(["ok"] * shard.num_rows),
                }
            ),
        )
    writer.finish()
