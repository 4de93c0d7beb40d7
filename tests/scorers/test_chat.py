"""What the chat encoder does to a conversation, per row."""

from curate.testing.tiny_models import build_llama3_tokenizer
from scorers import chat


def test_reply_prefix():
    user = {"role": "user", "content": "q"}
    reply = {"role": "assistant", "content": "a"}
    assert chat.reply_prefix([user, reply]) == ([user, reply], 0)
    assert chat.reply_prefix([user, reply, user]) == ([user, reply], 1)
    assert chat.reply_prefix([user]) == ([], 1)
    assert chat.reply_prefix([user, {"role": "assistant", "content": " "}]) == ([], 2)


def test_fit_drops_whole_exchanges_and_keeps_the_system_prompt():
    tok = build_llama3_tokenizer()
    system = {"role": "system", "content": "You are a helpful assistant."}
    turns = []
    for i in range(6):
        turns += [
            {"role": "user", "content": f"Question {i}: how do I bake bread at home?"},
            {"role": "assistant", "content": f"Answer {i}: mix flour, water, salt and yeast."},
        ]
    conversation = [system, *turns]
    full = len(
        tok(tok.apply_chat_template(conversation, tokenize=False), add_special_tokens=False)[
            "input_ids"
        ]
    )
    encoder = chat.ChatEncoder(tok, max_length=full // 2)
    enc = encoder.encode([conversation])
    assert enc.status == [chat.TRUNCATED] and enc.tokens_cut[0] == 0
    dropped = int(enc.turns_dropped[0])
    assert dropped % 2 == 0 and 0 < dropped < 12
    expected = tok(
        tok.apply_chat_template([system, *turns[dropped:]], tokenize=False),
        add_special_tokens=False,
    )["input_ids"]
    assert enc.ids[0].tolist() == expected and len(expected) <= full // 2
    # one exchange fewer would not have fitted
    longer = tok.apply_chat_template([system, *turns[dropped - 2 :]], tokenize=False)
    assert len(tok(longer, add_special_tokens=False)["input_ids"]) > full // 2


def test_template_errors_are_recorded_not_raised():
    tok = build_llama3_tokenizer()
    tok.chat_template = "{{ raise_exception('roles must alternate') }}"
    enc = chat.ChatEncoder(tok, 100).encode(
        [[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]]
    )
    assert enc.status == [chat.TEMPLATE_ERROR] and len(enc.ids[0]) == 0
