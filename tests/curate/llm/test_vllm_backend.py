"""The vLLM backend: only what runs without vLLM (it needs a CUDA machine)."""

import math
import sys
from typing import Any

import pytest

from curate.errors import CurateError
from curate.llm import GenerationParams, resolve_backend
from curate.llm.vllm_backend import completion_tokens, structured_output_option, token_decoder


def test_missing_vllm_is_a_clear_error(tiny_lm_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm raises ImportError
    backend = resolve_backend("vllm", str(tiny_lm_dir))
    with pytest.raises(CurateError, match="pip install vllm on a CUDA machine"):
        backend.load()
    with pytest.raises(CurateError, match="before load"):
        backend.generate([], GenerationParams())


def test_no_schema_no_structured_output():
    assert structured_output_option(None) == {}


def fake_logprobs(scores, token_ids, k):
    """vLLM's shape: per position, ``{token id: Logprob}`` for the top k and the sampled id."""
    from types import SimpleNamespace

    positions = []
    for step, sampled in zip(scores, token_ids):
        logprobs = step[0].float().log_softmax(-1)
        ranks = logprobs.argsort(descending=True).tolist()
        chosen = ranks[:k] + ([sampled] if sampled not in ranks[:k] else [])
        positions.append(
            {
                i: SimpleNamespace(
                    logprob=float(logprobs[i]), rank=ranks.index(i) + 1, decoded_token=None
                )
                for i in chosen
            }
        )
    return positions


class FakeVLLM:
    """A stand-in ``vllm`` module over the tiny transformers model.

    It checks only our glue (what we pass to ``LLM`` and ``SamplingParams``, token-id
    prompts, result order, per-prompt failures), not vLLM itself, which needs CUDA.
    """

    __version__ = "fake"

    def __init__(self, local, structured: str | None):
        from types import SimpleNamespace

        fake = self
        self.llm_kwargs: dict = {}
        self.sampling_kwargs: list[dict] = []
        self.outputs: list = []  # the last generate call's outputs
        self.sent: Any = None  # the last generate call's sampling params (one, or one per prompt)
        self.sampling_params = SimpleNamespace()
        if structured == "new":
            self.sampling_params.StructuredOutputsParams = lambda json: ("structured", json)
        if structured == "old":
            self.sampling_params.GuidedDecodingParams = lambda json: ("guided", json)

        class LLM:
            def __init__(self, **kwargs):
                fake.llm_kwargs = kwargs
                self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=512))

            def get_tokenizer(self):
                return local.tokenizer

            def generate(self, prompts, sampling, use_tqdm=True):
                import torch

                fake.sent = sampling
                outputs = []
                per_prompt = sampling if isinstance(sampling, list) else [sampling] * len(prompts)
                for prompt, sampling in zip(prompts, per_prompt):
                    ids = prompt["prompt_token_ids"]
                    result = local.model.generate(
                        torch.tensor([ids]),
                        max_new_tokens=sampling["max_tokens"],
                        do_sample=False,
                        eos_token_id=local.eos_ids,
                        pad_token_id=local.pad_id,
                        output_scores=True,
                        return_dict_in_generate=True,
                    )
                    out = result.sequences[0, len(ids) :].tolist()
                    text = local.tokenizer.decode(out, skip_special_tokens=True)
                    reason = "length" if len(out) == sampling["max_tokens"] else "stop"
                    completion = SimpleNamespace(text=text, token_ids=out, finish_reason=reason)
                    if sampling.get("logprobs"):
                        completion.logprobs = fake_logprobs(
                            result.scores, out, sampling["logprobs"]
                        )
                    outputs.append(SimpleNamespace(prompt_token_ids=ids, outputs=[completion]))
                fake.outputs = outputs
                return outputs

        def SamplingParams(**kwargs):  # noqa: N802 (vLLM's name)
            fake.sampling_kwargs.append(kwargs)
            return kwargs

        self.LLM, self.SamplingParams = LLM, SamplingParams


@pytest.mark.parametrize("structured", ["new", "old", None])
def test_glue_with_a_fake_vllm(tiny_backend, tiny_lm_dir, monkeypatch, structured):
    from curate.testing.chat_server import SAMPLE_PROMPTS

    fake = FakeVLLM(tiny_backend, structured)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", fake.sampling_params)
    backend = resolve_backend("vllm", str(tiny_lm_dir), dtype="bf16", seed=3)
    backend.load()
    assert fake.llm_kwargs["trust_remote_code"] is False
    assert fake.llm_kwargs["load_format"] == "safetensors"
    assert fake.llm_kwargs["dtype"] == "bfloat16" and fake.llm_kwargs["seed"] == 3
    too_long = [{"role": "user", "content": "bread " * 600}]
    prompts = [SAMPLE_PROMPTS[0], too_long, [], SAMPLE_PROMPTS[1]]
    params = GenerationParams(max_new_tokens=6, json_schema={"type": "object"})
    out = backend.generate(prompts, params)
    direct = tiny_backend.generate([SAMPLE_PROMPTS[0], SAMPLE_PROMPTS[1]], params)
    assert [out[0].text, out[3].text] == [g.text for g in direct]
    assert [out[0].completion_tokens, out[3].prompt_tokens] == [6, direct[1].prompt_tokens]
    assert "context is 512" in out[1].error and "non-empty" in out[2].error
    sent = fake.sampling_kwargs[-1]
    assert sent["max_tokens"] == 6 and sent["seed"] == 0 and sent["temperature"] == 0.0
    expected = {"new": "structured_outputs", "old": "guided_decoding", None: None}[structured]
    assert {"structured_outputs", "guided_decoding"} & set(sent) == ({expected} - {None})
    assert backend.identity()["vllm"] == "fake"


def test_one_seed_per_prompt_is_one_sampling_params_each(tiny_backend, tiny_lm_dir, monkeypatch):
    from curate.testing.chat_server import SAMPLE_PROMPTS

    fake = FakeVLLM(tiny_backend, "new")
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", fake.sampling_params)
    backend = resolve_backend("vllm", str(tiny_lm_dir))
    backend.load()
    params = GenerationParams(max_new_tokens=4, temperature=0.8, seed=5)
    prompts = [SAMPLE_PROMPTS[0], [], SAMPLE_PROMPTS[1]]
    out = backend.generate(prompts, params, seeds=[11, 12, 13])
    assert [s["seed"] for s in fake.sent] == [11, 13]  # the empty prompt failed before vLLM
    assert out[0].ok and not out[1].ok and out[2].ok
    backend.generate(prompts[:1], params)
    assert fake.sent["seed"] == 5  # without seeds: one SamplingParams, the params' seed
    with pytest.raises(CurateError, match="one per prompt"):
        backend.generate(prompts, params, seeds=[1])


def _completion(token_ids, positions):
    """A ``CompletionOutput`` stand-in: ids, and per position ``{id: logprob}`` as Logprobs."""
    from types import SimpleNamespace

    logprobs = None
    if positions is not None:
        logprobs = [
            None if p is None else {i: SimpleNamespace(logprob=v, rank=None) for i, v in p.items()}
            for p in positions
        ]
    return SimpleNamespace(token_ids=token_ids, logprobs=logprobs)


VOCAB = {1: "Rating", 2: ":", 3: " [[", 4: "8", 5: "9", 6: "]]", 7: " 8", 8: "\ufffd", 9: "\ufffd"}


def test_completion_tokens_mirror_the_openai_shape():
    from curate.judge import parse

    completion = _completion(
        [1, 2, 3, 4, 6],
        [{1: -0.1}, {2: -0.2}, {3: -0.3}, {4: -0.5, 5: -1.5, 7: -2.0}, {6: -0.01}],
    )
    tokens = completion_tokens(completion, VOCAB.__getitem__)
    assert [t for t, _ in tokens] == ["Rating", ":", " [[", "8", "]]"]
    assert tokens[3][1] == {"8": -0.5, "9": -1.5, " 8": -2.0}
    # the judge finds the rating token in them, and its distribution there
    position = parse.rating_position([t for t, _ in tokens])
    assert position == 3
    assert 8 < parse.expected_rating(tokens[position][1]) < 9


def test_completion_tokens_add_up_alternatives_with_one_text():
    tokens = completion_tokens(_completion([8], [{8: -1.0, 9: -1.0, 4: -math.inf}]), VOCAB.get)
    assert tokens[0][0] == "\ufffd"
    assert tokens[0][1]["\ufffd"] == pytest.approx(-1.0 + math.log(2))
    assert tokens[0][1]["8"] == -math.inf


@pytest.mark.parametrize(
    "completion",
    [
        _completion([1, 2], None),  # not asked for, or not returned
        _completion([1, 2], []),
        _completion([1, 2], [{1: -0.1}]),  # does not line up with the tokens
        _completion([1, 2], [{1: -0.1}, None]),  # a position without logprobs
        _completion([1, 2], [{1: -0.1}, {}]),
        _completion([1, 2], [{1: -0.1}, {2: "not a number"}]),
    ],
)
def test_completion_tokens_missing_or_malformed_is_none(completion):
    assert completion_tokens(completion, VOCAB.__getitem__) is None


def test_completion_tokens_without_a_logprobs_attribute_is_none():
    from types import SimpleNamespace

    assert completion_tokens(SimpleNamespace(token_ids=[1]), VOCAB.__getitem__) is None


def test_token_decoder_decodes_each_id_once():
    calls = []

    class Tokenizer:
        def decode(self, ids):
            calls.append(ids)
            return VOCAB.get(ids[0])

    decode = token_decoder(Tokenizer())
    assert [decode(3), decode(3), decode(4), decode(99)] == [" [[", " [[", "8", ""]
    assert calls == [[3], [4], [99]]


def test_top_logprobs_through_a_fake_vllm(tiny_backend, tiny_lm_dir, monkeypatch):
    from curate.testing.chat_server import SAMPLE_PROMPTS

    fake = FakeVLLM(tiny_backend, None)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", fake.sampling_params)
    backend = resolve_backend("vllm", str(tiny_lm_dir))
    backend.load()
    prompts = [SAMPLE_PROMPTS[0], [], SAMPLE_PROMPTS[1]]
    plain = backend.generate(prompts, GenerationParams(max_new_tokens=6))
    assert "logprobs" not in fake.sampling_kwargs[-1]
    assert all(g.tokens is None for g in plain)
    out = backend.generate(prompts, GenerationParams(max_new_tokens=6, top_logprobs=3))
    assert fake.sampling_kwargs[-1]["logprobs"] == 3
    assert [g.text for g in out] == [g.text for g in plain] and out[1].tokens is None
    tokenizer = tiny_backend.tokenizer
    for g, sent in zip((out[0], out[2]), fake.outputs):
        completion = sent.outputs[0]
        assert len(g.tokens) == g.completion_tokens == len(completion.token_ids)
        assert [t for t, _ in g.tokens] == [tokenizer.decode([i]) for i in completion.token_ids]
        positions = zip(g.tokens, completion.token_ids, completion.logprobs)
        for (text, alternatives), sampled, raw in positions:
            assert 3 <= len(raw) <= 4  # the top 3, and the sampled id where it ranks lower
            assert set(alternatives) == {tokenizer.decode([i]) for i in raw}
            # ids that decode alike (bytes of one character) add up; none is lost
            mass = sum(math.exp(v) for v in alternatives.values())
            assert mass == pytest.approx(sum(math.exp(e.logprob) for e in raw.values()))
            assert alternatives[text] >= raw[sampled].logprob
