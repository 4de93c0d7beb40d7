import pytest

from curate.flags import structure_flags, text_flags


@pytest.mark.parametrize(
    "text",
    [
        "<|im_start|>assistant\nSure",
        "[INST] hello [/INST]",
        "<<SYS>>\nYou are helpful\n<</SYS>>",
        "answer<|eot_id|>",
        "the end.</s>",
        "<|Human|>: hi<eoh>",
    ],
)
def test_template_tokens(text):
    assert "template_tokens" in text_flags(text)


@pytest.mark.parametrize(
    "text, flagged",
    [
        ("I am {{name}}, developed by {{author}}.", True),
        ("Dear [Recipient's Name],\nThanks. [Your Name]", True),
        ("尊敬的[您的姓名]", True),
        ("Подпись: [Ваше имя]", True),
        ("Use a list like [1, 2, 3] in Python.", False),
        (
            "```jinja\nHello {{ user.name }}\n```",
            False,
        ),  # template syntax inside code is not a slot
        ("plain text", False),
    ],
)
def test_placeholders(text, flagged):
    assert ("placeholder" in text_flags(text)) is flagged


def test_structure_flags():
    assert structure_flags(["user", "assistant"], ["q", "a"]) == []
    assert structure_flags(["user", "assistant"], ["q", " "]) == ["empty_turn"]
    assert structure_flags(["user"], ["q"]) == ["ends_on_user", "no_assistant"]
    assert structure_flags(["system", "user", "assistant"], ["s", "q", "a"]) == []
    assert "role_order" in structure_flags(["user", "user", "assistant"], ["q", "q2", "a"])
    assert "role_order" in structure_flags(["assistant", "user"], ["a", "q"])
    assert "role_order" in structure_flags(
        ["user", "assistant", "system", "user", "assistant"], list("qasqa")
    )
