"""Tiny random chat models on disk, and selection / pairs folders written as their stages write them."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

# a tiny repetitive SFT set: multilingual, multi-turn, with and without a system prompt; each
# fits in 128 tokens of the tiny tokenizer
CONVERSATIONS = [
    [
        {"role": "user", "content": "How do I bake bread at home?"},
        {"role": "assistant", "content": "Mix flour, water, salt and yeast, knead, rest and bake."},
    ],
    [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "解释机器学习。"},
        {"role": "assistant", "content": "从数据中学习规律。"},
        {"role": "user", "content": "Как испечь хлеб?"},
        {"role": "assistant", "content": "Смешайте муку и воду."},
    ],
    [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "The capital of France is Paris."},
    ],
]
# preference pairs: the chosen reply is right and short, the rejected one wrong
PAIRS = [
    ("What is the capital of France?", "The capital of France is Paris.", "London, I think."),
    ("How do I bake bread at home?", "Mix flour, water, salt and yeast.", "Bread is bad."),
    ("请用简单的话解释机器学习。", "机器学习是让计算机从数据中学习规律的方法。", "不知道。"),
    ("Как испечь хлеб дома?", "Смешайте муку, воду, соль и дрожжи.", "Never."),
]


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tiny models: a second thread only adds synchronisation on a busy 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The tiny Llama whose template is TRL's Llama 3 one (no markers: TRL's training version)."""
    from curate.testing.tiny_models import write_tiny_chat_model

    return write_tiny_chat_model(tmp_path_factory.mktemp("train") / "tiny-chat")


@pytest.fixture(scope="session")
def marked_model(tmp_path_factory) -> Path:
    """A tiny Llama whose own template has {% generation %} markers."""
    from curate.testing.tiny_models import write_tiny_training_model

    return write_tiny_training_model(tmp_path_factory.mktemp("train") / "tiny-marked")


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def write_selection(folder: Path, conversations=CONVERSATIONS, repeat: int = 8) -> Path:
    """subset.parquet (with select's why-columns), subset.jsonl and report.json."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "id": f"c{i:03d}",
            "messages": conv,
            "lang": "en",
            "tags": ["demo"],
            "bucket": "demo",
            "rank": i,
            "combined_score": 1.0 - i / 100,
            "reason": "quota",
        }
        for i, conv in enumerate(list(conversations) * repeat)
    ]
    pq.write_table(pa.Table.from_pylist(rows), folder / "subset.parquet")
    _jsonl(folder / "subset.jsonl", [{"id": r["id"], "messages": r["messages"]} for r in rows])
    (folder / "report.json").write_bytes(
        orjson.dumps({"options": {}, "inputs": {}, "selected": len(rows)})
    )
    return folder


def pair_rows(repeat: int = 4) -> list[dict]:
    rows = []
    for i, (q, good, bad) in enumerate(PAIRS * repeat):
        rows.append(
            {
                "id": f"p{i:03d}",
                "prompt": [{"role": "user", "content": q}],
                "chosen": [{"role": "assistant", "content": good}],
                "rejected": [{"role": "assistant", "content": bad}],
                "prompt_id": f"q{i % len(PAIRS)}",
                "chosen_id": f"a{i}",
                "rejected_id": f"b{i}",
                "origin": "scores",
                "chosen_score": 1.0,
                "rejected_score": 0.0,
                "margin": 1.0,
                "lang": "en",
                "tags": ["demo"],
            }
        )
    return rows


def write_pairs(folder: Path, repeat: int = 4) -> Path:
    """pairs.jsonl, pairs.parquet (with the metadata columns) and report.json, as curate pairs writes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rows = pair_rows(repeat)
    pq.write_table(pa.Table.from_pylist(rows), folder / "pairs.parquet")
    _jsonl(
        folder / "pairs.jsonl",
        [{k: r[k] for k in ("id", "prompt", "chosen", "rejected")} for r in rows],
    )
    (folder / "report.json").write_bytes(orjson.dumps({"kind": "pairs", "pairs": len(rows)}))
    return folder


def train_options(data, model, output, **overrides):
    """Small, fast options for the tiny models (CPU, 128 tokens, a few steps)."""
    from curate.train.options import TrainOptions

    values = dict(
        data=str(data),
        model=str(model),
        output=str(output),
        device="cpu",
        max_length=128,
        max_steps=30,
        batch_size=4,
        learning_rate=3e-3,
        logging_steps=1,
        save_steps=0,
        seed=0,
    )
    values.update(overrides)
    return TrainOptions(**values)
