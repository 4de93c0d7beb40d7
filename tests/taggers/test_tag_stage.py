"""``curate tag --tagger instag`` end to end: three backends, garbage, normalization, editable mapping, resume."""

from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from curate.cli import cli
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import SidecarWriter, Store
from curate.tag.stage import mapping_path, run_llm_raw_tags, run_normalize, tag_table_of
from taggers.instag import InstagTagger
from taggers.normalize import NormalizeParams
from tests.conftest import parquet_digests, write_jsonl

QUESTIONS = [
    "How do I bake bread at home?",
    "Как испечь хлеб дома?",
    "如何在家烤麵包？",
    "Sort a list in Python.",
    "Write a poem about the sea.",
    "What is 12 * 7?",
]


@pytest.fixture
def store(tmp_path):
    records = [
        {
            "messages": [
                {"role": "user", "content": f"{q} ({i})"},
                {"role": "assistant", "content": "Sure."},
            ]
        }
        for i in range(4)
        for q in QUESTIONS
    ]
    records.append({"messages": [{"role": "assistant", "content": "Nobody asked."}]})
    write_jsonl(tmp_path / "in.jsonl", records)
    Ingestor(
        [str(tmp_path / "in.jsonl")], tmp_path / "store", IngestOptions(shard_size=10), workers=0
    ).run()
    return Store.open(tmp_path / "store")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from curate.testing.tiny_models import write_tiny_chat_model

    return write_tiny_chat_model(tmp_path_factory.mktemp("llm") / "tiny-chat")


def check_garbage_recorded(store):
    raw = store.read_sidecar("tag.instag.raw")
    status = raw.column("tag_status").to_pylist()
    assert status.count("no_user_turn") == 1
    assert set(status) <= {"failed", "no_user_turn", "ok", "partial"}
    failed = [i for i, s in enumerate(status) if s == "failed"]
    assert len(failed) >= 20  # a random model writes no JSON list of English tags
    errors = raw.column("tag_error").to_pylist()
    assert all(errors[i] and "retry" in errors[i] for i in failed)
    tags_raw = raw.column("tags_raw").to_pylist()
    assert all(tags_raw[i] == [] for i in failed)  # nothing invented
    final = store.read_sidecar("tag.instag")
    assert final.num_rows == raw.num_rows


def test_tiny_model_through_transformers_backend(store, tiny_model):
    result = CliRunner().invoke(
        cli,
        [
            "tag",
            str(store.root),
            "--tagger",
            "instag",
            "--model",
            str(tiny_model),
            "--max-new-tokens",
            "16",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    check_garbage_recorded(store)
    manifest = store.manifest("sidecar.tag.instag.raw")
    assert manifest["params"]["backend"]["model"] == str(tiny_model)


def test_tiny_model_through_an_openai_compatible_server(store, tiny_model, monkeypatch):
    from curate.llm import resolve_backend
    from curate.testing.chat_server import serve_chat_completions

    backend = resolve_backend("transformers", str(tiny_model), device="cpu")
    backend.load()
    key = "sk-test-DO-NOT-STORE-1234"
    monkeypatch.setenv("TINY_KEY", key)
    with serve_chat_completions(backend, model="tiny", api_key=key) as server:
        result = CliRunner().invoke(
            cli,
            [
                "tag",
                str(store.root),
                "--tagger",
                "instag",
                "--backend",
                "openai",
                "--model",
                "tiny",
                "--api-base",
                server.api_base,
                "--api-key-env",
                "TINY_KEY",
                "--max-new-tokens",
                "16",
                "--concurrency",
                "4",
            ],
        )
    assert result.exit_code == 0, result.output
    check_garbage_recorded(store)
    for path in store.root.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert key not in result.output


def test_vllm_backend_missing_is_a_clear_error(store):
    result = CliRunner().invoke(
        cli,
        [
            "tag",
            str(store.root),
            "--tagger",
            "instag",
            "--backend",
            "vllm",
            "--model",
            "some/model",
        ],
    )
    assert result.exit_code != 0
    assert "vllm" in str(result.exception or result.output).lower()


@dataclass
class Reply:
    text: str | None
    error: str | None = None
    prompt_tokens: int = 1
    completion_tokens: int = 1


class TopicBackend:
    """A stand-in LLM that answers with fixed tags per topic (spelling variants included)."""

    name = "topics"

    def __init__(self):
        self.calls = 0

    def load(self):
        pass

    def identity(self):
        return {"backend": "topics"}

    def generate(self, prompts, params):
        self.calls += len(prompts)
        out = []
        for prompt in prompts:
            text = prompt[-1]["content"]
            if "bread" in text or "хлеб" in text or "麵包" in text:
                tags = (
                    ["Baking", "Recipe request"] if "(0)" in text else ["baking", "Recipe Requests"]
                )
            elif "Python" in text:
                tags = ["Python Programming", "Sorting"]
            else:
                tags = ["Creative writing" if "poem" in text else "Math calculation"]
            out.append(
                Reply("[" + ", ".join(f'{{"tag": "{t}", "explanation": "x"}}' for t in tags) + "]")
            )
        return out


def test_normalization_mapping_and_hand_edits(store, monkeypatch):
    backend = TopicBackend()
    run_llm_raw_tags(store, InstagTagger(backend))
    result = run_normalize(store, "instag", NormalizeParams(min_count=2, min_support=2), embed=None)
    table = store.read(columns=["id"], sidecars=["tag.instag"])
    tags = table.column("tags").to_pylist()
    flat = {t for ts in tags for t in ts}
    assert "baking" in flat and "Baking" not in flat  # spelling variants merged
    assert {r["tag"] for r in tag_table_of(result)} == flat
    assert all(p is None or p in ts for p, ts in zip(table.column("tag_primary").to_pylist(), tags))
    path = mapping_path(store, "instag")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("raw\tcanonical")
    edited = (
        "\n".join(
            line.replace("\tmath calculation\t", "\tarithmetic\t") for line in text.splitlines()
        )
        + "\n"
    )
    hand = store.root.parent / "edited.tsv"
    hand.write_text(edited, encoding="utf-8")
    calls = backend.calls
    out = CliRunner().invoke(
        cli, ["tag", str(store.root), "--tagger", "instag", "--mapping", str(hand)]
    )
    assert out.exit_code == 0, out.output
    assert backend.calls == calls  # no LLM call
    retagged = store.read(columns=["id"], sidecars=["tag.instag"]).column("tags").to_pylist()
    shown = CliRunner().invoke(cli, ["tags", str(store.root), "--tagger", "instag", "--json"])
    assert shown.exit_code == 0, shown.output
    rows = {r["tag"]: r for r in __import__("json").loads(shown.output)["tags"]}
    assert "Baking" in rows["baking"]["terms"] and rows["arithmetic"]["examples"]
    assert any("arithmetic" in ts for ts in retagged)
    assert not any("math calculation" in ts for ts in retagged)


def test_raw_tagging_resumes_without_asking_twice(store, tmp_path, monkeypatch):
    import shutil

    clean = Store.open(shutil.copytree(store.root, tmp_path / "clean"))
    run_llm_raw_tags(clean, InstagTagger(TopicBackend()), chunk_rows=4)
    original = SidecarWriter.write_part
    calls = {"n": 0}

    def crashing(self, index, start, table):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(self, index, start, table)

    monkeypatch.setattr(SidecarWriter, "write_part", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_llm_raw_tags(store, InstagTagger(TopicBackend()), chunk_rows=4)
    monkeypatch.undo()
    backend = TopicBackend()
    run_llm_raw_tags(store, InstagTagger(backend), chunk_rows=4)
    # shard 0 (10 rows, 3 chunks) was finished before the kill: 14 prompts are left
    assert backend.calls == 14

    def raw(root):
        return {k: v for k, v in parquet_digests(root).items() if "tag.instag.raw" in k}

    assert raw(store.root) == raw(clean.root)
