import pyarrow as pa

from curate.ids import conversation_id, conversation_ids, prompt_id, prompt_ids_of
from curate.store.schema import MESSAGES


def test_same_conversation_same_id_and_light_normalisation():
    a = [("user", "Hello"), ("assistant", "Hi there")]
    b = [("user", "  Hello\r\n"), ("assistant", "Hi there ")]
    assert conversation_id(a) == conversation_id(b)
    assert len(conversation_id(a)) == 32


def test_nfc_normalisation():
    composed = [("user", "caf\u00e9"), ("assistant", "ok")]
    decomposed = [("user", "cafe\u0301"), ("assistant", "ok")]
    assert conversation_id(composed) == conversation_id(decomposed)


def test_roles_order_and_content_matter():
    base = [("user", "a"), ("assistant", "b")]
    assert conversation_id(base) != conversation_id([("assistant", "a"), ("user", "b")])
    assert conversation_id(base) != conversation_id([("user", "b"), ("assistant", "a")])
    assert conversation_id(base) != conversation_id([("system", "s"), *base])
    # Message boundaries cannot be forged by content.
    assert conversation_id([("user", "a:1:assistant:1:b")]) != conversation_id(base)


def test_id_is_stable_across_versions():
    # A change here breaks every existing store: bump the store format instead.
    assert (
        conversation_id([("user", "Hello"), ("assistant", "Hi")])
        == "fbf01a57ffdd7f295e805400882736aa"
    )


def test_prompt_id_groups_answers_to_one_prompt():
    q = ("user", "Name a prime number.")
    a, b = [q, ("assistant", "7")], [q, ("assistant", "Two is the smallest prime.")]
    assert prompt_id(a) == prompt_id(b) == conversation_id([q])
    assert prompt_id(a) != conversation_id(a)
    # the same normalisation as the id: whitespace around a prompt does not split a group
    assert prompt_id([("user", " Name a prime number.\r\n"), ("assistant", "3")]) == prompt_id(a)


def test_prompt_id_of_multi_turn_trees():
    opening = [("user", "推荐一些书"), ("assistant", "《红楼梦》《三体》")]
    branch_a = [*opening, ("user", "为什么推荐三体？"), ("assistant", "因为它很有想象力。")]
    branch_b = [*opening, ("user", "还有别的吗？"), ("assistant", "《活着》。")]
    other_answer_a = [*opening, ("user", "为什么推荐三体？"), ("assistant", "硬科幻的代表作。")]
    # answers to different last turns are different prompts, though they share an opening
    assert prompt_id(branch_a) != prompt_id(branch_b)
    # two answers to the same last turn of the same tree are answers to one prompt
    assert prompt_id(branch_a) == prompt_id(other_answer_a)
    # the opening exchange on its own is another prompt again
    assert prompt_id(opening) not in {prompt_id(branch_a), prompt_id(branch_b)}
    # a different earlier answer makes a different prompt
    other_opening = [("user", "推荐一些书"), ("assistant", "《活着》"), *branch_a[2:]]
    assert prompt_id(other_opening) != prompt_id(branch_a)


def test_prompt_id_and_system_prompts():
    chat = [("user", "Say hi."), ("assistant", "Hi!")]
    pirate = [("system", "You are a pirate."), *chat]
    assert prompt_id(pirate) != prompt_id(chat)  # another instruction, another prompt
    assert prompt_id(pirate) == prompt_id(
        [("system", "You are a pirate."), chat[0], ("assistant", "Arr!")]
    )
    # without a user message the prompt would be the system prompt alone: no group
    only_system = [("system", "You are a pirate."), ("assistant", "Arr!")]
    assert prompt_id(only_system) == conversation_id(only_system)
    assert prompt_id([("assistant", "Hi")]) != prompt_id([("assistant", "Ho")])


def test_prompt_id_of_unanswered_conversations():
    ends_on_user = [("user", "a"), ("assistant", "b"), ("user", "c")]
    assert prompt_id(ends_on_user) == conversation_id(ends_on_user)
    # an unanswered prompt has prompt_id == id: it links to the answers sampled for it
    assert prompt_id([("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d")]) == (
        conversation_id(ends_on_user)
    )
    # the final assistant turn may span several messages
    assert prompt_id([("user", "q"), ("assistant", "x"), ("assistant", "y")]) == conversation_id(
        [("user", "q")]
    )


def test_prompt_ids_of_a_column_match_the_function():
    conversations = [
        [("user", "q"), ("assistant", "x")],
        [("system", "s"), ("user", "q"), ("assistant", "x"), ("user", "r"), ("assistant", "y")],
        [("user", "only a prompt")],
        [],
    ]
    column = pa.array(
        [[{"role": r, "content": c} for r, c in conv] for conv in conversations], MESSAGES
    )
    assert prompt_ids_of(column).to_pylist() == [prompt_id(c) for c in conversations]


def test_a_preference_record_is_its_own_record():
    chosen = [("user", "q"), ("assistant", "good")]
    assert conversation_id(chosen, "bad") != conversation_id(chosen)
    assert conversation_id(chosen, "bad") != conversation_id(chosen, "worse")
    assert conversation_id(chosen, " bad\r\n") == conversation_id(chosen, "bad")
    assert prompt_id(chosen) == prompt_id([("user", "q"), ("assistant", "other")])


def test_conversation_ids_in_one_pass_match_the_two_functions():
    cases = [
        [("user", "q")],
        [("user", " q\r\n"), ("assistant", "a")],
        [("system", "s"), ("user", "q"), ("assistant", "a"), ("user", "more"), ("assistant", "b")],
        [("user", "q"), ("assistant", "a"), ("assistant", "b")],
        [("assistant", "only an answer")],
        [("system", "s"), ("assistant", "a")],
        [("user", "Ｃafe\u0301 \ud800")],
    ]
    for messages in cases:
        for rejected in (None, "no", " no "):
            assert conversation_ids(messages, rejected) == (
                conversation_id(messages, rejected),
                prompt_id(messages),
            )
