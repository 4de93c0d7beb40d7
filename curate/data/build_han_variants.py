"""Regenerate ``han_variants.txt`` from OpenCC's character tables.

Not imported at run time. Usage (needs ``pip install opencc-python-reimplemented``, 0.1.7,
whose ``dictionary`` folder holds OpenCC's tables as text)::

    python curate/data/build_han_variants.py

A character is evidence for one script only if it never appears in text of the other,
so the rule follows what OpenCC's conversions do to it:

* *Traditional-only*: a TSCharacters key that Traditional-to-Simplified conversion
  always replaces (its values do not include itself), and that is no Simplified form
  (no STCharacters key, no TSCharacters value). 們, 這, 裡 are; 乾 (乾 -> 乾 干) is not.
* *Simplified-only*: the mirror image, an STCharacters key that Simplified-to-Traditional
  conversion always replaces, and that is no Traditional form: no TSCharacters key, no
  STCharacters value, no TWVariants key or value. 们, 这 are; 峰 is not (s2t gives 峯,
  but Taiwan writes 峰: TWVariants 峯 -> 峰).

TWVariants (OpenCC's standard Traditional form -> the form used in Taiwan) only ever
takes characters *out* of the Simplified-only set. It does not make a character
Traditional-only: its keys are OpenCC's own standard forms, which mainland text often
shares (着, 睾, 痹, 幺, 檐), and its values that conversion to Simplified does not
replace are ordinary Simplified characters too (抬 in 抬高, 著 in 著名). Traditional-
only characters from TWVariants that are also TSCharacters keys (為, 裡, 眾) are kept
through the first rule.

BOTH_SCRIPTS lists characters that OpenCC always converts but that Taiwan writes in
ordinary words, found by counting the Simplified-only characters in the Traditional
corpora of ``../shared/data`` (DRCD, zh_tw_bench, prompts-zh-TW): 雇 (雇主, 雇用,
雇傭: s2t gives 僱), in 14 Traditional texts there. Characters that occur in Traditional
text only in names stay Simplified-only: 并 (并州; in 10,000 Simplified texts of the
corpora against 26 Traditional ones, most of those mixing in Simplified 并且, 并不) and
庄 (卑南庄 and other place names). Characters valid in both scripts (后, 里, 台, 教,
...) are in neither set, so they carry no evidence.
"""

from __future__ import annotations

from pathlib import Path

import opencc

BOTH_SCRIPTS = "雇"


def load(path: Path) -> dict[str, list[str]]:
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, values = line.split("\t")
            table[key] = values.split(" ")
    return table


def variant_sets(
    st: dict[str, list[str]], ts: dict[str, list[str]], tw: dict[str, list[str]]
) -> tuple[set[str], set[str]]:
    """(Traditional-only, Simplified-only) characters from OpenCC's three tables."""
    simplified_forms = set(st) | {c for v in ts.values() for c in v}
    traditional_forms = (
        set(ts)
        | {c for v in st.values() for c in v}
        | set(tw)
        | {c for v in tw.values() for c in v}
    )
    t_only = {c for c, v in ts.items() if c not in v} - simplified_forms
    s_only = {c for c, v in st.items() if c not in v} - traditional_forms - set(BOTH_SCRIPTS)
    return {c for c in t_only if len(c) == 1}, {c for c in s_only if len(c) == 1}


def main() -> None:
    dictionary = Path(opencc.__file__).parent / "dictionary"
    t_only, s_only = variant_sets(
        load(dictionary / "STCharacters.txt"),
        load(dictionary / "TSCharacters.txt"),
        load(dictionary / "TWVariants.txt"),
    )
    t_line, s_line = "".join(sorted(t_only)), "".join(sorted(s_only))
    out = Path(__file__).with_name("han_variants.txt")
    out.write_text(
        "# Han characters that occur only in Traditional (line T) or only in Simplified (line S)\n"
        "# script. Derived from OpenCC's STCharacters, TSCharacters and TWVariants tables\n"
        "# (https://github.com/BYVoid/OpenCC, Apache License 2.0) by build_han_variants.py.\n"
        f"T\t{t_line}\nS\t{s_line}\n",
        encoding="utf-8",
    )
    print(f"{out}: {len(t_line)} Traditional-only, {len(s_line)} Simplified-only characters")


if __name__ == "__main__":
    main()
