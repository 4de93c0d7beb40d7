"""The transformers backend on a tiny random chat model saved to disk."""

import shutil

import pytest

from curate.errors import CurateError
from curate.llm import GenerationParams, resolve_backend
from curate.testing.chat_server import SAMPLE_PROMPTS

GREEDY = GenerationParams(max_new_tokens=12)


def one_at_a_time(backend, prompts, params):
    return [backend.generate([p], params)[0] for p in prompts]


def test_batched_greedy_equals_one_at_a_time(tiny_backend):
    batched = tiny_backend.generate(SAMPLE_PROMPTS, GREEDY)
    single = one_at_a_time(tiny_backend, SAMPLE_PROMPTS, GREEDY)
    assert [g.text for g in batched] == [g.text for g in single]
    assert [g.completion_tokens for g in batched] == [g.completion_tokens for g in single]
    assert all(g.ok and g.error is None for g in batched)
    lengths = [g.prompt_tokens for g in batched]
    assert len(set(lengths)) == len(lengths)  # ragged: left padding is exercised


def test_order_and_batch_plan_do_not_change_results(tiny_backend, tiny_lm_dir):
    reference = [g.text for g in tiny_backend.generate(SAMPLE_PROMPTS, GREEDY)]
    order = [3, 0, 5, 1, 4, 2]
    shuffled = tiny_backend.generate([SAMPLE_PROMPTS[i] for i in order], GREEDY)
    assert [g.text for g in shuffled] == [reference[i] for i in order]
    # a budget that fits two rows per batch: several batches, same replies
    small = resolve_backend("transformers", str(tiny_lm_dir), token_budget=100, max_batch_size=2)
    small.load()
    assert [g.text for g in small.generate(SAMPLE_PROMPTS, GREEDY)] == reference


def test_max_new_tokens(tiny_backend):
    for n in (1, 7):
        out = tiny_backend.generate(SAMPLE_PROMPTS[:3], GenerationParams(max_new_tokens=n))
        assert all(g.completion_tokens == n and g.finish_reason == "length" for g in out)
    short = tiny_backend.generate(SAMPLE_PROMPTS[:1], GenerationParams(max_new_tokens=4))[0]
    longer = tiny_backend.generate(SAMPLE_PROMPTS[:1], GenerationParams(max_new_tokens=12))[0]
    assert longer.text.startswith(short.text)


def test_stop_strings_cut_the_reply(tiny_backend):
    params = GenerationParams(max_new_tokens=16)
    full = tiny_backend.generate(SAMPLE_PROMPTS, params)
    text = full[0].text
    # a stop string from the middle of the first reply (clean characters only)
    start = next(i for i in range(2, len(text) - 2) if text[i : i + 2].isprintable())
    stop = text[start : start + 2]
    assert "\ufffd" not in stop
    stopped = tiny_backend.generate(
        SAMPLE_PROMPTS, GenerationParams(max_new_tokens=16, stop=(stop,))
    )
    for before, after in zip(full, stopped):
        if stop in before.text:
            assert after.text == before.text[: before.text.index(stop)]
            assert after.finish_reason == "stop"
            assert after.completion_tokens <= before.completion_tokens
        else:
            assert after.text == before.text
    assert stopped[0].text == text[: text.index(stop)]
    assert stopped[0].completion_tokens < 16  # generation itself stopped early


@pytest.fixture(scope="module")
def early_eos_dir(tiny_lm_dir, tmp_path_factory):
    """The tiny model with an extra eos id (as Llama-3-Instruct lists two) that its replies hit."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    directory = tmp_path_factory.mktemp("llm") / "early-eos"
    shutil.copytree(tiny_lm_dir, directory)
    model = LlamaForCausalLM.from_pretrained(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    ids = tokenizer.apply_chat_template(SAMPLE_PROMPTS[0], add_generation_prompt=True)
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=4, do_sample=False)
    extra = int(out[0, len(ids) + 2])  # the first reply's third token
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, extra]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(directory)
    return directory


def test_eos_ends_rows_at_different_steps(early_eos_dir):
    backend = resolve_backend("transformers", str(early_eos_dir))
    backend.load()
    batched = backend.generate(SAMPLE_PROMPTS, GREEDY)
    single = one_at_a_time(backend, SAMPLE_PROMPTS, GREEDY)
    assert [(g.text, g.completion_tokens, g.finish_reason) for g in batched] == [
        (g.text, g.completion_tokens, g.finish_reason) for g in single
    ]
    first = batched[0]
    assert first.completion_tokens == 3 and first.finish_reason == "stop"  # eos counted
    assert any(g.finish_reason == "length" for g in batched)  # others went on


def test_no_pad_token_pads_with_eos(tiny_lm_dir, tmp_path):
    from transformers import AutoTokenizer

    directory = tmp_path / "no-pad"
    shutil.copytree(tiny_lm_dir, directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    tokenizer.pad_token = None
    tokenizer.save_pretrained(directory)
    backend = resolve_backend("transformers", str(directory))
    backend.load()
    assert backend.pad_id == backend.tokenizer.eos_token_id
    batched = backend.generate(SAMPLE_PROMPTS, GREEDY)
    assert [g.text for g in batched] == [
        g.text for g in one_at_a_time(backend, SAMPLE_PROMPTS, GREEDY)
    ]


def test_sampling_is_seeded(tiny_backend):
    import torch

    state = torch.random.get_rng_state()
    sampled = GenerationParams(max_new_tokens=12, temperature=1.0, seed=7)
    first = [g.text for g in tiny_backend.generate(SAMPLE_PROMPTS, sampled)]
    again = [g.text for g in tiny_backend.generate(SAMPLE_PROMPTS, sampled)]
    other = [
        g.text
        for g in tiny_backend.generate(
            SAMPLE_PROMPTS, GenerationParams(max_new_tokens=12, temperature=1.0, seed=8)
        )
    ]
    greedy = [g.text for g in tiny_backend.generate(SAMPLE_PROMPTS, GREEDY)]
    assert first == again
    assert first != other and first != greedy
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is untouched


def test_one_seed_per_prompt_makes_a_sample_independent_of_its_batch(tiny_backend):
    sampled = GenerationParams(max_new_tokens=10, temperature=1.0, top_p=0.9)
    seeds = [101 * (i + 1) for i in range(len(SAMPLE_PROMPTS))]
    together = [g.text for g in tiny_backend.generate(SAMPLE_PROMPTS, sampled, seeds=seeds)]
    alone = [
        tiny_backend.generate([p], sampled, seeds=[s])[0].text
        for p, s in zip(SAMPLE_PROMPTS, seeds)
    ]
    reversed_ = tiny_backend.generate(SAMPLE_PROMPTS[::-1], sampled, seeds=seeds[::-1])
    assert together == alone == [g.text for g in reversed_][::-1]
    # the same prompt twice with two seeds: two samples; the same seed twice: the same one
    twice = [SAMPLE_PROMPTS[0]] * 3
    texts = [g.text for g in tiny_backend.generate(twice, sampled, seeds=[1, 2, 1])]
    assert texts[0] == texts[2] != texts[1]
    with pytest.raises(CurateError, match="one per prompt"):
        tiny_backend.generate(SAMPLE_PROMPTS, sampled, seeds=[1])
    # greedy ignores the seeds
    greedy = tiny_backend.generate(SAMPLE_PROMPTS, GREEDY, seeds=seeds)
    assert [g.text for g in greedy] == [
        g.text for g in tiny_backend.generate(SAMPLE_PROMPTS, GREEDY)
    ]


def test_row_sampler_draws_from_the_filtered_distribution():
    """The Gumbel-max sampler's frequencies match softmax(logits / T), and top-p cuts the tail."""
    import torch

    from curate.llm.transformers_backend import RowSampler

    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0, -3.0]])
    trials = 4000

    def frequencies(params):
        counts = torch.zeros(5)
        sampler = RowSampler(range(trials), params, "cpu")
        scores = logits.expand(trials, -1).clone()
        for token in sampler(None, scores).argmax(dim=-1).tolist():
            counts[token] += 1
        return counts / trials

    full = frequencies(GenerationParams(temperature=0.7))
    expected = torch.softmax(logits[0] / 0.7, dim=-1)
    assert torch.allclose(full, expected, atol=0.03)
    cut = frequencies(GenerationParams(temperature=1.0, top_p=0.8))
    probs = torch.softmax(logits[0], dim=-1)  # 0.64, 0.24, 0.09, ...: top-p 0.8 keeps two
    assert cut[2:].sum() == 0
    assert torch.allclose(cut[:2], probs[:2] / probs[:2].sum(), atol=0.03)


def test_bad_prompts_fail_alone(tiny_backend):
    too_long = [{"role": "user", "content": "bread " * 600}]
    prompts = [
        SAMPLE_PROMPTS[0],
        [],
        too_long,
        [{"role": "tool", "content": "x"}],
        SAMPLE_PROMPTS[1],
    ]
    out = tiny_backend.generate(prompts, GREEDY)
    expected = tiny_backend.generate([SAMPLE_PROMPTS[0], SAMPLE_PROMPTS[1]], GREEDY)
    assert [out[0].text, out[4].text] == [g.text for g in expected]
    assert out[1].text is None and "non-empty" in out[1].error
    assert out[2].text is None and "exceeds the model's 512 positions" in out[2].error
    assert out[3].text is None and "role" in out[3].error
    assert tiny_backend.generate([], GREEDY) == []


def test_identity_names_the_weights(tiny_backend):
    ident = tiny_backend.identity()
    assert ident["backend"] == "transformers" and ident["template"] == "chat"
    assert len(ident["safetensors_sha256"]) == 64 and ident["dtype"] == "float32"


def test_load_errors(tmp_path):
    with pytest.raises(CurateError, match="neither a local directory nor a hub id"):
        resolve_backend("transformers", str(tmp_path / "missing")).load()
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(CurateError, match="not safetensors"):
        resolve_backend("transformers", str(tmp_path)).load()
    with pytest.raises(CurateError, match="before load"):
        resolve_backend("transformers", str(tmp_path)).generate([], GREEDY)


def test_the_models_sampling_defaults_do_not_leak(tiny_backend, tiny_lm_dir, tmp_path):
    """A checkpoint whose generation_config samples (Llama-2-chat: do_sample, 0.6, 0.9) still
    decodes greedily at temperature 0, and samples with only the given top_p at temperature > 0."""
    import json

    directory = tmp_path / "sampling-defaults"
    shutil.copytree(tiny_lm_dir, directory)
    path = directory / "generation_config.json"
    config = json.loads(path.read_text())
    config |= {"do_sample": True, "temperature": 0.6, "top_p": 0.9, "top_k": 3}
    path.write_text(json.dumps(config))
    backend = resolve_backend("transformers", str(directory))
    backend.load()
    assert [g.text for g in backend.generate(SAMPLE_PROMPTS, GREEDY)] == [
        g.text for g in tiny_backend.generate(SAMPLE_PROMPTS, GREEDY)
    ]
    sampled = GenerationParams(max_new_tokens=12, temperature=1.0, seed=7)
    assert [g.text for g in backend.generate(SAMPLE_PROMPTS, sampled)] == [
        g.text for g in tiny_backend.generate(SAMPLE_PROMPTS, sampled)
    ]
