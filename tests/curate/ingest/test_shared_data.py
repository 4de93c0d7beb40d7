"""Ingest all of ../shared/data: every file reconciles, and the known noise shows up."""

from collections import Counter

import pyarrow.compute as pc
import pytest

from curate.export import export_jsonl
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store

# Reasons a whole file may be refused for (every record rejected, none ingested).
REFUSALS = {
    "joined_questions",
    "judge_output",
    "judge_template",
    "unrecognized_schema",
    "tool_call",
}


@pytest.fixture(scope="module")
def shared_store(shared_data, tmp_path_factory):
    store = tmp_path_factory.mktemp("shared") / "store"
    result = Ingestor([str(shared_data)], store, IngestOptions()).run()
    return result, Store.open(store)


def by_name(result, suffix):
    (stats,) = [f for f in result.files if f.file.endswith(suffix)]
    return stats


def test_every_file_reconciles_and_ingests_or_is_refused_for_a_reason(shared_store):
    result, _ = shared_store
    assert len(result.files) >= 120
    for f in result.files:
        assert f.balanced, f.file
        assert "adapter_error" not in f.rejected, (f.file, f.rejected)
        if f.ingested + f.duplicates == 0:
            assert set(f.rejected) <= REFUSALS and f.rejected_total == f.read, (f.file, f.rejected)


def test_known_noise_is_rejected_or_flagged(shared_store):
    result, store = shared_store
    assert by_name(result, "instructionwild_zh_en/user_2.jsonl").rejected["invalid_json"] == 2
    assert by_name(result, "instructionwild_zh_en/user_3.jsonl").rejected["invalid_json"] == 3
    malformed = by_name(result, "alpaca_data-9407-12345-zh-UNFINISHED-malformed.json")
    assert (
        dict(malformed.rejected) == {"invalid_json": 1}
        and malformed.ingested + malformed.duplicates == 2801
    )
    rejects = store.rejects().to_pylist()
    (trailing,) = [r for r in rejects if r["source"]["file"].endswith("malformed.json")]
    assert trailing["source"]["line"] == 14007 and "trailing comma" in trailing["detail"]
    assert (
        by_name(result, "Mistral-7B-OpenOrca.jsonl").duplicates == 80
    )  # byte-identical to EXAMPLE_MODEL

    base = store.read(columns=["source", "flags", "messages", "rejected", "lang"])
    files = pc.struct_field(base.column("source"), "file").to_pylist()
    flags = base.column("flags").to_pylist()

    def flag_count(suffix, flag):
        return sum(flag in fl for f, fl in zip(files, flags) if f.endswith(suffix))

    assert flag_count("sharegpt_zh_1K_format.jsonl", "ends_on_user") == 7
    assert flag_count("sharegpt_zh_1K_format.jsonl", "no_assistant") == 1
    assert (
        flag_count("sharegpt_zh_1K_format.jsonl", "empty_turn") == 1
    )  # the chat with 17 empty turns
    assert flag_count("alpaca_data_52k_en.json", "empty_turn") == 28  # 28 empty outputs
    assert flag_count("llamafactory_demo/identity.json", "placeholder") >= 80
    assert flag_count("Llama-2-70b-chat.jsonl", "template_tokens") >= 50  # leaked [INST] <<SYS>>


def test_preference_pairs_keep_the_rejected_answer(shared_store):
    result, _ = shared_store
    hh = by_name(result, "harmless-base_test.jsonl.gz")
    assert hh.preference == hh.ingested == 2312
    assert (
        by_name(result, "dpo_zh_500.jsonl").preference
        == by_name(result, "dpo_zh_500.jsonl").ingested
        > 0
    )
    assert by_name(result, "oaast_rm_zh.json").preference > 0


def test_moss_framing_is_removed(shared_store):
    _, store = shared_store
    base = store.read(columns=["format", "messages"])
    moss = [
        row
        for row, fmt in zip(base.column("messages").to_pylist(), base.column("format").to_pylist())
        if fmt == "moss"
    ]
    assert len(moss) > 600
    contents = [m["content"] for row in moss for m in row if m["role"] != "system"]
    assert not any(c.startswith("<|Human|>") or c.endswith("<eom>") for c in contents)


def test_languages(shared_store):
    _, store = shared_store
    base = store.read(columns=["source", "lang", "lang_user"])
    files = pc.struct_field(base.column("source"), "file").to_pylist()

    def share(suffix, column, value):
        values = [v for f, v in zip(files, base.column(column).to_pylist()) if suffix in f]
        return Counter(values)[value] / len(values)

    assert share("drcd_zh_tw/", "lang", "zh-Hant") > 0.99
    assert share("alpaca_data_52k_en.json", "lang", "en") > 0.99
    assert share("mt_bench_ru_saiga2_13b.jsonl", "lang_user", "ru") > 0.95
    assert share("medical_sft_1K_format.jsonl", "lang", "zh-Hans") > 0.95


def test_export_then_reingest_gives_the_same_ids(shared_store, tmp_path):
    _, store = shared_store
    for fmt in ("messages", "sharegpt"):
        out = tmp_path / f"export-{fmt}.jsonl.gz"
        assert export_jsonl(store, out, fmt) == store.num_rows()
        again = Ingestor([str(out)], tmp_path / f"again-{fmt}", IngestOptions()).run()
        assert again.totals.ingested == store.num_rows() and again.totals.rejected_total == 0
        assert (
            again.totals.preference
            == store.num_rows() - store.read(columns=["rejected"]).column("rejected").null_count
        )
        original = set(store.read(columns=["id"]).column("id").to_pylist())
        assert (
            set(Store.open(tmp_path / f"again-{fmt}").read(columns=["id"]).column("id").to_pylist())
            == original
        )
