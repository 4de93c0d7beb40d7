"""``curate report``: the numbers on the page are the store's and the selection's, every
section is there (or says why not), and headless Chromium draws it without errors."""

import json
import re
import shutil
import struct
import subprocess

import pytest
from click.testing import CliRunner

from curate.cli import cli
from curate.dedup.stage import DedupOptions, run_dedup
from curate.embed.stage import EmbedOptions, run_embed
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.judge.pointwise import PointwiseJudge
from curate.judge.run import run_judge
from curate.report.collect import collect
from curate.score.stage import run_score
from curate.select.stage import SelectOptions, run_select
from curate.store import Store
from curate.tag.stage import run_cluster_tag
from curate.testing.judges import ScriptedJudge
from scorers.heuristics import HeuristicScorer
from taggers.cluster import ClusterParams
from tests.conftest import write_jsonl

TOPICS = {
    "bread": ["How do I bake sourdough bread", "Как испечь хлеб на закваске", "如何在家烤面包"],
    "python": ["How do I sort a list in Python", "Как отсортировать список", "如何用 Python 排序"],
}
FIGURES = [
    "fig-sources", "fig-scripts", "fig-turns", "fig-lengths", "fig-flags", "fig-dedup",
    "fig-tags", "fig-selection", "fig-languages", "fig-map", "fig-score-score-heuristics",
]  # fmt: skip


def records() -> list[dict]:
    out = []
    for i in range(8):
        for questions in TOPICS.values():
            for q in questions:
                out.append(
                    {
                        "messages": [
                            {"role": "user", "content": f"{q}? ({i})"},
                            {"role": "assistant", "content": "Step one, then two. " * (1 + i % 4)},
                        ]
                    }
                )
    out.append({"messages": [{"role": "user", "content": "Nobody answered this."}]})
    return out


def ingest(root) -> Store:
    write_jsonl(root / "in.jsonl", records(), raw_lines=[b"{not json"])
    Ingestor(
        [str(root / "in.jsonl")], root / "store", IngestOptions(shard_size=20), workers=0
    ).run()
    return Store.open(root / "store")


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    """A store through every stage the report shows, and its selection."""
    root = tmp_path_factory.mktemp("report")
    st = ingest(root)
    run_cluster_tag(st, ClusterParams(clusters=2))
    run_score(st, HeuristicScorer())
    run_embed(st, EmbedOptions())
    run_dedup(st, DedupOptions(threshold=0.98, cross_lingual_threshold=0.98))
    judge = PointwiseJudge(ScriptedJudge(noise=1.0), st.root, "scripted")
    run_judge(st, judge)
    run_select(st, SelectOptions(per_tag=5), root / "subset")
    return st, root / "subset"


def page_data(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_the_numbers_are_the_store_and_the_selection(curated, tmp_path):
    st, subset = curated
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, ["report", str(st.root), "--subset", str(subset), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    data = page_data(html)
    report = json.loads((subset / "report.json").read_text())
    assert data["pool"]["rows"] == st.num_rows() == report["rows"]
    assert f"<b id='pool-rows'>{st.num_rows():,}</b>" in html
    sel = data["selection"]
    assert sel["selected"] == report["selected"] and sel["excluded"] == report["excluded"]
    assert sel["adds_up"] and sel["selected"] + sum(sel["excluded"].values()) == st.num_rows()
    assert data["languages"]["selected"] and sum(data["languages"]["pool"].values()) == 49
    assert sum(data["languages"]["selected"].values()) == report["selected"]
    assert data["pool"]["rejects"] == {"invalid_json": 1}
    assert sum(data["pool"]["turns"].values()) == st.num_rows()
    heuristics = data["scores"]["scores"]["score.heuristics"]
    assert heuristics["n"] + heuristics["missing"] == st.num_rows()
    assert sum(heuristics["selected"]) == report["selected"]  # every selected row has a score
    tags = {t["tag"]: t for t in data["tags"]["tags"]}
    assert sum(t["pool"] for t in tags.values()) >= st.num_rows()
    assert data["map"]["sample"] == st.num_rows()  # fewer rows than the sample: all of them
    assert sum(p["selected"] for p in data["map"]["points"]) == report["selected"]
    assert data["dedup"]["groups"] <= st.num_rows()
    for figure in FIGURES:
        assert f'id="{figure}"' in html, figure
    assert "http://" not in html and "https://" not in html  # nothing to fetch: opens offline
    calls = data["judge"]["score.judge.scripted"]["calls"]
    assert calls["made"] >= 48 and f'calls made</td><td class="n">{calls["made"]:,}' in html
    (pair,) = data["scores"]["agreement"]  # heuristics against the judge, by rank
    assert "score.heuristics" in pair and "score.judge.scripted" in pair
    assert 'id="fig-score-score-judge-scripted"' in html


def test_a_bare_store_says_what_is_missing(tmp_path):
    st = ingest(tmp_path)
    data = collect(st)
    for section in ("dedup", "tags", "scores", "selection", "map", "judge"):
        assert "missing" in data[section], section
    out = tmp_path / "bare.html"
    result = CliRunner().invoke(cli, ["report", str(st.root), "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.count('class="missing">Not shown') == 6 and 'id="fig-sources"' in html


def test_a_file_it_did_not_write_is_never_replaced(tmp_path):
    st = ingest(tmp_path)
    mine = tmp_path / "notes.html"
    mine.write_text("my notes")
    result = CliRunner().invoke(cli, ["report", str(st.root), "-o", str(mine)])
    assert result.exit_code != 0 and mine.read_text() == "my notes"
    out = tmp_path / "r.html"
    for _ in range(2):  # its own file: replaced
        assert CliRunner().invoke(cli, ["report", str(st.root), "-o", str(out)]).exit_code == 0


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)")
def test_headless_chromium_draws_it_without_errors(curated, tmp_path):
    st, subset = curated
    out = tmp_path / "report.html"
    assert (
        CliRunner()
        .invoke(cli, ["report", str(st.root), "--subset", str(subset), "-o", str(out)])
        .exit_code
        == 0
    )
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    shot = tmp_path / "shot.png"
    run = subprocess.run(
        [*common, "--window-size=1200,3000", f"--screenshot={shot}", "--enable-logging=stderr",
         "--v=0", out.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console  # no script error, no failed load
    assert png_size(shot) == (1200, 3000) and shot.stat().st_size > 30_000  # drawn, not blank
    dom = subprocess.run(
        [*common, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    for figure in FIGURES:
        assert f'id="{figure}"' in dom, figure
    points = dom.count('class="point"')
    assert points == st.num_rows()  # one dot per conversation of the map
