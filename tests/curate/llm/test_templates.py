"""Prompt rendering: chat templates, the Vicuna v1.1 format, and their errors."""

import pytest

from curate.errors import CurateError
from curate.llm import GenerationParams, resolve_backend
from curate.llm.templates import VICUNA_SYSTEM, PromptError, PromptRenderer, render_vicuna


def test_vicuna_v11_format():
    text = render_vicuna([{"role": "user", "content": "Hello"}])
    assert text == f"{VICUNA_SYSTEM} USER: Hello ASSISTANT:"
    assert VICUNA_SYSTEM.startswith("A chat between a curious user and an artificial intelligence")
    multi = render_vicuna(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Tag this."},
        ]
    )
    assert multi == "Be brief. USER: Hi ASSISTANT: Hello!</s>USER: Tag this. ASSISTANT:"


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "assistant", "content": "x"}],
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
    ],
)
def test_vicuna_refuses_what_it_cannot_express(messages):
    with pytest.raises(PromptError):
        render_vicuna(messages)


def test_chat_template_gets_generation_prompt_and_one_bos(tiny_backend):
    renderer = tiny_backend.renderer
    prompt = [{"role": "user", "content": "Hi"}]
    text = renderer.render(prompt)
    assert text.startswith("<|begin_of_text|>") and text.count("<|begin_of_text|>") == 1
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    ids = renderer.encode([prompt])[0]
    assert ids.count(tiny_backend.tokenizer.bos_token_id) == 1


@pytest.fixture(scope="module")
def no_template_dir(tiny_lm_dir, tmp_path_factory):
    """The tiny model with a tokenizer that has no chat template (like InsTagger's)."""
    import shutil

    from transformers import AutoTokenizer

    directory = tmp_path_factory.mktemp("llm") / "no-template"
    shutil.copytree(tiny_lm_dir, directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    tokenizer.chat_template = None
    for name in ("chat_template.jinja", "tokenizer_config.json"):
        (directory / name).unlink(missing_ok=True)
    tokenizer.save_pretrained(directory)
    assert not AutoTokenizer.from_pretrained(directory).chat_template
    return directory


def test_missing_chat_template_is_a_clear_error(no_template_dir):
    backend = resolve_backend("transformers", str(no_template_dir))
    with pytest.raises(CurateError, match="no chat template.*template='vicuna'"):
        backend.load()


def test_vicuna_option_generates_without_a_chat_template(no_template_dir):
    backend = resolve_backend("transformers", str(no_template_dir), template="vicuna")
    backend.load()
    prompt = [{"role": "user", "content": "Tag this query."}]
    ids = backend.renderer.encode([prompt])[0]
    assert backend.tokenizer.decode(ids) == backend.tokenizer.bos_token + render_vicuna(prompt)
    out = backend.generate([prompt], GenerationParams(max_new_tokens=5))
    assert out[0].ok and out[0].completion_tokens == 5
    assert backend.identity()["template"] == "vicuna"


def test_unknown_template_option(tiny_backend):
    with pytest.raises(CurateError, match="template 'llama'"):
        PromptRenderer(tiny_backend.tokenizer, "llama", "tiny")
