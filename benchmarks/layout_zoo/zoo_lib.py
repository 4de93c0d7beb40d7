"""Helpers for building the layout zoo: file writers, the case registry and expectation shorthands.

The writers put files under ``ROOT``, set by :func:`reset` (``make_zoo.build`` calls it with
the directory it was given), so the ``make_zoo_N.build()`` parts never name a path of their own.
"""

import json
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = None  # the cases directory being written; set by reset()
CASES = []


def _p(case, rel):
    if ROOT is None:
        raise RuntimeError("zoo_lib.reset(root) must be called before writing cases")
    p = os.path.join(ROOT, case, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def jsonl(case, rel, rows, ascii=False):
    with open(_p(case, rel), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=ascii) + "\n")


def jarr(case, rel, rows, indent=2, ascii=False):
    with open(_p(case, rel), "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=ascii, indent=indent)


def raw(case, rel, text):
    with open(_p(case, rel), "w", encoding="utf-8") as f:
        f.write(text)


def parquet(case, rel, rows):
    pq.write_table(pa.Table.from_pylist(rows), _p(case, rel))


def case(name, source, files, why, inputs=None, args=(), note=None):
    """Write the case's expect.json (after its data files) and register it.

    ``note`` records where the expectation deliberately differs from what the collection
    first asked for (a decision the ingest maintainers took on purpose); it is printed
    in the benchmark's table.
    """
    # default inputs: every top-level entry of the case folder except expect.json itself
    if inputs is None:
        inputs = sorted(e for e in os.listdir(os.path.join(ROOT, name)) if e != "expect.json")
    exp = {"source": source, "inputs": list(inputs), "args": list(args), "files": files, "why": why}
    if note:
        exp["note"] = note
    with open(_p(name, "expect.json"), "w", encoding="utf-8") as f:
        json.dump(exp, f, ensure_ascii=False, indent=2)
    CASES.append(name)


def reset(root):
    """Empty (or create) ``root`` and make it the directory the writers write into."""
    global ROOT
    ROOT = os.path.abspath(root)
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    CASES.clear()


# expectation shorthands
def ING(rows=None, **first):
    d = {"outcome": "ingested", "rows": rows}
    some = first.pop("some", None)
    if first:
        d["first"] = first
    if some:
        d["some"] = some
    return d


def REF(reason, rows=None):
    return {"outcome": "refused", "reason": reason, "rows": rows}


JOINED = {"outcome": "joined"}
IGNORED = {"outcome": "ignored"}
UA = ["user", "assistant"]
UAUA = ["user", "assistant", "user", "assistant"]
