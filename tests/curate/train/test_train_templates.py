"""The chat template decision for assistant-only loss, and the check of its markers."""

from __future__ import annotations

import pytest

from curate.errors import CurateError, InputError
from curate.testing.tiny_models import LLAMA3_TEMPLATE, LLAMA3_TRAINING_TEMPLATE
from curate.train.templates import check_template, choose_template, has_markers

CHATML = (
    "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '\n' + m['content'] + "
    "'<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant\n' }}"
    "{% endif %}"
)


@pytest.fixture
def tokenizer():
    from curate.testing.tiny_models import build_llama3_tokenizer

    return build_llama3_tokenizer()


def test_the_model_template_with_markers_is_used_as_is(tokenizer):
    tokenizer.chat_template = LLAMA3_TRAINING_TEMPLATE
    chosen = choose_template(tokenizer, "sft", None, "m")
    assert chosen.source == "model" and chosen.text == LLAMA3_TRAINING_TEMPLATE
    check_template(tokenizer, chosen, "sft")


def test_a_template_trl_knows_gets_its_training_version(tokenizer):
    import trl.chat_template_utils as trl_templates

    assert tokenizer.chat_template == LLAMA3_TEMPLATE and not has_markers(LLAMA3_TEMPLATE)
    chosen = choose_template(tokenizer, "sft", None, "m")
    assert chosen.source == "trl" and chosen.text == trl_templates.llama3_training_chat_template
    check_template(tokenizer, chosen, "sft")


def test_an_unknown_template_without_markers_is_refused_with_what_to_do(tokenizer):
    tokenizer.chat_template = CHATML
    with pytest.raises(InputError) as info:
        choose_template(tokenizer, "sft", None, "org/model")
    message = str(info.value)
    assert "no {% generation %} markers" in message and "TRL has no training version" in message
    assert "--chat-template" in message
    # DPO loses on completions by construction: any template will do
    assert choose_template(tokenizer, "dpo", None, "org/model").source == "model"


def test_no_template_at_all_is_refused(tokenizer):
    tokenizer.chat_template = None
    for method in ("sft", "dpo"):
        with pytest.raises(InputError, match="has no chat template.*--chat-template"):
            choose_template(tokenizer, method, None, "org/base")


def test_chat_template_option_file_or_text(tokenizer, tmp_path):
    tokenizer.chat_template = CHATML
    path = tmp_path / "t.jinja"
    path.write_text(LLAMA3_TRAINING_TEMPLATE)
    assert choose_template(tokenizer, "sft", str(path), "m").text == LLAMA3_TRAINING_TEMPLATE
    assert choose_template(tokenizer, "sft", LLAMA3_TRAINING_TEMPLATE, "m").source == "option"
    path.write_text(CHATML)
    with pytest.raises(InputError, match="--chat-template has no {% generation %} markers"):
        choose_template(tokenizer, "sft", str(path), "m")
    assert choose_template(tokenizer, "dpo", str(path), "m").text == CHATML
    with pytest.raises(InputError, match="neither a file nor a Jinja"):
        choose_template(tokenizer, "sft", str(tmp_path / "missing.jinja"), "m")


def test_markers_that_leave_out_the_end_of_turn_or_take_the_prompt_are_refused(tokenizer):
    from curate.train.templates import ChatTemplate

    no_stop = LLAMA3_TRAINING_TEMPLATE.replace(
        "{% generation %}{{ message['content'] | trim + '<|eot_id|>' }}{% endgeneration %}",
        "{% generation %}{{ message['content'] | trim }}{% endgeneration %}{{ '<|eot_id|>' }}",
    )
    assert no_stop != LLAMA3_TRAINING_TEMPLATE and has_markers(no_stop)
    with pytest.raises(CurateError, match="end-of-turn token outside"):
        check_template(tokenizer, ChatTemplate(no_stop, "option"), "sft")
    everything = "{% generation %}" + LLAMA3_TEMPLATE + "{% endgeneration %}"
    with pytest.raises(CurateError, match="do not enclose exactly the assistant replies"):
        check_template(tokenizer, ChatTemplate(everything, "option"), "sft")
