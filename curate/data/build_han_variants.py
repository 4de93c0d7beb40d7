"""Regenerate ``han_variants.txt`` from OpenCC's character tables.

Not imported at run time. Usage (needs ``pip install opencc-python-reimplemented``)::

    python curate/data/build_han_variants.py

A character is *Traditional-only* when it appears as a Traditional form in
OpenCC's tables (TSCharacters keys, STCharacters values, TWVariants) and never as
a Simplified form (STCharacters keys, TSCharacters values); *Simplified-only* is
the mirror image. Characters valid in both scripts (后, 里, 台, ...) are in neither
set, so they carry no evidence.
"""

from __future__ import annotations

from pathlib import Path

import opencc


def load(path: Path) -> dict[str, list[str]]:
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, values = line.split("\t")
            table[key] = values.split(" ")
    return table


def main() -> None:
    dictionary = Path(opencc.__file__).parent / "dictionary"
    st = load(dictionary / "STCharacters.txt")
    ts = load(dictionary / "TSCharacters.txt")
    tw = load(dictionary / "TWVariants.txt")
    simplified = set(st) | {c for v in ts.values() for c in v}
    traditional = (
        set(ts)
        | {c for v in st.values() for c in v}
        | set(tw)
        | {c for v in tw.values() for c in v}
    )
    t_only = "".join(sorted(c for c in traditional - simplified if len(c) == 1))
    s_only = "".join(sorted(c for c in simplified - traditional if len(c) == 1))
    out = Path(__file__).with_name("han_variants.txt")
    out.write_text(
        "# Han characters that occur only in Traditional (line T) or only in Simplified (line S)\n"
        "# script. Derived from OpenCC's STCharacters, TSCharacters and TWVariants tables\n"
        "# (https://github.com/BYVoid/OpenCC, Apache License 2.0) by build_han_variants.py.\n"
        f"T\t{t_only}\nS\t{s_only}\n",
        encoding="utf-8",
    )
    print(f"{out}: {len(t_only)} Traditional-only, {len(s_only)} Simplified-only characters")


if __name__ == "__main__":
    main()
