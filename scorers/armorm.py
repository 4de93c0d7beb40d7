"""ArmoRM (``RLHFlow/ArmoRM-Llama3-8B-v0.1``), implemented here: no remote code.

The published checkpoint needs its authors' class ``LlamaForRewardModelWithGating``
(``trust_remote_code``). This module rebuilds that architecture from its public
description and loads the official ``config.json`` and safetensors, failing on
any missing or unexpected weight:

* ``model``: a Llama backbone (``LlamaModel``, no LM head). Vocabulary 128257:
  ``[PAD]`` (id 128256) was added as the pad token.
* ``regression_layer``: Linear(hidden -> 19, no bias) on the final-norm hidden
  state of the **last real token** (the reply's closing ``<|eot_id|>``): the 19
  objective rewards (:data:`OBJECTIVES`).
* ``gating``: ``gating_n_hidden`` Linear+ReLU layers (hidden -> 1024 -> 1024 ->
  1024) and Linear(1024 -> 19), all with bias, then ``softmax(x / T) *
  logit_scale``. Its input is the hidden state at the start of the **last**
  occurrence of ``<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n``
  (the ``<|eot_id|>`` closing the prompt of the final reply). The pattern's ids
  come from the tokenizer, so a small test tokenizer with the same special tokens
  works through the same code.
* ``reward_transform_matrix`` (19 x 19, stored in the checkpoint):
  ``score = sum(gating * (rewards @ reward_transform_matrix), dim=1)``, unbounded.

The three heads run in float32 on the backbone's (bf16) hidden states.

The torch modules and the loader live in :mod:`scorers.armorm_model` (imported by
``load()``, and here on first use of their names): importing this module and
constructing an :class:`ArmoRMScorer` import no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from curate.errors import CurateError
from scorers import chat
from scorers.reward import RewardModelScorer

HUB_ID = "RLHFlow/ArmoRM-Llama3-8B-v0.1"
ARCHITECTURE = "LlamaForRewardModelWithGating"
GATING_PATTERN = "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
OBJECTIVES = (
    "helpsteer-helpfulness",
    "helpsteer-correctness",
    "helpsteer-coherence",
    "helpsteer-complexity",
    "helpsteer-verbosity",
    "ultrafeedback-overall_score",
    "ultrafeedback-instruction_following",
    "ultrafeedback-truthfulness",
    "ultrafeedback-honesty",
    "ultrafeedback-helpfulness",
    "beavertails-is_safe",
    "prometheus-score",
    "argilla-overall_quality",
    "argilla-judge_lm",
    "code-complexity",
    "code-style",
    "code-explanation",
    "code-instruction-following",
    "code-readability",
)
HEAD_PREFIXES = ("regression_layer.", "gating.", "reward_transform_matrix")

#: torch-side names, defined in :mod:`scorers.armorm_model` and imported on first use
_MODEL_NAMES = frozenset({"GatingNetwork", "ArmoRMOutput", "ArmoRMRewardModel", "load_armorm"})


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        from scorers import armorm_model

        return getattr(armorm_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def find_last(ids: np.ndarray, pattern: np.ndarray) -> int:
    """Start of the last occurrence of ``pattern`` in ``ids``, or -1."""
    k = len(pattern)
    if len(ids) < k:
        return -1
    windows = np.lib.stride_tricks.sliding_window_view(ids, k)
    hits = np.flatnonzero((windows == pattern).all(axis=1))
    return int(hits[-1]) if len(hits) else -1


def gating_pattern_ids(tokenizer: Any) -> np.ndarray:
    """The gating pattern's token ids, from the tokenizer (128009, 128006, 78191, 128007, 271 for Llama 3)."""
    ids = tokenizer.encode(GATING_PATTERN, add_special_tokens=False)
    specials = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}))
    if not ids or ids[0] not in specials:
        raise CurateError(
            "this tokenizer does not know Llama 3's <|eot_id|> / <|start_header_id|> tokens "
            "that ArmoRM's gating needs: it is not an ArmoRM checkpoint"
        )
    return np.asarray(ids, dtype=np.int32)


class ArmoRMScorer(RewardModelScorer):
    """ArmoRM: the score, the 19 objective rewards and the gating weights per conversation."""

    name = "armorm"

    def _load_model(self) -> Any:
        from scorers.armorm_model import load_armorm

        return load_armorm(self.directory, self.device, self.dtype)

    def _setup(self) -> None:
        self.gating_pattern = gating_pattern_ids(self.tokenizer)
        self.model.gating_pattern = self.gating_pattern
        pad = self.tokenizer.pad_token_id
        if pad is None or pad == self.tokenizer.eos_token_id:
            raise CurateError(
                f"{self.model_ref}: the tokenizer's pad token is {self.tokenizer.pad_token!r}; "
                "ArmoRM's is [PAD] (id 128256), distinct from <|eot_id|>: wrong tokenizer files"
            )
        super()._setup()

    def _pad_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    def _extra_fields(self) -> list[tuple[str, pa.DataType]]:
        n = len(OBJECTIVES)
        return [
            (f"{self.prefix}_rewards", pa.list_(pa.float32(), n)),
            (f"{self.prefix}_gating", pa.list_(pa.float32(), n)),
        ]

    def params(self) -> dict[str, Any]:
        return {**super().params(), "gating_pattern": GATING_PATTERN}

    def manifest_extra(self) -> dict[str, Any]:
        return {"objectives": list(OBJECTIVES)}

    def prepare(self, conversations) -> chat.Encoded:
        enc = super().prepare(conversations)
        gate = np.full(len(enc), -1, dtype=np.int64)
        for row in np.flatnonzero(enc.scorable):
            gate[row] = find_last(enc.ids[row], self.gating_pattern)
            if gate[row] < 0:  # cut away by left truncation, or no prompt before the reply
                enc.fail(int(row), chat.TOO_LONG if enc.tokens_cut[row] else chat.NO_PROMPT)
        enc.extra["gate"] = gate
        return enc

    def _forward(self, input_ids, attention_mask, last, rows, enc) -> dict[str, Any]:
        (gate,) = self._to_device(enc.extra["gate"][rows])
        # right padding + causal attention: no mask needed (see ArmoRMRewardModel.forward)
        out = self.model(input_ids, None, last_index=last, gate_index=gate)
        return {"score": out.score, "rewards": out.rewards, "gating": out.gating}
