"""Which similarity two conversations in different languages or scripts must reach.

A translation scores lower than a copy, and how much lower depends on the pair of
languages (a script variant zh-Hans/zh-Hant keeps most of the wording; ru/en keeps
none), so ``--cross-lingual-threshold`` is one number for every pair, or a list per
pair with a fallback::

    0.875
    en/ru=0.825,ru/zh=0.825,zh-Hans/zh-Hant=0.8,*=0.875

A pair's entry is looked up by its two codes as they are (``zh-Hans/zh-Hant``), then by
their base languages (``ru/zh`` covers ru/zh-Hant and ru/zh-Hans), then ``*``. Codes are
the base table's ``lang``. Two rows do not cross languages (they take ``--threshold``)
when their codes are equal, when either is undetermined (``und``, ``other``: a
detection gap must not lower the bar), or when one is the other's base language
without a script (``zh`` against ``zh-Hans``: text with no character specific to one
script goes with either).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate import lang
from curate.errors import CurateError

EXAMPLE = "en/ru=0.825,zh-Hans/zh-Hant=0.8,*=0.875"


def _base(code: str) -> str:
    return code.partition("-")[0]


@dataclass(frozen=True)
class CrossLingual:
    """Cross-lingual thresholds: per pair of languages, and ``default`` for any other pair."""

    default: float
    pairs: tuple[tuple[str, str, float], ...] = ()  # (a, b, threshold), a < b

    @classmethod
    def parse(cls, spec: str | float | CrossLingual) -> CrossLingual:
        """From a number or ``a/b=T,...,*=T`` (see the module docstring); one red line if bad."""
        if isinstance(spec, CrossLingual):
            return spec
        if isinstance(spec, int | float):
            return cls(_value(str(spec), float(spec)))
        text = str(spec).strip()
        if "=" not in text:
            return cls(_value(text, _number(text)))
        default, pairs = None, {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise _bad(item, "each entry is LANG/LANG=T or *=T")
            key, threshold = key.strip(), _value(item, _number(value.strip()))
            if key == "*":
                default = threshold
                continue
            a, slash, b = (part.strip() for part in key.partition("/"))
            if not slash or not a or not b or a == b:
                raise _bad(item, "a pair is two different language codes, e.g. en/ru")
            pairs[tuple(sorted((a, b)))] = threshold
        if default is None:
            raise _bad(text, "say what every other pair needs with *=T, e.g. *=0.875")
        return cls(default, tuple((a, b, t) for (a, b), t in sorted(pairs.items())))

    def spec(self) -> str:
        """The canonical text (what a manifest records): ``0.875`` or ``a/b=T,...,*=T``."""
        if not self.pairs:
            return f"{self.default:g}"
        return ",".join([*(f"{a}/{b}={t:g}" for a, b, t in self.pairs), f"*={self.default:g}"])

    def values(self) -> list[float]:
        return [self.default, *(t for _, _, t in self.pairs)]

    def threshold(self, a: str, b: str) -> float | None:
        """What rows of languages ``a`` and ``b`` must reach; None when they do not cross."""
        if a == b or a in lang.UNKNOWN_LANGS or b in lang.UNKNOWN_LANGS:
            return None
        if _base(a) == _base(b) and (a == _base(a) or b == _base(b)):
            return None  # zh with zh-Hans: no script-specific character, not a translation
        table = {(x, y): t for x, y, t in self.pairs}
        exact = table.get(tuple(sorted((a, b))))
        if exact is not None:
            return exact
        if _base(a) != _base(b):
            by_base = table.get(tuple(sorted((_base(a), _base(b)))))
            if by_base is not None:
                return by_base
        return self.default

    def matrix(self, codes: np.ndarray, within: float) -> np.ndarray:
        """Thresholds for every pair of ``codes`` (K, K) float32: ``within`` where no crossing."""
        codes = [str(c) for c in codes]
        out = np.full((len(codes), len(codes)), within, dtype=np.float32)
        for i, a in enumerate(codes):
            for j, b in enumerate(codes):
                t = self.threshold(a, b)
                if t is not None:
                    out[i, j] = t
        return out


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _bad(text, "a threshold is a number") from None


def _value(item: str, value: float) -> float:
    if not 0.0 < value <= 1.0:
        raise _bad(item, "a threshold is in (0, 1]")
    return value


def _bad(item: str, why: str) -> CurateError:
    return CurateError(
        f"--cross-lingual-threshold {item!r}: {why}; give one number (0.875) or "
        f"thresholds per language pair, e.g. {EXAMPLE}"
    )
