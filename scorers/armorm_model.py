"""The torch side of :mod:`scorers.armorm`: the ArmoRM architecture and its checkpoint loader.

Imported by :meth:`scorers.armorm.ArmoRMScorer.load` (and, lazily, as
``scorers.armorm.ArmoRMRewardModel`` ...), so that importing the scorer and
constructing it import no torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import LlamaConfig, LlamaModel
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from curate.errors import CurateError
from curate.models.hub import read_config, weight_files
from scorers.armorm import ARCHITECTURE, HEAD_PREFIXES, find_last


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
