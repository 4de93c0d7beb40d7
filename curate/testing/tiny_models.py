"""Tiny random models in the official layouts, built offline: test and benchmark helpers.

No model hub is needed, and nothing here imports a plugin (``scorers``,
``taggers``): the ArmoRM reference below is self-contained.

* :func:`build_llama3_tokenizer`: a byte-level BPE tokenizer trained with
  ``tokenizers`` on a few sentences, with Llama 3's special tokens, its chat
  template, ``<|eot_id|>`` as eos and ``[PAD]`` added last as the pad token,
  as in ArmoRM's tokenizer.
* :class:`ReferenceArmoRM`: a port of the authors' published
  ``LlamaForRewardModelWithGating`` (their ``modeling_custom.py``), written
  independently of :mod:`scorers.armorm`: it writes checkpoints in the official
  layout and is the reference the native implementation is checked against.
  Its forward is the model card's: one padded batch, the pooled token found by
  searching for the pad id, the gating pattern found by a Python loop per row.
* :func:`write_armorm_checkpoint`, :func:`write_reward_checkpoint`: tiny random
  reward models saved with ``save_pretrained`` (safetensors).
* :func:`write_tiny_chat_model`: a 2-layer random ``LlamaForCausalLM`` with the
  Llama-3-style tokenizer and chat template, for the generation backends.
* :data:`LLAMA3_TRAINING_TEMPLATE`, :func:`write_tiny_training_model`: the same
  template with ``{% generation %}`` markers around each assistant reply (its
  content and ``<|eot_id|>``), as assistant-only SFT loss needs; it renders the
  same text as :data:`LLAMA3_TEMPLATE`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import LlamaConfig, LlamaModel, LlamaPreTrainedModel

LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
LLAMA3_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
]
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
# LLAMA3_TEMPLATE with {% generation %} markers: the reply and its end-of-turn token are the
# assistant's tokens (what assistant-only SFT loss trains on)
LLAMA3_TRAINING_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.index0 == 0 %}{{ bos_token }}{% endif %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% generation %}{{ message['content'] | trim + '<|eot_id|>' }}{% endgeneration %}"
    "{% else %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    " + message['content'] | trim + '<|eot_id|>' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
CORPUS = [
    "You are a helpful assistant.",
    "How do I bake bread at home? Mix flour, water, salt and yeast, knead, rest and bake.",
    "What is the capital of France? The capital of France is Paris.",
    "Write a short poem about the sea and the wind over the waves.",
    "请用简单的话解释机器学习。机器学习是让计算机从数据中学习规律的方法。",
    "請用簡單的話解釋機器學習。機器學習是讓電腦從資料中學習規律的方法。",
    "Как испечь хлеб дома? Смешайте муку, воду, соль и дрожжи.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
    "assistant user system\n\n12345 67890",
]

# multilingual, single and multi-turn, with and without a system prompt
SAMPLE_CONVERSATIONS = [
    [
        {"role": "user", "content": "How do I bake bread at home?"},
        {"role": "assistant", "content": "Mix flour, water, salt and yeast, knead, rest and bake."},
    ],
    [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "请用简单的话解释机器学习。"},
        {"role": "assistant", "content": "机器学习是让计算机从数据中学习规律的方法。"},
        {"role": "user", "content": "Как испечь хлеб дома?"},
        {"role": "assistant", "content": "Смешайте муку, воду, соль и дрожжи."},
    ],
    [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
    ],
    [
        {"role": "user", "content": "請用簡單的話解釋機器學習。"},
        {"role": "assistant", "content": "機器學習是讓電腦從資料中學習規律的方法。" * 3},
        {"role": "user", "content": "def add(a, b): return a + b"},
        {"role": "assistant", "content": "print(add(2, 3))"},
    ],
]


def build_llama3_tokenizer(
    pad_token: str = "[PAD]", corpus: list[str] | None = None, vocab_size: int = 400
) -> Any:
    """A Llama-3-style fast tokenizer; ``pad_token`` may be ``"<|eot_id|>"`` to mimic a careless setup.

    Benchmarks train it on their own texts with a large ``vocab_size`` so that token
    counts come close to a real tokenizer's.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=LLAMA3_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus or CORPUS * 5, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        chat_template=LLAMA3_TEMPLATE,
    )
    if pad_token == "[PAD]":
        fast.add_special_tokens({"pad_token": "[PAD]"})
    else:
        fast.pad_token = pad_token
    return fast


class ReferenceGatingNetwork(nn.Module):
    def __init__(
        self,
        in_features,
        out_features,
        bias=True,
        temperature=10,
        logit_scale=1.0,
        hidden_dim=1024,
        n_hidden=3,
    ):
        super().__init__()
        self.temperature = temperature
        self.logit_scale = nn.Parameter(torch.ones(1) * logit_scale)
        layers = []
        for _ in range(n_hidden):
            layers.append(nn.Linear(in_features, hidden_dim))
            in_features = hidden_dim
        layers.append(nn.Linear(in_features, out_features, bias=bias))
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        x = torch.softmax(x / self.temperature, dim=1)
        return x * self.logit_scale[0]


class LlamaForRewardModelWithGating(LlamaPreTrainedModel):
    """The published architecture, as its authors wrote it (class name kept for ``architectures``)."""

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model = LlamaModel(config)
        n = getattr(config, "num_objectives", 19)
        self.regression_layer = nn.Linear(config.hidden_size, n, bias=False)
        self.post_init()
        eye = torch.zeros(n, n)
        eye[range(n), range(n)] = 1.0
        self.reward_transform_matrix = nn.Parameter(eye, requires_grad=False)
        self.gating = ReferenceGatingNetwork(
            config.hidden_size,
            n,
            temperature=getattr(config, "gating_temperature", 10),
            hidden_dim=getattr(config, "gating_hidden_dim", 1024),
            n_hidden=getattr(config, "gating_n_hidden", 3),
        )
        self.token_pattern: list[int] = []

    def find_token_for_gating(self, lst: list[int]) -> int:
        k = len(self.token_pattern)
        for j in range(len(lst) - k, -1, -1):
            if lst[j : j + k] == self.token_pattern:
                return j
        raise ValueError("Token pattern not found in the list.")

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> dict:
        hidden = self.model(input_ids, attention_mask=attention_mask).last_hidden_state
        batch = input_ids.shape[0]
        pad = self.config.pad_token_id
        # the authors' pooling: the token before the first pad id (or the last token)
        lengths = torch.eq(input_ids, pad).int().argmax(-1) - 1
        lengths = lengths % input_ids.shape[-1]
        rows = torch.arange(batch)
        rewards = self.regression_layer(hidden[rows, lengths])
        gate_pos = [self.find_token_for_gating(ids.tolist()) for ids in input_ids]
        gating = self.gating(hidden[rows, gate_pos, :])
        score = torch.sum(gating * (rewards @ self.reward_transform_matrix), dim=1)
        return {"score": score, "rewards": rewards, "gating_output": gating}


ReferenceArmoRM = LlamaForRewardModelWithGating


#: Llama shapes by name (:func:`llama_config`)
LLAMA_SHAPES: dict[str, dict[str, Any]] = {
    "tiny": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
    ),
    "small": dict(
        hidden_size=512,
        intermediate_size=1536,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=4,
        max_position_embeddings=8192,
    ),
    # bench_train / bench_generate on a GPU: hidden 2048, 24 layers, GQA 16/8 heads, SwiGLU
    # 8192, a 32k vocabulary (1.64 B parameters)
    "1.5b": dict(
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=24,
        num_attention_heads=16,
        num_key_value_heads=8,
        max_position_embeddings=4096,
    ),
    "7b": dict(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
    ),
    "8b": dict(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        vocab_size=128257,
    ),
}


def llama_config(tokenizer: Any, size: str = "tiny", **overrides: Any) -> LlamaConfig:
    """A Llama config of one of :data:`LLAMA_SHAPES` (``tiny`` for tests, ``small`` for CPU
    benchmarks, ``1.5b``, ``7b`` and ``8b`` for GPU ones) with ``tokenizer``'s vocabulary."""
    shapes = LLAMA_SHAPES[size]
    values = dict(
        vocab_size=len(tokenizer),
        rope_theta=500000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        initializer_range=0.1,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    values.update(shapes)
    values.update(overrides)
    return LlamaConfig(**values)


def save_random_llama(
    directory: str | Path, tokenizer: Any, config: LlamaConfig, device: str = "cuda"
) -> Path:
    """A random-weight LlamaForCausalLM of ``config`` in bf16 on ``device``, saved with
    ``tokenizer`` as safetensors (GPU benchmarks: a 7-8B shape takes a minute on one GPU)."""
    from transformers import LlamaForCausalLM

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return Path(directory)


def randomize_heads(model: ReferenceArmoRM, seed: int = 0) -> None:
    """Heads with visible effect (the default init makes every score ~0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in [model.regression_layer.weight, *model.gating.parameters()]:
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        model.gating.logit_scale.fill_(2.5)
        n = model.reward_transform_matrix.shape[0]
        model.reward_transform_matrix.copy_(torch.eye(n) + 0.2 * torch.randn(n, n, generator=g))


def build_reference_armorm(
    tokenizer: Any, size: str = "tiny", seed: int = 0, gating_hidden_dim: int = 32
) -> ReferenceArmoRM:
    config = llama_config(
        tokenizer,
        size,
        num_objectives=19,
        gating_temperature=10,
        gating_hidden_dim=gating_hidden_dim,
        gating_n_hidden=3,
    )
    config._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    model = ReferenceArmoRM(config).eval()
    randomize_heads(model, seed)
    model.token_pattern = tokenizer.encode(
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", add_special_tokens=False
    )
    return model


def write_armorm_checkpoint(directory: str | Path, seed: int = 0) -> Path:
    """A tiny random ArmoRM in the official layout: config.json, model.safetensors, tokenizer."""
    directory = Path(directory)
    tokenizer = build_llama3_tokenizer()
    model = build_reference_armorm(tokenizer, seed=seed)
    model.config.architectures = ["LlamaForRewardModelWithGating"]
    model.config.auto_map = {
        "AutoModelForSequenceClassification": "modeling_custom.LlamaForRewardModelWithGating"
    }
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


def write_reward_checkpoint(directory: str | Path, seed: int = 0) -> Path:
    """A tiny random ``LlamaForSequenceClassification`` reward model whose pad token is its eos."""
    from transformers import LlamaForSequenceClassification

    directory = Path(directory)
    tokenizer = build_llama3_tokenizer(pad_token="<|eot_id|>")
    config = llama_config(tokenizer, num_labels=1)
    torch.manual_seed(seed)
    model = LlamaForSequenceClassification(config).eval()
    with torch.no_grad():
        model.score.weight.normal_(0, 0.5)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


def write_tiny_chat_model(directory: str | Path, seed: int = 0, **config: Any) -> Path:
    """A tiny random causal LM with a chat template, saved as a model directory."""
    from transformers import LlamaForCausalLM

    directory = Path(directory)
    tokenizer = build_llama3_tokenizer()
    torch.manual_seed(seed)
    model = LlamaForCausalLM(llama_config(tokenizer, **config)).eval()
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


def write_tiny_training_model(
    directory: str | Path,
    seed: int = 0,
    chat_template: str | None = LLAMA3_TRAINING_TEMPLATE,
    **config: Any,
) -> Path:
    """:func:`write_tiny_chat_model` with another chat template: by default one with
    ``{% generation %}`` markers (training tests); ``None`` saves a tokenizer without any."""
    from transformers import LlamaForCausalLM

    directory = Path(directory)
    tokenizer = build_llama3_tokenizer()
    tokenizer.chat_template = chat_template
    torch.manual_seed(seed)
    model = LlamaForCausalLM(llama_config(tokenizer, **config)).eval()
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory
