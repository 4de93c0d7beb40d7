"""Build the layout zoo: about 47 cases of hand-written files imitating public evaluation,
benchmark, judge and preference files (FastChat MT-Bench, arena-hard, AlpacaEval, arena
human judgments, MT-Bench-101, Firefly, UltraFeedback, BELLE, judge templates and outputs,
...) in EN / RU / zh-Hans / zh-Hant.

Usage::

    python benchmarks/layout_zoo/make_zoo.py DIR

writes ``DIR/<NN>_<name>/`` for every case: the data files in their real relative layout,
plus ``expect.json`` (source, inputs, args, per-file expectations, why, and ``note`` where
an expectation was changed on purpose). ``DIR`` is emptied first; it must be empty, absent,
or an earlier zoo. The records themselves are in ``make_zoo_1.py`` .. ``make_zoo_6.py``;
``check.py`` runs ``curate ingest`` on the result and compares the store with expect.json.
"""

import os
import sys

import make_zoo_1
import make_zoo_2
import make_zoo_3
import make_zoo_4
import make_zoo_5
import make_zoo_6
import zoo_lib

PARTS = (make_zoo_1, make_zoo_2, make_zoo_3, make_zoo_4, make_zoo_5, make_zoo_6)


def _looks_like_zoo(root):
    """True when ``root`` holds nothing but case folders with an expect.json (safe to empty)."""
    return all(os.path.isfile(os.path.join(root, e, "expect.json")) for e in os.listdir(root))


def build(root):
    """Write every case under ``root`` (emptied first); return (case names, data file count)."""
    if os.path.isdir(root) and not _looks_like_zoo(root):
        raise SystemExit(f"{root} is not empty and is not a layout zoo: not overwriting it")
    zoo_lib.reset(root)
    for part in PARTS:
        part.build()
    n = sum(1 for _, _, fs in os.walk(zoo_lib.ROOT) for f in fs if f != "expect.json")
    return list(zoo_lib.CASES), n


def main(argv):
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    cases, n = build(argv[0])
    print(f"{len(cases)} cases, {n} data files under {zoo_lib.ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
