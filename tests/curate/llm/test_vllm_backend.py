"""The vLLM backend: only what runs without vLLM (it needs a CUDA machine)."""

import sys

import pytest

from curate.errors import CurateError
from curate.llm import GenerationParams, resolve_backend
from curate.llm.vllm_backend import structured_output_option


def test_missing_vllm_is_a_clear_error(tiny_lm_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm raises ImportError
    backend = resolve_backend("vllm", str(tiny_lm_dir))
    with pytest.raises(CurateError, match="pip install vllm on a CUDA machine"):
        backend.load()
    with pytest.raises(CurateError, match="before load"):
        backend.generate([], GenerationParams())


def test_no_schema_no_structured_output():
    assert structured_output_option(None) == {}


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

                outputs = []
                for prompt in prompts:
                    ids = prompt["prompt_token_ids"]
                    out = local.model.generate(
                        torch.tensor([ids]),
                        max_new_tokens=sampling["max_tokens"],
                        do_sample=False,
                        eos_token_id=local.eos_ids,
                        pad_token_id=local.pad_id,
                    )[0, len(ids) :].tolist()
                    text = local.tokenizer.decode(out, skip_special_tokens=True)
                    reason = "length" if len(out) == sampling["max_tokens"] else "stop"
                    completion = SimpleNamespace(text=text, token_ids=out, finish_reason=reason)
                    outputs.append(SimpleNamespace(prompt_token_ids=ids, outputs=[completion]))
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
