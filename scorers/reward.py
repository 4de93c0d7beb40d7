"""Reward models from transformers: the shared scoring loop, and generic single-output models.

:class:`RewardModelScorer` scores with any ``AutoModelForSequenceClassification``
reward model that has one output (Skywork-Reward, ...). :class:`ArmoRMScorer`
(in :mod:`scorers.armorm`) reuses the same loop with its own model and heads.

Throughput, and why the results do not depend on batching:

* Conversations are rendered and tokenized in :meth:`prepare` (CPU; the score
  stage runs it in a background thread for the next chunk while the model works).
* Rows are sorted by length and packed to a token budget (:mod:`curate.models.batching`),
  padded on the right; bf16 and SDPA attention on GPU. Decoder models need no
  attention mask: under causal attention a real token never attends to the pads
  after it, so SDPA can use its flash kernel (a mask would force a slower one).
* The pooled token is each row's last real token, taken from its length, not
  found by searching for the pad id: a tokenizer whose pad token is its eos token
  would otherwise score the wrong token. Decoder models run their backbone and
  apply their ``score`` head to that one hidden state per row.
* Results stay on the device until the whole chunk is done, then come back in one
  transfer: no host-device round trip per row or per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curate.errors import CurateError
from curate.models.batching import pad_right, plan_batches
from curate.models.device import resolve_device, resolve_dtype
from curate.models.hub import model_dir, model_identity, weight_files
from curate.plugins import Requirement
from scorers import chat
from scorers.base import Conversation, Progress, Scorer

DEFAULT_MAX_LENGTH = 8192
DEFAULT_TOKEN_BUDGET = {"cuda": 32768, "cpu": 2048}  # CPU: larger batches spill the caches


class RewardModelScorer(Scorer):
    """A transformers reward model: conversation in, one scalar out (plus what subclasses add)."""

    name = "reward"
    requires = (
        Requirement("torch", "pip install torch"),
        Requirement("transformers", "pip install transformers"),
        Requirement("safetensors", "pip install safetensors"),
    )

    def __init__(
        self,
        model: str,
        key: str,
        device: str | None = None,
        dtype: str | None = "auto",
        max_length: int | None = None,
        token_budget: int | None = None,
        max_batch_size: int = 512,
        revision: str | None = None,
    ):
        self.model_ref = model
        self.key = key
        self.device_option = device
        self.dtype_option = dtype or "auto"
        self.max_length_option = max_length
        self.token_budget_option = token_budget
        self.max_batch_size = max_batch_size
        self.revision = revision
        self.model: Any = None
        self.tokenizer: Any = None

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        self.check_requires()
        from transformers import AutoTokenizer

        self.directory = model_dir(self.model_ref, self.revision)
        weight_files(self.directory)  # refuses pickled weights before anything is read
        self.device = resolve_device(self.device_option)
        self.dtype = resolve_dtype(self.dtype_option, self.device)
        self.tokenizer = AutoTokenizer.from_pretrained(self.directory, trust_remote_code=False)
        self.model = self._load_model()
        self._setup()

    def use_loaded(self, model: Any, tokenizer: Any, device: str, dtype: Any) -> RewardModelScorer:
        """Score with a model already in memory (benchmarks on random weights); no file is read."""
        self.directory, self.device, self.dtype = None, device, dtype
        self.model, self.tokenizer = model, tokenizer
        self._setup()
        return self

    def _setup(self) -> None:
        limit = getattr(self.model.config, "max_position_embeddings", None) or DEFAULT_MAX_LENGTH
        self.max_length = int(self.max_length_option or min(limit, DEFAULT_MAX_LENGTH))
        if self.max_length > limit:
            raise CurateError(
                f"--max-length {self.max_length} is longer than the model's {limit} positions"
            )
        kind = "cuda" if self.device.startswith("cuda") else "cpu"
        self.token_budget = int(self.token_budget_option or DEFAULT_TOKEN_BUDGET[kind])
        self.pad_multiple = 8 if kind == "cuda" else 1
        self.pad_id = self._pad_id()
        self.encoder = chat.ChatEncoder(self.tokenizer, self.max_length)

    def _load_model(self) -> Any:
        import torch
        from transformers import AutoConfig, AutoModelForSequenceClassification

        config = AutoConfig.from_pretrained(self.directory, trust_remote_code=False)
        if getattr(config, "num_labels", 1) != 1:
            raise CurateError(
                f"{self.model_ref} has {config.num_labels} outputs; a reward model has one"
            )
        try:
            model, info = AutoModelForSequenceClassification.from_pretrained(
                self.directory,
                dtype=self.dtype,
                use_safetensors=True,
                trust_remote_code=False,
                attn_implementation="sdpa",
                output_loading_info=True,
            )
        except ValueError as exc:
            raise CurateError(
                f"cannot load {self.model_ref} as a sequence-classification reward model: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        if info.get("missing_keys"):
            raise CurateError(
                f"{self.model_ref}: weights missing from the checkpoint "
                f"({', '.join(sorted(info['missing_keys'])[:5])}): it is not a reward model "
                "checkpoint, or not one for this architecture (its head would be random)"
            )
        model.to(self.device).eval()
        self._decoder_head = None
        head = getattr(model, "score", None)
        if isinstance(head, torch.nn.Linear) and model.base_model is not model:
            self._decoder_head = head
        return model

    def _pad_id(self) -> int:
        for candidate in (
            self.tokenizer.pad_token_id,
            getattr(self.model.config, "pad_token_id", None),
            self.tokenizer.eos_token_id,
        ):
            if candidate is not None:
                return int(candidate)
        return 0

    # -- what is recorded ----------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        return {
            "model": self.model_ref,
            "scorer": type(self).__name__,
            "dtype": str(self.dtype).removeprefix("torch."),
            "max_length": self.max_length,
            "truncation": "drop earliest exchanges, then cut tokens from the left",
        }

    def identity(self) -> dict[str, Any]:
        return model_identity(self.model_ref, Path(self.directory))

    def schema(self) -> pa.Schema:
        p = self.prefix
        return pa.schema(
            [
                (f"{p}_score", pa.float32()),
                *self._extra_fields(),
                (f"{p}_status", pa.string()),
                (f"{p}_tokens", pa.int32()),
                (f"{p}_turns_dropped", pa.int32()),
                (f"{p}_tokens_cut", pa.int32()),
            ]
        )

    def _extra_fields(self) -> list[tuple[str, pa.DataType]]:
        return []

    # -- scoring -------------------------------------------------------------------------
    def prepare(self, conversations: Sequence[Conversation]) -> chat.Encoded:
        return self.encoder.encode(conversations)

    def run(self, prepared: chat.Encoded, progress: Progress | None = None) -> dict[str, pa.Array]:
        import torch

        enc = prepared
        rows_ok = np.flatnonzero(enc.scorable)
        lengths = enc.lengths
        pieces: list[tuple[np.ndarray, dict[str, Any]]] = []
        with torch.inference_mode():
            for batch in plan_batches(lengths[rows_ok], self.token_budget, self.max_batch_size):
                rows = rows_ok[batch]
                input_ids, mask, last = pad_right(
                    [enc.ids[r] for r in rows], self.pad_id, self.pad_multiple
                )
                tensors = self._to_device(input_ids, mask, last)
                pieces.append((rows, self._forward(*tensors, rows=rows, enc=enc)))
                if progress is not None:
                    progress(len(rows), int(lengths[rows].sum()))
            outputs = self._gather(pieces, len(enc))
        if progress is not None and len(rows_ok) < len(enc):
            progress(len(enc) - len(rows_ok), 0)  # failures are done too
        return self._columns(enc, outputs)

    def _to_device(self, *arrays: np.ndarray) -> list[Any]:
        import torch

        pinned = self.device.startswith("cuda")
        out = []
        for array in arrays:
            tensor = torch.from_numpy(array)
            if pinned:
                tensor = tensor.pin_memory().to(self.device, non_blocking=True)
            out.append(tensor)
        return out

    def _forward(self, input_ids, attention_mask, last, rows, enc) -> dict[str, Any]:
        """Per-row outputs (tensors on the device) for one padded batch."""
        import torch

        if self._decoder_head is not None:
            # right padding + causal attention: a real token never sees the pads after
            # it, so no mask is passed and SDPA runs its fastest (flash) kernel
            hidden = self.model.base_model(input_ids=input_ids).last_hidden_state
            pooled = hidden[torch.arange(len(last), device=hidden.device), last]
            logits = self._decoder_head(pooled)
        else:  # encoders pool on their own (first token), padding is masked
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        return {"score": logits[:, 0].float()}

    @staticmethod
    def _gather(pieces: list[tuple[np.ndarray, dict[str, Any]]], n: int) -> dict[str, np.ndarray]:
        """All batches' outputs in input row order, in one device-to-host transfer per output."""
        import torch

        if not pieces:
            return {}
        rows = np.concatenate([r for r, _ in pieces])
        out = {}
        for name in pieces[0][1]:
            values = torch.cat([p[name] for _, p in pieces]).float().cpu().numpy()
            full = np.full((n, *values.shape[1:]), np.nan, dtype=np.float32)
            full[rows] = values
            out[name] = full
        return out

    def _columns(self, enc: chat.Encoded, outputs: dict[str, np.ndarray]) -> dict[str, pa.Array]:
        p = self.prefix
        failed = ~enc.scorable
        columns: dict[str, pa.Array] = {}
        for field in self.schema():
            name = field.name.removeprefix(f"{p}_")
            if name not in outputs and name != "score":
                continue
            values = outputs.get(name, np.full(len(enc), np.nan, dtype=np.float32))
            if values.ndim == 1:
                columns[field.name] = pa.array(values, pa.float32(), mask=failed)
            else:
                flat = pa.array(values.reshape(-1), pa.float32())
                columns[field.name] = pa.FixedSizeListArray.from_arrays(
                    flat, values.shape[1], mask=pa.array(failed)
                )
        tokens = np.where(failed, 0, enc.lengths).astype(np.int32)
        columns[f"{p}_status"] = pa.array(enc.status, pa.string())
        columns[f"{p}_tokens"] = pa.array(tokens, pa.int32())
        columns[f"{p}_turns_dropped"] = pa.array(enc.turns_dropped, pa.int32())
        columns[f"{p}_tokens_cut"] = pa.array(enc.tokens_cut, pa.int32())
        return {f.name: columns[f.name] for f in self.schema()}
