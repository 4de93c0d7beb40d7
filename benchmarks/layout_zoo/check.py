"""Run `curate ingest` on layout-zoo cases and compare each store with the case's expect.json.

Usage::

    python benchmarks/layout_zoo/check.py CASES_DIR [CASE_NAME_OR_PREFIX ...] [-v]

prints one PASS/FAIL line per expected file (and why), NOTE lines for files the store
mentions that expect.json does not, and a final "N of M files as expected". The CLI is
``python -m curate`` of the interpreter running this (``CURATE=/path/to/curate`` to use
another). ``benchmarks/bench_layouts.py`` builds the zoo and prints the same as a table.

expect.json "files" entries:
  outcome  ingested | refused | joined | ignored   (ignored = not a data file, must not be read)
  reason   refused: one reject reason or a list of acceptable ones
  rows     ingested: number of base rows; refused: number of rejected records (null = any)
  first    checks on the file's first base row (lowest source index)
  some     list of checks, each must hold for at least one base row of the file
  rejects_ok  ingested: tolerate rejected records of this file
Row checks: roles, has_rejected, flags (all present), not_flags, lang, lang_user,
user_contains, assistant_contains, system_contains, rejected_contains, format.
"""

import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import pyarrow.parquet as pq

TIMEOUT = int(os.environ.get("ZOO_TIMEOUT", "600"))


def curate_command():
    """The `curate` CLI as an argv prefix: $CURATE if set, else this interpreter's -m curate."""
    if os.environ.get("CURATE"):
        return shlex.split(os.environ["CURATE"])
    return [sys.executable, "-m", "curate"]


def list_cases(cases_dir, wanted=()):
    """Case folder names (those with an expect.json), sorted, filtered by name or prefix."""
    cases = sorted(
        d
        for d in os.listdir(cases_dir)
        if os.path.isfile(os.path.join(cases_dir, d, "expect.json"))
    )
    if wanted:
        cases = [c for c in cases if any(c == w or c.startswith(w) for w in wanted)]
    return cases


def load_expect(case_dir):
    with open(os.path.join(case_dir, "expect.json"), encoding="utf-8") as f:
        return json.load(f)


def norm(path, case_dir):
    if path is None:
        return None
    if os.path.isabs(path):
        path = os.path.relpath(path, case_dir)
    return os.path.normpath(path)


def read_table(store, name):
    rows = []
    for f in sorted(glob.glob(os.path.join(store, name, "*.parquet"))):
        try:
            rows.extend(pq.read_table(f).to_pylist())
        except Exception as e:  # a broken shard is a failure, not a crash of the checker
            raise RuntimeError(f"cannot read {f}: {e}") from e
    return rows


def src_file(row, case_dir):
    s = row.get("source") or {}
    return norm(s.get("file"), case_dir)


def src_key(row):
    s = row.get("source") or {}
    return (
        s.get("index") if s.get("index") is not None else 1 << 60,
        s.get("line") if s.get("line") is not None else 1 << 60,
    )


def texts(row, role):
    return [m.get("content") or "" for m in (row.get("messages") or []) if m.get("role") == role]


def rejected_texts(row):
    """The rejected answer of a preference row: a string, or the assistant turns of a message list."""
    rej = row.get("rejected")
    if isinstance(rej, str):
        return [rej]
    if isinstance(rej, list):
        return [
            m.get("content") or ""
            for m in rej
            if isinstance(m, dict) and m.get("role") in (None, "assistant")
        ]
    return []


def _short(text):
    return text[:60].replace("\n", " ")


def check_row(row, spec):
    """The ways ``row`` fails the row checks in ``spec`` (empty: it passes)."""
    bad = []
    msgs = row.get("messages") or []
    if "roles" in spec:
        got = [m.get("role") for m in msgs]
        if got != spec["roles"]:
            bad.append(f"roles {got} != {spec['roles']}")
    if "has_rejected" in spec:
        got = bool(row.get("rejected"))
        if got != spec["has_rejected"]:
            bad.append(f"has_rejected {got}")
    flags = set(row.get("flags") or [])
    for f in spec.get("flags", []):
        if f not in flags:
            bad.append(f"flag {f} missing (flags {sorted(flags)})")
    for f in spec.get("not_flags", []):
        if f in flags:
            bad.append(f"unexpected flag {f}")
    for key in ("lang", "lang_user", "format"):
        if key in spec:
            want = spec[key] if isinstance(spec[key], list) else [spec[key]]
            if row.get(key) not in want:
                bad.append(f"{key} {row.get(key)!r} != {spec[key]!r}")
    for key, role in (("user_contains", "user"), ("system_contains", "system")):
        if key in spec and not any(spec[key] in t for t in texts(row, role)):
            first = _short((texts(row, role) or [""])[0])
            bad.append(f"no {role} turn contains {spec[key]!r} (first {role}: {first!r})")
    if "assistant_contains" in spec and not any(
        spec["assistant_contains"] in t for t in texts(row, "assistant")
    ):
        last = _short((texts(row, "assistant") or [""])[-1])
        bad.append(
            f"no assistant turn contains {spec['assistant_contains']!r} (last assistant: {last!r})"
        )
    if "rejected_contains" in spec and not any(
        spec["rejected_contains"] in t for t in rejected_texts(row)
    ):
        got = _short((rejected_texts(row) or [""])[-1])
        bad.append(f"rejected answer does not contain {spec['rejected_contains']!r} (got {got!r})")
    return bad


def load_records(path):
    """Records of a question file, read by the checker itself (JSONL, JSON array/object, Parquet)."""
    if path.endswith(".parquet"):
        return pq.read_table(path).to_pylist()
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    try:
        obj = json.loads(text)
        if isinstance(obj, list):
            return obj
        if isinstance(obj, dict):
            for v in obj.values():
                if isinstance(v, list):
                    return v
            return [obj]
    except json.JSONDecodeError:
        pass
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def question_texts(rec):
    out = []
    turns = rec.get("turns")
    if isinstance(turns, list):
        for t in turns:
            if isinstance(t, str):
                out.append(t)
            elif isinstance(t, dict) and isinstance(t.get("content"), str):
                out.append(t["content"])
    else:
        for k in ("prompt", "instruction", "question", "text"):
            if isinstance(rec.get(k), str):
                out.append(rec[k])
                break
    return [t.strip() for t in out if t and t.strip()]


def describe(spec):
    """One-line summary of a file's expectation, e.g. 'ingested, 3 rows' or 'refused: judge_output (3)'."""
    outcome = spec.get("outcome")
    if outcome == "ingested":
        text = "ingested" + (f", {spec['rows']} rows" if spec.get("rows") is not None else "")
        first = spec.get("first") or {}
        if "format" in first:
            text += f", format {first['format']}"
        if "roles" in first:
            text += ", roles " + "/".join(first["roles"])
        if first.get("has_rejected"):
            text += ", preference"
        return text
    if outcome == "refused":
        reason = spec.get("reason")
        reason = " or ".join(reason) if isinstance(reason, list) else str(reason)
        return f"refused: {reason}" + (f" ({spec['rows']})" if spec.get("rows") is not None else "")
    if outcome == "joined":
        return "joined with the answers"
    if outcome == "ignored":
        return "ignored (not data)"
    return str(outcome)


def _check_file(spec, key, b, rj, dups, man_files, case_dir, all_user):
    """(ok, detail) for one expected file, given its base rows ``b`` and rejects ``rj``."""
    reasons = {}
    for r in rj:
        reasons[r.get("reason")] = reasons.get(r.get("reason"), 0) + 1
    outcome = spec["outcome"]
    bad = []
    info = f"{len(b)} rows, {len(rj)} rejected"
    if reasons:
        info += " " + json.dumps(reasons, ensure_ascii=False)
    if key in man_files and man_files[key].get("format"):
        info += f", format {man_files[key]['format']}"
    if outcome == "ingested":
        if not b:
            bad.append("no base rows")
        if spec.get("rows") is not None and len(b) != spec["rows"]:
            bad.append(f"expected {spec['rows']} rows")
        if rj and not spec.get("rejects_ok"):
            bad.append("has rejected records")
        if b and spec.get("first"):
            fb = check_row(b[0], spec["first"])
            if fb:
                bad.append("first row: " + "; ".join(fb))
        for s in spec.get("some", []):
            if not any(not check_row(r, s) for r in b):
                near = check_row(b[0], s) if b else ["no rows"]
                bad.append(f"no row matches {json.dumps(s, ensure_ascii=False)} (e.g. {near[0]})")
    elif outcome == "refused":
        want = spec.get("reason")
        want = want if isinstance(want, list) else [want]
        if b:
            bad.append("rows were ingested")
        if not rj:
            bad.append("nothing rejected" + ("" if key in man_files else " (file not read)"))
        wrong = {k: v for k, v in reasons.items() if k not in want}
        if wrong:
            bad.append(f"reject reasons {wrong} not in {want}")
        if spec.get("rows") is not None and rj and len(rj) != spec["rows"]:
            bad.append(f"expected {spec['rows']} rejected records")
    elif outcome == "joined":
        if b:
            bad.append("question file ingested on its own")
        try:
            qs = [
                t
                for rec in load_records(os.path.join(case_dir, key))
                if isinstance(rec, dict)
                for t in question_texts(rec)
            ]
        except Exception as e:
            qs = []
            bad.append(f"checker cannot read the question file: {e}")
        missing = [q for q in qs if not any(q in u for u in all_user)]
        if missing:
            bad.append(
                f"{len(missing)} of {len(qs)} question turns not found as user turns, e.g. {missing[0][:70]!r}"
            )
        info += f", {len(qs) - len(missing)}/{len(qs)} question turns found in answers"
    elif outcome == "ignored":
        if key in man_files or b or rj:
            bad.append("file was read as data")
    else:
        bad.append(f"unknown outcome {outcome!r}")
    if dups:
        info += f", {len(dups)} duplicates"
    return not bad, ("; ".join(bad) + " — " if bad else "") + info


def run_case(case_dir, store, curate=None, verbose=False, env=None):
    """Ingest one case into ``store`` (which must not exist yet) and check it.

    Returns (results, notes): results is a list of (ok, file, detail), one per file in
    expect.json; notes are extra lines (files the store mentions that expect.json does
    not; with ``verbose``, the command). The store is left in place for the caller.
    """
    case = os.path.basename(os.path.normpath(case_dir))
    exp = load_expect(case_dir)
    files = exp["files"]
    cmd = [
        *(curate or curate_command()),
        "ingest",
        *exp["inputs"],
        "--store",
        store,
        "--quiet",
        *exp.get("args", []),
    ]
    results = []
    notes = []
    if verbose:
        notes.append(f"cmd: (cd {shlex.quote(case_dir)} && {shlex.join(cmd)})")
    try:
        p = subprocess.run(
            cmd, cwd=case_dir, capture_output=True, text=True, timeout=TIMEOUT, env=env
        )
        rc, err = p.returncode, (p.stderr or "") + (p.stdout or "")
    except subprocess.TimeoutExpired as e:
        rc, err = "timeout", str(e)
    except Exception as e:
        rc, err = "error", repr(e)
    man_path = os.path.join(store, "manifests", "ingest.json")
    if rc != 0 or not os.path.exists(man_path):
        tail = " | ".join(line.strip() for line in err.strip().splitlines()[-4:])
        for fpath in files:
            results.append((False, fpath, f"ingest failed (rc={rc}): {tail[-400:]}"))
        return results, notes
    try:
        with open(man_path, encoding="utf-8") as f:
            man = json.load(f)
        base = read_table(store, "base")
        rejects = read_table(store, "rejects")
        dups = read_table(store, "duplicates")
    except Exception as e:
        for fpath in files:
            results.append((False, fpath, f"cannot read store: {e}"))
        return results, notes
    man_files = {norm(m.get("file"), case_dir): m for m in man.get("files", [])}
    base_by, rej_by, dup_by = {}, {}, {}
    for r in base:
        base_by.setdefault(src_file(r, case_dir), []).append(r)
    for r in rejects:
        rej_by.setdefault(src_file(r, case_dir), []).append(r)
    for r in dups:
        dup_by.setdefault(src_file(r, case_dir), []).append(r)
    all_user = [t.strip() for r in base for t in texts(r, "user")]

    for fpath, spec in files.items():
        key = os.path.normpath(fpath)
        b = sorted(base_by.get(key, []), key=src_key)
        ok, detail = _check_file(
            spec, key, b, rej_by.get(key, []), dup_by.get(key), man_files, case_dir, all_user
        )
        results.append((ok, fpath, detail))

    expected_keys = {os.path.normpath(k) for k in files}
    for k in sorted(k for k in set(man_files) | set(base_by) | set(rej_by) if k is not None):
        if k not in expected_keys:
            notes.append(
                f"NOTE  {case}/{k}: not in expect.json "
                f"({len(base_by.get(k, []))} rows, {len(rej_by.get(k, []))} rejected)"
            )
    return results, notes


def check_case(case_dir, store=None, curate=None, verbose=False, env=None):
    """run_case into ``store``, or into a temporary store that is removed afterwards.
    Never raises: a checker error becomes a failed result."""
    tmp = None
    if store is None:
        tmp = tempfile.mkdtemp(prefix="zoo_store_")
        store = os.path.join(tmp, "store")
    try:
        return run_case(case_dir, store, curate, verbose, env)
    except Exception as e:  # never let one case stop the run
        return [(False, "*", f"checker error: {e!r}")], []
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv if not a.startswith("-")]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    cases_dir, wanted = args[0], args[1:]
    total = ok = 0
    for case in list_cases(cases_dir, wanted):
        results, notes = check_case(os.path.join(os.path.abspath(cases_dir), case), verbose=verbose)
        for good, fpath, detail in results:
            total += 1
            ok += good
            print(f"{'PASS' if good else 'FAIL'}  {case}/{fpath}  {detail}", flush=True)
        for n in notes:
            print(("" if n.startswith("NOTE") else "      ") + n, flush=True)
    print(f"{ok} of {total} files as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
