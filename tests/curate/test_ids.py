from curate.ids import conversation_id


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
