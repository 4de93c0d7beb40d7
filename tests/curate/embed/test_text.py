from curate.embed.text import conversation_text, embedding_texts, fold_scripts, truncate

CONV = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "first answer"},
    {"role": "user", "content": "second question"},
    {"role": "assistant", "content": "second answer"},
]


def test_modes():
    assert (
        conversation_text(CONV, "conversation")
        == "first question\nfirst answer\nsecond question\nsecond answer"
    )
    assert conversation_text(CONV, "user") == "first question\nsecond question"
    assert conversation_text(CONV, "first_user") == "first question"


def test_truncation_keeps_head_and_tail():
    text = "A" * 100 + "B" * 100 + "C" * 100
    cut, truncated = truncate(text, 100)
    assert truncated and cut.startswith("A" * 75) and cut.endswith("C" * 25)
    assert truncate("short", 100) == ("short", False)


def test_folding_scripts_and_taiwan_vocabulary():
    assert fold_scripts("軟體工程師在網路上寫程式") == fold_scripts("软件工程师在网络上写程序")
    assert fold_scripts("plain ASCII stays") == "plain ASCII stays"
    assert fold_scripts("Привет") == "Привет"


def test_embedding_texts_counts_truncation():
    texts, truncated = embedding_texts(
        [CONV, [{"role": "user", "content": "x" * 50}]], "user", max_chars=20
    )
    assert truncated == [True, True] and all(len(t) <= 20 + 3 for t in texts)
