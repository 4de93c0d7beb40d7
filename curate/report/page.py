"""The report as one self-contained HTML page: inline SVG figures, no script from anywhere.

Figures are drawn here as SVG (bars, overlaid histograms, a scatter), so the file opens
offline in any browser and prints. Hovering a bar or a point shows its numbers or its
conversation (each element's SVG ``<title>``). The collected data is embedded as JSON
(``<script type="application/json" id="report-data">``) so that tests and scripts
read the same numbers the figures show.
"""

from __future__ import annotations

import html
import json
from typing import Any

PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#a0cbe8",
]  # fmt: skip
OTHER = "#c8c8c8"
#: the mark that says curate report wrote a file (so it may replace it)
GENERATOR = '<meta name="generator" content="curate report">'
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",sans-serif;
margin:0 auto;max-width:1100px;padding:24px;color:#222}
h1{font-size:24px}h2{font-size:19px;margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
.missing{color:#888;font-style:italic}table{border-collapse:collapse;margin:8px 0}
td,th{border-bottom:1px solid #eee;padding:3px 10px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}figure{margin:12px 0}
figcaption{color:#555;font-size:13px}.ok{color:#2a7}.bad{color:#c33}svg text{font-size:11px}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def bars(fig_id: str, values: dict[str, int], caption: str, width: int = 900) -> str:
    """Horizontal bars, one per label, largest first as given."""
    items = list(values.items())
    if not items:
        return f'<p class="missing">{esc(caption)}: nothing to show</p>'
    top = max(v for _, v in items) or 1
    row, label_w = 18, 220
    height = row * len(items) + 10
    parts = [f'<svg id="{fig_id}" width="{width}" height="{height}" role="img">']
    for k, (label, value) in enumerate(items):
        y = 5 + k * row
        w = (width - label_w - 90) * value / top
        parts.append(
            f"<g><title>{esc(label)}: {value:,}</title>"
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{esc(label)[:40]}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 5}" fill="{PALETTE[0]}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{value:,}</text></g>'
        )
    parts.append("</svg>")
    return f"<figure>{''.join(parts)}<figcaption>{esc(caption)}</figcaption></figure>"


def paired_bars(fig_id: str, rows: list[tuple[str, int, int]], caption: str) -> str:
    """Pool against selection per label, as shares of each total (so both fit one axis)."""
    if not rows:
        return f'<p class="missing">{esc(caption)}: nothing to show</p>'
    pool_total = sum(r[1] for r in rows) or 1
    sel_total = sum(r[2] for r in rows) or 1
    top = max(max(p / pool_total, s / sel_total) for _, p, s in rows) or 1
    width, row, label_w = 900, 26, 240
    parts = [f'<svg id="{fig_id}" width="{width}" height="{row * len(rows) + 30}" role="img">']
    parts.append(
        f'<rect x="{label_w}" y="4" width="10" height="10" fill="{PALETTE[0]}"/>'
        f'<text x="{label_w + 14}" y="13">pool</text>'
        f'<rect x="{label_w + 60}" y="4" width="10" height="10" fill="{PALETTE[1]}"/>'
        f'<text x="{label_w + 74}" y="13">selected</text>'
    )
    scale = (width - label_w - 120) / top
    for k, (label, p, s) in enumerate(rows):
        y = 22 + k * row
        parts.append(
            f"<g><title>{esc(label)}: pool {p:,} ({p / pool_total:.1%}), selected {s:,} "
            f"({s / sel_total:.1%})</title>"
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{esc(label)[:40]}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{p / pool_total * scale:.1f}" height="9" '
            f'fill="{PALETTE[0]}"/><rect x="{label_w}" y="{y + 12}" '
            f'width="{s / sel_total * scale:.1f}" height="9" fill="{PALETTE[1]}"/>'
            f'<text x="{label_w + max(p / pool_total, s / sel_total) * scale + 4:.1f}" '
            f'y="{y + 15}">{p:,} / {s:,}</text></g>'
        )
    parts.append("</svg>")
    return f"<figure>{''.join(parts)}<figcaption>{esc(caption)}</figcaption></figure>"


def histogram(fig_id: str, score: dict[str, Any], caption: str) -> str:
    """A score's pool histogram with the selection's drawn over it (counts, one axis)."""
    edges, pool_counts, chosen = score["edges"], score["pool"], score["selected"]
    width, height, pad = 440, 180, 30
    top = max(pool_counts) or 1
    step = (width - 2 * pad) / len(pool_counts)
    parts = [f'<svg id="{fig_id}" width="{width}" height="{height + 20}" role="img">']
    for k, (p, s) in enumerate(zip(pool_counts, chosen)):
        x = pad + k * step
        hp, hs = (height - pad) * p / top, (height - pad) * s / top
        parts.append(
            f"<g><title>{edges[k]:.3g} to {edges[k + 1]:.3g}: pool {p:,}, selected {s:,}</title>"
            f'<rect x="{x:.1f}" y="{height - hp:.1f}" width="{step - 1:.1f}" height="{hp:.1f}" '
            f'fill="{PALETTE[0]}" opacity="0.55"/><rect x="{x:.1f}" y="{height - hs:.1f}" '
            f'width="{step - 1:.1f}" height="{hs:.1f}" fill="{PALETTE[1]}"/></g>'
        )
    parts.append(
        f'<text x="{pad}" y="{height + 14}">{edges[0]:.3g}</text>'
        f'<text x="{width - pad}" y="{height + 14}" text-anchor="end">{edges[-1]:.3g}</text></svg>'
    )
    return f"<figure>{''.join(parts)}<figcaption>{esc(caption)}</figcaption></figure>"


def scatter(fig_id: str, points: list[dict[str, Any]], caption: str) -> str:
    """The embedding map: one dot per sampled row, coloured by its tag (the 12 largest)."""
    sizes: dict[str, int] = {}
    for p in points:
        sizes[p["tag"]] = sizes.get(p["tag"], 0) + 1
    colours = {
        t: PALETTE[k] for k, t in enumerate(sorted(sizes, key=lambda t: (-sizes[t], t))[:12])
    }
    xs, ys = [p["x"] for p in points], [p["y"] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    size, pad = 640, 12
    sx = (size - 2 * pad) / ((x1 - x0) or 1)
    sy = (size - 2 * pad) / ((y1 - y0) or 1)
    parts = [f'<svg id="{fig_id}" width="{size + 260}" height="{size}" role="img">']
    for p in sorted(points, key=lambda p: p["selected"]):  # selected drawn last, on top
        cx, cy = pad + (p["x"] - x0) * sx, size - pad - (p["y"] - y0) * sy
        stroke = ' stroke="#000" stroke-width="1.2"' if p["selected"] else ""
        tip = f"[{p['tag']}] {'SELECTED ' if p['selected'] else ''}({p['lang']})\nQ: {p['prompt']}\nA: {p['reply']}"
        parts.append(
            f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="{4 if p["selected"] else 3}" '
            f'fill="{colours.get(p["tag"], OTHER)}"{stroke} opacity="0.8"><title>{esc(tip)}</title></circle>'
        )
    for k, (tag, colour) in enumerate(colours.items()):
        y = 20 + k * 18
        parts.append(
            f'<circle cx="{size + 14}" cy="{y - 4}" r="5" fill="{colour}"/>'
            f'<text x="{size + 24}" y="{y}">{esc(tag)[:34]} ({sizes[tag]})</text>'
        )
    parts.append(
        f'<circle cx="{size + 14}" cy="{20 + len(colours) * 18 - 4}" r="5" fill="#fff" '
        f'stroke="#000"/><text x="{size + 24}" y="{20 + len(colours) * 18}">selected</text></svg>'
    )
    return f"<figure>{''.join(parts)}<figcaption>{esc(caption)}</figcaption></figure>"


def table(rows: list[list[Any]], header: list[str], numeric: set[int] = frozenset()) -> str:
    head = "".join(
        f'<th class="{"n" if k in numeric else ""}">{esc(h)}</th>' for k, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if k in numeric else ""}">'
            f"{f'{v:,}' if isinstance(v, int) and not isinstance(v, bool) else esc(v)}</td>"
            for k, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def missing(section: dict[str, Any]) -> str | None:
    if isinstance(section, dict) and "missing" in section:
        return f'<p class="missing">Not shown: {esc(section["missing"])}.</p>'
    return None


def _pool(pool: dict[str, Any]) -> str:
    sources = {s: sum(v.values()) for s, v in pool["sources"].items()}
    return "".join(
        [
            bars(
                "fig-sources",
                dict(sorted(sources.items(), key=lambda kv: -kv[1])),
                "rows per source",
            ),
            _sources_by_language(pool["sources"]),
            bars("fig-scripts", pool["scripts"], "rows per script"),
            bars("fig-turns", pool["turns"], "rows by number of user turns"),
            bars("fig-lengths", pool["lengths"], "rows by length in characters"),
        ]
    )


def _flags(pool: dict[str, Any]) -> str:
    return bars(
        "fig-flags", pool["flags"], "rows per quality flag (a row can have several)"
    ) + bars("fig-rejects", pool["rejects"], "records rejected at ingest, by reason")


def _languages(mix: dict[str, Any]) -> str:
    return paired_bars(
        "fig-languages",
        [(k, v, mix["selected"].get(k, 0)) for k, v in mix["pool"].items()],
        "share of each language (script where the language is not one) in the pool and in "
        "the selection",
    )


def _map(m: dict[str, Any]) -> str:
    return scatter(
        "fig-map",
        m["points"],
        f"{m['sample']:,} of {m['rows']:,} conversations (a seeded sample), {m['embeddings']}"
        " projected to two dimensions (PCA); colour: tag; black ring: selected. Hover a dot "
        "for its conversation.",
    )


def _flat(prefix: str, value: Any) -> list[list[Any]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flat(f"{prefix}{k} ", v)]
    return [[prefix.strip(), value]]


def _judge(j: dict[str, Any]) -> str:
    """Each judge's calls (made, read from the cache), verdicts and counts, as rows."""
    return "".join(
        f"<h3>{esc(name)}</h3>" + table(_flat("", stats), ["", "count"], {1})
        for name, stats in j.items()
    )


def _dedup(d: dict[str, Any]) -> str:
    parts = [
        f"<p>{d['groups']:,} groups; {d['rows_in_groups']:,} rows are in a group of two or more.</p>",
        bars("fig-dedup", {f"size {k}": v for k, v in d["sizes"].items()}, "groups by size"),
    ]
    for k, members in enumerate(d["examples"]):
        parts.append(f"<h3>Group {k + 1} ({len(members)} shown)</h3>")
        parts.append(
            table(
                [["kept" if m["keep"] else "", m["similarity"], m["prompt"]] for m in members],
                ["", "similarity", "first user turn"],
            )
        )
    return "".join(parts)


def _tags(t: dict[str, Any]) -> str:
    rows = t["tags"][:40]
    return paired_bars(
        "fig-tags",
        [(r["tag"], r["pool"], r["selected"]) for r in rows],
        f"the {len(rows)} largest tags of {t['sidecar']} ({len(t['tags'])} in all): share of the "
        "pool and of the selection",
    ) + table(
        [[r["tag"], r["pool"], r["selected"], ", ".join(r["terms"])] for r in t["tags"]],
        ["tag", "pool", "selected", "terms"],
        {1, 2},
    )


def _scores(s: dict[str, Any]) -> str:
    parts = []
    for key, score in s["scores"].items():
        q = score["quantiles"]
        parts.append(
            histogram(
                f"fig-score-{key.replace('.', '-')}",
                score,
                f"{key}: {score['n']:,} scored ({score['missing']:,} without a score); p10 "
                f"{q['p10']:.3g}, median {q['p50']:.3g}, p90 {q['p90']:.3g}; blue: pool, "
                "orange: selected",
            )
        )
    if s["agreement"]:
        parts.append(
            table(
                [[pair, rho] for pair, rho in s["agreement"].items()],
                ["scores", "Spearman rank correlation"],
            )
        )
    return "".join(parts)


def _selection(s: dict[str, Any]) -> str:
    rows = [["selected", s["selected"]]] + [[k, v] for k, v in s["excluded"].items()]
    check = (
        "<span class='ok'>adds up to the pool</span>"
        if s["adds_up"]
        else "<span class='bad'>does NOT add up to the pool</span>"
    )
    return (
        bars("fig-selection", dict(rows), "every pool row: selected, or excluded once, by why")
        + table(rows + [["pool", s["rows"]]], ["", "rows"], {1})
        + f"<p>{check}</p>"
    )


#: the page's sections in order: (anchor, title, the collected key, how it is drawn)
SECTIONS = [
    ("sec-pool", "The pool", "pool", _pool),
    ("sec-flags", "Quality flags and rejects", "pool", _flags),
    ("sec-dedup", "Near-duplicates", "dedup", _dedup),
    ("sec-tags", "Tags", "tags", _tags),
    ("sec-scores", "Scores", "scores", _scores),
    ("sec-selection", "Selection accounting", "selection", _selection),
    (
        "sec-languages",
        "Languages and scripts: pool and selection",
        "languages",
        _languages,
    ),
    ("sec-map", "Embedding map", "map", _map),
    ("sec-judge", "Judge", "judge", _judge),
]


def section(title: str, data: dict[str, Any]) -> str:
    """One section's figures (``title`` as in :data:`SECTIONS`), or the line saying why not.

    What the notebooks display (``IPython.display.HTML``): the page's own figures.
    """
    for _anchor, name, _key, draw in SECTIONS:
        if name == title:
            return missing(data) or draw(data)
    raise KeyError(f"no section {title!r}; sections: {[s[1] for s in SECTIONS]}")


def render(data: dict[str, Any]) -> str:
    """The whole page for :func:`curate.report.collect.collect`'s result."""
    pool = data["pool"]
    out = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{GENERATOR}",
        f"<title>curate report: {esc(data['store'])}</title><style>{CSS}</style></head><body>",
        f"<h1>curate report</h1><p>Store <code>{esc(data['store'])}</code>: "
        f"<b id='pool-rows'>{pool['rows']:,}</b> conversations"
        + (f"; selection <code>{esc(data['subset'])}</code>" if data["subset"] else "")
        + ".</p>",
    ]
    for anchor, title, key, _draw in SECTIONS:
        out.append(f"<h2 id='{anchor}'>{esc(title)}</h2>")
        out.append(section(title, data[key]))
    light = data
    if "points" in data["map"]:  # the map's texts are in its figure already
        keep = ("id", "x", "y", "tag", "lang", "selected")
        points = [{k: p[k] for k in keep} for p in data["map"]["points"]]
        light = {**data, "map": {**data["map"], "points": points}}
    payload = json.dumps(light, ensure_ascii=False).replace("</", "<\\/")
    out.append(f'<script type="application/json" id="report-data">{payload}</script>')
    out.append("</body></html>")
    return "\n".join(out)


def _sources_by_language(sources: dict[str, dict[str, int]]) -> str:
    """Sources down, their languages across (the 8 largest; the rest summed as "others")."""
    totals: dict[str, int] = {}
    for langs in sources.values():
        for lang, n in langs.items():
            totals[lang] = totals.get(lang, 0) + n
    top = sorted(totals, key=lambda k: (-totals[k], k))[:8]
    rows = []
    for source, langs in sorted(sources.items(), key=lambda kv: -sum(kv[1].values())):
        rest = sum(n for lang, n in langs.items() if lang not in top)
        rows.append([source, *(langs.get(lang, 0) for lang in top), rest, sum(langs.values())])
    return table(rows, ["source", *top, "others", "all"], set(range(1, len(top) + 3)))
