"""The whole loop from one config: ingest -> generate -> score (tiny ArmoRM) -> pairs -> train dpo.

Every model is tiny and random, built offline; the run is ``curate run`` as a user types it,
so the config sections of the three stages, their chaining (pairs reads the generated
store, train the pairs) and their rerun ("nothing to do") are checked together.
"""

import json
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from curate.store import Store
from tests.conftest import write_jsonl

QUESTIONS = [
    "How do I bake bread at home?",
    "Как испечь хлеб дома?",
    "如何在家烤麵包？",
    "What is the capital of France?",
    "Назови столицу Франции.",
    "法国的首都是哪里？",
]

CONFIG = """\
store: pool
ingest:
  inputs: [prompts.jsonl]
  workers: 0
generate:
  model: {chat}
  device: cpu
  into: samples
  n: 4
  temperature: 1.0
  max-new-tokens: 12
  score: [{{model: {armorm}, device: cpu}}]
pairs:
  output: pairs
  rejected: 2-worst
train:
  model: {chat}
  method: dpo
  lora: true
  max-steps: 4
  batch-size: 4
  max-length: 64
  save-steps: 2
  logging-steps: 1
  device: cpu
  output: dpo-model
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from curate.testing.tiny_models import write_armorm_checkpoint, write_tiny_chat_model

    root = tmp_path_factory.mktemp("loop-models")
    return write_tiny_chat_model(root / "chat"), write_armorm_checkpoint(root / "armorm")


def curate_run(config, *args):
    return subprocess.run(
        [sys.executable, "-m", "curate", "run", str(config), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_generate_score_pairs_train_dpo_from_one_config(models, tmp_path):
    chat, armorm = models
    write_jsonl(tmp_path / "prompts.jsonl", [{"instruction": q} for q in QUESTIONS])
    config = tmp_path / "loop.yaml"
    config.write_text(CONFIG.format(chat=chat, armorm=armorm))
    started = time.perf_counter()
    proc = curate_run(config)
    first_wall = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr[-3000:]

    samples = Store.open(tmp_path / "samples")
    generated = samples.manifest("generate")["counts"]
    assert generated["prompts"] == len(QUESTIONS) and generated["samples_requested"] == 24
    scores = samples.read(columns=["prompt_id", "flags"], sidecars=["score.armorm"]).to_pylist()
    assert len(scores) == generated["generated"]
    # every reply is scored; an empty one (the model ended at once: kept, flagged) has no score
    assert all((r["armorm_score"] is None) == ("empty_turn" in r["flags"]) for r in scores)

    report = json.loads((tmp_path / "pairs" / "report.json").read_text())
    assert report["kind"] == "pairs" and report["pairs"] > 0
    pairs = pq.read_table(tmp_path / "pairs" / "pairs.parquet").to_pylist()
    assert all(p["margin"] > 0 and p["chosen_score"] > p["rejected_score"] for p in pairs)
    assert {p["prompt_id"] for p in pairs} <= {r["prompt_id"] for r in scores}

    model_dir = tmp_path / "dpo-model"
    manifest = json.loads((model_dir / "curate_train.json").read_text())
    assert manifest["status"] == "complete" and manifest["method"] == "dpo"
    losses = [point["loss"] for point in manifest["loss_curve"] if "loss" in point]
    assert losses and abs(losses[0] - 0.6931) < 1e-2  # DPO starts at ln 2
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(chat, use_safetensors=True)
    assert PeftModel.from_pretrained(base, model_dir) is not None

    again = curate_run(config)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("nothing to do") + again.stderr.count("nothing to do") >= 3
    assert first_wall < 300  # about two minutes or less in CI, with room for a slow machine
