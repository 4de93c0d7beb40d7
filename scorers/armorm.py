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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torch import nn
from transformers import LlamaConfig, LlamaModel
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from curate.errors import CurateError
from curate.models.hub import read_config, weight_files
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


class GatingNetwork(nn.Module):
    """Prompt hidden state -> objective weights: MLP, then ``softmax(x / T) * logit_scale``."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden_dim: int,
        n_hidden: int,
        temperature: float,
    ):
        super().__init__()
        sizes = [in_features] + [hidden_dim] * n_hidden
        layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        layers.append(nn.Linear(sizes[-1], out_features))
        self.layers = nn.ModuleList(layers)
        self.logit_scale = nn.Parameter(torch.ones(1))
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        x = self.layers[-1](x)
        return torch.softmax(x / self.temperature, dim=-1) * self.logit_scale[0]


@dataclass
class ArmoRMOutput:
    score: torch.Tensor  # (batch,)
    rewards: torch.Tensor  # (batch, 19) per-objective rewards
    gating: torch.Tensor  # (batch, 19) objective weights


class ArmoRMRewardModel(nn.Module):
    """``LlamaForRewardModelWithGating`` with the official module (and state-dict) names."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        self.num_objectives = int(getattr(config, "num_objectives", 19))
        self.model = LlamaModel(config)
        self.regression_layer = nn.Linear(config.hidden_size, self.num_objectives, bias=False)
        self.gating = GatingNetwork(
            config.hidden_size,
            self.num_objectives,
            hidden_dim=int(getattr(config, "gating_hidden_dim", 1024)),
            n_hidden=int(getattr(config, "gating_n_hidden", 3)),
            temperature=float(getattr(config, "gating_temperature", 10)),
        )
        self.reward_transform_matrix = nn.Parameter(
            torch.eye(self.num_objectives), requires_grad=False
        )

    def heads(self, last_hidden: torch.Tensor, prompt_hidden: torch.Tensor) -> ArmoRMOutput:
        """Rewards, gating and score from the two pooled hidden states (float32)."""
        rewards = self.regression_layer(last_hidden.float())
        gating = self.gating(prompt_hidden.float())
        score = (gating * (rewards @ self.reward_transform_matrix)).sum(dim=1)
        return ArmoRMOutput(score=score, rewards=rewards, gating=gating)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        last_index: torch.Tensor | None = None,
        gate_index: torch.Tensor | None = None,
    ) -> ArmoRMOutput:
        """Scores a right-padded batch.

        ``last_index`` defaults to each row's last attended position (all positions
        without a mask) and ``gate_index`` to the start of the row's last gating
        pattern (found on the host: pass it in when scoring many rows, as
        :class:`ArmoRMScorer` does). With right padding the mask may be left out:
        under causal attention a real token never sees the pads after it, and
        SDPA then runs its fastest (flash) kernel.
        """
        if last_index is None:
            last_index = (
                attention_mask.sum(dim=1) - 1
                if attention_mask is not None
                else torch.full(
                    (input_ids.shape[0],), input_ids.shape[1] - 1, device=input_ids.device
                )
            )
        if gate_index is None:
            pattern = getattr(self, "gating_pattern", None)
            if pattern is None:
                raise ValueError("set model.gating_pattern (token ids) or pass gate_index")
            gate_index = torch.tensor(
                [
                    find_last(ids[: int(n) + 1].cpu().numpy(), pattern)
                    for ids, n in zip(input_ids, last_index)
                ],
                device=input_ids.device,
            )
            if (gate_index < 0).any():
                raise ValueError("gating token pattern not found in a row")
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        return self.heads(hidden[rows, last_index], hidden[rows, gate_index])


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


def _checkpoint_files(directory: Path) -> list[Path]:
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [directory / n for n in names]
    return weight_files(directory)


def load_armorm(
    directory: str | Path, device: str = "cpu", dtype: Any = torch.float32
) -> ArmoRMRewardModel:
    """Build the model from ``config.json`` and load its safetensors; any key mismatch is an error."""
    from safetensors.torch import load_file

    directory = Path(directory)
    raw = read_config(directory)
    if ARCHITECTURE not in (raw.get("architectures") or []):
        raise CurateError(
            f"{directory} is not an ArmoRM checkpoint (architectures: {raw.get('architectures')}, "
            f"expected {ARCHITECTURE}); use it as a generic reward model instead"
        )
    config = LlamaConfig.from_pretrained(directory)
    config._attn_implementation = "sdpa"
    with torch.device("meta"):
        model = ArmoRMRewardModel(config)
    expected = set(model.state_dict())
    state: dict[str, torch.Tensor] = {}
    for path in _checkpoint_files(directory):
        state.update(load_file(str(path), device=str(device)))
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise CurateError(
            f"{directory}: the checkpoint does not match ArmoRM's architecture; "
            f"missing weights: {missing[:5] or 'none'}; unexpected weights: {unexpected[:5] or 'none'}"
        )
    for name, tensor in state.items():
        want = torch.float32 if name.startswith(HEAD_PREFIXES) else dtype
        if tensor.dtype != want:
            state[name] = tensor.to(want)
    model.load_state_dict(state, strict=True, assign=True)
    model.reward_transform_matrix.requires_grad_(False)
    with torch.device(device):  # non-persistent buffers are not in the checkpoint
        model.model.rotary_emb = LlamaRotaryEmbedding(config)
    leftover = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if leftover:
        raise CurateError(f"{directory}: tensors left unloaded: {leftover[:5]}")
    return model.eval()


class ArmoRMScorer(RewardModelScorer):
    """ArmoRM: the score, the 19 objective rewards and the gating weights per conversation."""

    def _load_model(self) -> ArmoRMRewardModel:
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
