"""The turns of a ``messages`` column, in Arrow.

Stages that read only some turns (the tagger names clusters from the user turns,
decontamination tokenizes every non-system turn) cut them out here, column-wise: a
million conversations turned into Python dicts cost gigabytes, their flattened turns
a fraction of that, and only the turns a stage keeps ever become Python strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Turns:
    """Every turn of ``rows`` conversations, flattened: its text, role, and conversation row."""

    content: pa.Array  # string, nulls as ""
    role: pa.Array  # string, nulls as ""
    row: np.ndarray  # int64: the conversation each turn belongs to, ascending
    rows: int

    def where(self, keep: np.ndarray | pa.Array) -> Turns:
        """The turns where ``keep`` is true (a boolean per turn), in order."""
        mask = keep if isinstance(keep, pa.Array) else pa.array(np.asarray(keep, dtype=bool))
        return Turns(
            self.content.filter(mask),
            self.role.filter(mask),
            self.row[np.asarray(mask, dtype=bool)],
            self.rows,
        )

    def with_role(self, role: str) -> Turns:
        return self.where(self.is_role(role))

    def is_role(self, role: str) -> np.ndarray:
        return np.asarray(pc.equal(self.role, role), dtype=bool)

    def cut(self, limit: int) -> Turns:
        """Each turn's first ``limit`` characters."""
        return Turns(
            pc.utf8_slice_codeunits(self.content, 0, limit), self.role, self.row, self.rows
        )

    def joined(self, separator: str = "\n") -> pa.Array:
        """One string per conversation: its turns joined by ``separator`` ("" without any)."""
        offsets = np.zeros(self.rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.row, minlength=self.rows), out=offsets[1:])
        lists = pa.LargeListArray.from_arrays(pa.array(offsets), self.content)
        return pc.binary_join(lists, separator)


def turns_of(messages: pa.Array | pa.ChunkedArray) -> Turns:
    """The flattened turns of a ``messages`` column (list<struct<role, content>>)."""
    if isinstance(messages, pa.ChunkedArray):
        messages = messages.combine_chunks()
    flat = pc.list_flatten(messages)
    return Turns(
        pc.fill_null(pc.struct_field(flat, "content"), ""),
        pc.fill_null(pc.struct_field(flat, "role"), ""),
        np.asarray(pc.list_parent_indices(messages), dtype=np.int64),
        len(messages),
    )
