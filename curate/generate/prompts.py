"""The prompts of a store: what ``curate generate`` samples answers for.

One row per prompt group (``prompt_id``), in the source store's base order of its
first row: the conversation minus its final assistant turn, or a prompt-only row
as it is. A group answered by seven models is one prompt, sampled once.

They are kept as a store of their own inside the store that generate writes
(``NEW/generate/prompts``), so that the sampling runs on the stage runner like any
other per-shard stage: resumable chunk by chunk, locked, fingerprinted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.ids import prompt_end
from curate.store import Store, schema
from curate.store.manifest import environment, fingerprint, now_iso
from curate.store.sidecar import write_table_atomic
from curate.store.store import list_shards, shard_name

STAGE = "prompts"
#: inside the store generate writes (an entry of the store, like ``judge/``)
PROMPTS_DIR = ("generate", "prompts")
#: why a source row gave no prompt of its own
SAME_PROMPT, NO_USER_TURN, OVER_LIMIT = "same_prompt", "no_user_turn", "over_max_prompts"

SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # the prompt_id (one row per prompt)
        ("prompt_id", pa.string()),
        ("messages", schema.MESSAGES),  # the prompt: ends with a user turn
        ("parent", pa.string()),  # the first source row of the prompt group
        ("parent_index", pa.int64()),  # its position in the source store's base table
        ("lang_user", pa.string()),
    ]
)


def prompts_root(into: Store) -> Path:
    return into.root.joinpath(*PROMPTS_DIR)


def prompt_fingerprint(source: Store, max_prompts: int | None) -> str:
    """What the prompt table is built from: the source base and the prompt limit."""
    return fingerprint({"base": source.base_manifest()["fingerprint"], "max_prompts": max_prompts})


def prompt_messages(messages: pa.ListArray) -> tuple[pa.ListArray, np.ndarray]:
    """Each conversation cut before its final assistant turn, and whether it is a prompt.

    A prompt is what :func:`curate.ids.prompt_end` keeps (so its hash is the row's
    ``prompt_id``), and it must end on a user turn.
    """
    roles = pc.struct_field(pc.list_flatten(messages), "role").to_pylist()
    lengths = pc.fill_null(pc.list_value_length(messages), 0).to_numpy(zero_copy_only=False)
    bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    keep_len = np.zeros(len(lengths), dtype=np.int64)
    ok = np.zeros(len(lengths), dtype=bool)
    for i, (start, stop) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist())):
        rs = roles[start:stop]
        end = prompt_end(rs)
        keep_len[i] = end
        ok[i] = end > 0 and rs[end - 1] == "user"
    position = np.arange(bounds[-1]) - np.repeat(bounds[:-1], lengths)
    kept = position < np.repeat(keep_len, lengths)
    values = pc.list_flatten(messages).filter(pa.array(kept))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(keep_len, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=schema.MESSAGES), ok


def build_prompt_store(
    source: Store, root: Path, max_prompts: int | None, progress=None
) -> tuple[Store, dict[str, Any]]:
    """The prompt store at ``root``, built from ``source`` unless already complete.

    Returns it and its counts: source rows, prompts, and the rows that gave none by why.
    """
    wanted = prompt_fingerprint(source, max_prompts)
    prompts = Store(root)
    manifest = prompts.manifest(STAGE) if (root / "store.json").is_file() else None
    if manifest and manifest.get("fingerprint") == wanted and manifest.get("status") == "complete":
        return prompts, manifest["counts"]
    if root.exists():  # an unfinished or other build: rebuilt whole (it is cheap)
        Store(root).clear()
    prompts = Store.create(root)
    seen: set[str] = set()
    skipped: Counter[str] = Counter()
    out_index = offset = taken = 0
    columns = ["id", "prompt_id", "messages", "lang_user"]
    for table in source.iter_shards(columns=columns):
        n = table.num_rows
        first = np.zeros(n, dtype=bool)
        pids = table.column("prompt_id").to_pylist()
        for i, pid in enumerate(pids):
            if pid not in seen:
                seen.add(pid)
                first[i] = True
        skipped[SAME_PROMPT] += int(n - first.sum())
        picked = table.filter(pa.array(first))
        cut, ok = prompt_messages(picked.column("messages").combine_chunks())
        skipped[NO_USER_TURN] += int((~ok).sum())
        rows = np.flatnonzero(first)[ok] + offset
        part = pa.table(
            {
                "id": picked.column("prompt_id").filter(pa.array(ok)),
                "prompt_id": picked.column("prompt_id").filter(pa.array(ok)),
                "messages": cut.filter(pa.array(ok)),
                "parent": picked.column("id").filter(pa.array(ok)),
                "parent_index": pa.array(rows, pa.int64()),
                "lang_user": picked.column("lang_user").filter(pa.array(ok)),
            },
            schema=SCHEMA,
        )
        if max_prompts is not None and taken + part.num_rows > max_prompts:
            skipped[OVER_LIMIT] += taken + part.num_rows - max_prompts
            part = part.slice(0, max_prompts - taken)
        if part.num_rows:
            write_table_atomic(part, prompts.base_dir / shard_name(out_index))
            out_index += 1
            taken += part.num_rows
        offset += n
        if progress is not None:
            progress(n)
    counts = {"source_rows": offset, "prompts": taken, "skipped": dict(sorted(skipped.items()))}
    prompts.write_manifest(
        STAGE,
        {
            "stage": STAGE,
            "status": "complete",
            "fingerprint": wanted,
            "source": str(source.root),
            "counts": counts,
            "shards": len(list_shards(prompts.base_dir)),
            "finished": now_iso(),
            "environment": environment(),
        },
    )
    return prompts, counts
