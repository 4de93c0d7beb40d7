"""Arrow schemas of the store's tables (see DESIGN.md, "The store").

The base table holds one row per distinct conversation in the OpenAI / TRL
conversational format, so a trainer can read ``messages`` unchanged.
"""

from __future__ import annotations

import pyarrow as pa

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
MESSAGES = pa.list_(MESSAGE)

# Where a row came from: the input file as given on the command line (after
# directory and glob expansion), the 0-based ordinal of the record in that file,
# and the 1-based line where it starts when the reader knows it (JSONL, parse errors).
SOURCE = pa.struct([("file", pa.string()), ("index", pa.int64()), ("line", pa.int64())])

BASE = pa.schema(
    [
        ("id", pa.string()),
        # The prompt group: the hash of everything before the final assistant turn
        # (curate.ids.prompt_id). Stores ingested before it existed get it computed on
        # read (Store.read_shard).
        ("prompt_id", pa.string()),
        ("messages", MESSAGES),
        # Preference records: the rejected final answer (the chosen one is in messages).
        ("rejected", pa.string()),
        ("source", SOURCE),
        ("format", pa.string()),
        # Language of the whole conversation and of each side (system prompts excluded).
        ("lang", pa.string()),
        ("lang_user", pa.string()),
        ("lang_assistant", pa.string()),
        ("script", pa.string()),
        ("n_messages", pa.int32()),
        ("n_turns", pa.int32()),  # user turns
        ("n_chars", pa.int64()),
        ("flags", pa.list_(pa.string())),
        # Scalar fields of the input record that the format adapter did not consume
        # (category, model id, ...), as a JSON object; null when there were none.
        ("meta", pa.string()),
    ]
)

REJECTS = pa.schema(
    [
        ("source", SOURCE),
        ("column", pa.int64()),  # 1-based column of a JSON syntax error
        ("format", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("raw", pa.string()),
        ("raw_bytes", pa.int64()),  # size of the raw record; raw is cut above RAW_LIMIT
    ]
)

DUPLICATES = pa.schema([("id", pa.string()), ("source", SOURCE)])

# Raw text kept per rejected record. Larger records keep their first RAW_LIMIT
# bytes and their full size in ``raw_bytes``.
RAW_LIMIT = 1 << 20
