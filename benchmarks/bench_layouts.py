"""Layout zoo: does `curate ingest` read public evaluation, benchmark, judge and preference
files the way a user pointing it at them expects?

What it measures: about 38 cases (67 files) written by hand to copy the record layouts of
public files in EN / RU / zh-Hans / zh-Hant: FastChat MT-Bench trees (questions, answers,
reference answers, judgments, judge prompts), arena-hard v0.1 / v2.0 and its Russian forks,
AlpacaEval outputs and annotations, arena and MT-Bench human judgments, MT-Bench-101,
Firefly, DailyDialog, Saiga, Gemini tuning files, UltraFeedback, orca DPO pairs, BELLE /
Baize / Ziya transcripts, JudgeLM, PandaLM, Prometheus, TaiwanChat, COIG-CQIA, TMMLU+ ...
Each case (``layout_zoo/make_zoo_*.py``) says per file what should happen: ``ingested``
(base rows with the right roles, language, format, preference and flags), ``refused``
(every record rejected with one of the given reasons, e.g. judge output or templates),
``joined`` (a question file whose turns are found in the answers it was joined with, and no
rows of its own) or ``ignored`` (not a data file, never read). The result is the number of
files whose store contents match; a ``note`` marks expectations changed on purpose.

How to run (from any directory; the repository's ``curate`` is run as
``sys.executable -m curate``, one ``curate ingest`` per case)::

    python benchmarks/bench_layouts.py                  # all cases, in a temporary directory
    python benchmarks/bench_layouts.py 29 30 -v         # cases whose name starts with 29 or 30
    python benchmarks/bench_layouts.py --keep /tmp/zoo  # keep cases/ and stores/ in /tmp/zoo

It prints a markdown table (case, file, the layout it imitates, the expected outcome, the
result with its one-line reason) and ends with "N of M files as expected". ``-v`` adds, per
case, why that outcome is expected and the exact ingest command. ``--keep DIR`` writes the
cases to ``DIR/cases`` and the stores to ``DIR/stores`` and leaves them there (DIR must be
empty, absent, or an earlier ``--keep`` directory); otherwise everything is removed at exit.
The generators alone: ``python benchmarks/layout_zoo/make_zoo.py DIR``; the checker alone:
``python benchmarks/layout_zoo/check.py DIR/cases [CASE ...]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZOO_DIR = Path(__file__).resolve().parent / "layout_zoo"


def load_zoo():
    """The layout_zoo modules (a plain folder, not a package): (make_zoo, check)."""
    if str(ZOO_DIR) not in sys.path:
        sys.path.insert(0, str(ZOO_DIR))
    import check
    import make_zoo

    return make_zoo, check


def cell(text: str) -> str:
    """Text made safe for one markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def curate_env() -> dict[str, str]:
    """The environment for the CLI: this repository's curate first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def prepare_keep_dir(root: Path) -> None:
    """Refuse a --keep directory holding anything but an earlier run's cases/ and stores/."""
    if root.exists():
        if not root.is_dir():
            sys.exit(f"--keep {root}: not a directory")
        other = sorted(p.name for p in root.iterdir() if p.name not in ("cases", "stores"))
        if other:
            sys.exit(f"--keep {root}: not empty and not an earlier run (has {', '.join(other)})")
    shutil.rmtree(root / "stores", ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)


def run(root: Path, wanted: list[str], verbose: bool) -> int:
    make_zoo, check = load_zoo()
    cases_dir = root / "cases"
    stores = root / "stores"
    all_cases, n_files = make_zoo.build(str(cases_dir))
    cases = check.list_cases(str(cases_dir), wanted)
    if not cases:
        print(f"no case matches {' '.join(wanted)} (cases: {all_cases[0]} .. {all_cases[-1]})")
        return 2
    stores.mkdir(parents=True, exist_ok=True)
    curate = [sys.executable, "-m", "curate"]
    env = curate_env()
    print(
        f"Layout zoo: {len(cases)} of {len(all_cases)} cases ({n_files} data files in all), "
        f"`{' '.join(curate)} ingest` of {REPO}\n"
    )
    print("| case | file | imitates (source) | expected | result |")
    print("|---|---|---|---|---|")
    total = ok = 0
    extra: list[str] = []
    t0 = time.monotonic()
    for case in cases:
        case_dir = cases_dir / case
        exp = check.load_expect(str(case_dir))
        results, notes = check.check_case(
            str(case_dir), str(stores / case), curate=curate, verbose=verbose, env=env
        )
        for i, (good, fpath, detail) in enumerate(results):
            total += 1
            ok += good
            spec = exp["files"].get(fpath, {})
            expected = check.describe(spec) if spec else "-"
            if exp.get("note"):
                expected += f" — note: {exp['note']}"
            result = f"as expected ({detail})" if good else f"**not as expected**: {detail}"
            source = exp.get("source", "") if i == 0 else ""
            print(
                f"| {cell(case if i == 0 else '')} | {cell(fpath)} | {cell(source)} "
                f"| {cell(expected)} | {cell(result)} |",
                flush=True,
            )
        if verbose:
            extra.append(f"- {case}: {exp.get('why', '')}")
            extra.extend(f"  - {n}" for n in notes)
        else:
            extra.extend(f"- {n}" for n in notes if n.startswith("NOTE"))
    if extra:
        print()
        print("\n".join(extra))
    print(f"\n{len(cases)} cases in {time.monotonic() - t0:.0f} s")
    print(f"{ok} of {total} files as expected")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Build the layout zoo and check `curate ingest` against it.",
        epilog="See the module docstring for what the cases are.",
    )
    ap.add_argument("cases", nargs="*", metavar="CASE_PREFIX", help="only cases starting so")
    ap.add_argument("--keep", metavar="DIR", type=Path, help="build in DIR and keep it")
    ap.add_argument("-v", "--verbose", action="store_true", help="why, and the ingest command")
    args = ap.parse_args(argv)
    if args.keep is not None:
        root = args.keep.resolve()
        prepare_keep_dir(root)
        rc = run(root, args.cases, args.verbose)
        print(f"(cases and stores kept in {root})", file=sys.stderr)
        return rc
    root = Path(tempfile.mkdtemp(prefix="layout_zoo_"))
    try:
        return run(root, args.cases, args.verbose)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
