"""From prompts and their samples to the base table of the store ``curate generate`` writes.

Every sample ends in exactly one place, as every ingested record does: the base table
(prompt + sampled answer, checked and flagged by the same code as ingest), the
duplicates table (the same answer sampled twice for one prompt), or the rejects table
(a failed generation, with the backend's error; never a made-up answer). Base shard
``i`` holds the samples of prompt shard ``i``; the files are written whole, and the
store's ``generate`` manifest, written last, is what makes the store complete.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

from curate.flags import CUT_OFF_FLAG
from curate.ingest.convert import FileSpec, base_table, rejects_table
from curate.ingest.formats import Conversation, RecordError
from curate.ingest.pipeline import ShardWriter, split_duplicates
from curate.ingest.records import prepare, raw_text
from curate.llm.base import FINISH_LENGTH
from curate.store import Store
from curate.store.store import list_shards

FORMAT = "generated"
GENERATION_FAILED = "generation_failed"
MAX_CHARS = 1 << 62  # a sampled answer is never refused for its length: it is what came back


class _Where(NamedTuple):
    """Where a sample came from, in the shape ingest's table builders read (an Item's)."""

    index: int  # the parent row's position in the source store
    line: None = None
    column: None = None


def clear_tables(into: Store) -> None:
    """Remove base, rejects and duplicates shards (an unfinished materialization's)."""
    for name, _ in ShardWriter.TABLES:
        for path in list_shards(into.root / name):
            path.unlink()


def materialize(
    into: Store, prompts: Store, source: str, sample_meta: dict[str, Any], progress=None
) -> Counter:
    """Write ``into``'s base, rejects and duplicates from the prompt store's samples.

    ``source`` is what each row's ``source.file`` names (the parent store);
    ``sample_meta`` goes into every row's ``meta`` (model identity, sampling options).
    Returns the counts: generated, duplicates, failed (by reason), cut_off.
    """
    clear_tables(into)
    spec = FileSpec(path=source, display=source, format=FORMAT)
    seen: set[str] = set()
    counts: Counter = Counter()
    columns = ["id", "messages", "parent", "parent_index"]
    for index, table in enumerate(prompts.iter_shards(columns=columns, sidecars=["samples"])):
        base, rejects = [], []
        for prompt_id, messages, parent, where, samples in zip(
            *(table.column(c).to_pylist() for c in (*columns, "samples"))
        ):
            turns = [(m["role"], m["content"]) for m in messages]
            for k, sample in enumerate(samples):
                item = _Where(where)
                meta = {
                    **sample_meta,
                    "parent": parent,
                    "sample": k,
                    "seed": sample["seed"],
                    "finish_reason": sample["finish_reason"],
                    "prompt_tokens": sample["prompt_tokens"],
                    "completion_tokens": sample["completion_tokens"],
                }
                if sample["text"] is None:
                    raw, size = raw_text({"prompt_id": prompt_id, **meta})
                    rejects.append((item, GENERATION_FAILED, sample["error"] or "", raw, size))
                    counts[f"failed:{GENERATION_FAILED}"] += 1
                    continue
                cut = sample["finish_reason"] == FINISH_LENGTH
                conv = Conversation(
                    [*turns, ("assistant", sample["text"])],
                    flags=(CUT_OFF_FLAG,) if cut else (),
                    meta=meta,
                )
                try:
                    base.append((item, prepare(conv, MAX_CHARS)))
                except RecordError as exc:  # e.g. a reply that holds no text at all
                    raw, size = raw_text({"prompt_id": prompt_id, "text": sample["text"], **meta})
                    rejects.append((item, exc.reason, exc.detail, raw, size))
                    counts[f"failed:{exc.reason}"] += 1
                    continue
                counts["cut_off"] += cut
        kept, dups = split_duplicates(base_table(spec, base), seen)
        writer = ShardWriter(into, index)
        try:
            writer.write("base", kept)
            writer.write("rejects", rejects_table(spec, rejects))
            writer.write("duplicates", dups)
        except BaseException:
            writer.abort()
            raise
        writer.commit()
        counts["generated"] += kept.num_rows
        counts["duplicates"] += dups.num_rows
        if progress is not None:
            progress(table.num_rows)
    return counts


def sample_meta(identity: dict[str, Any], sampling: dict[str, Any], parent_store: Path) -> dict:
    """What every generated row records of how it was made (never a secret: the identity
    is the backend's, which holds none)."""
    return {"model": identity, "sampling": sampling, "parent_store": str(parent_store)}
