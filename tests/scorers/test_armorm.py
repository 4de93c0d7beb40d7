"""ArmoRM, natively: checked against the authors' architecture on random weights, and every known trap."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from curate.errors import CurateError
from curate.testing.tiny_models import SAMPLE_CONVERSATIONS as CONVERSATIONS
from scorers import chat
from scorers.armorm import OBJECTIVES, ArmoRMScorer, find_last, gating_pattern_ids, load_armorm

GATING = "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"


def reference_scores(reference, conversations):
    """The model card's loop: one conversation at a time, ``model(input_ids)``."""
    model, tokenizer = reference
    out = []
    for conversation in conversations:
        ids = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True)[
            "input_ids"
        ]
        with torch.no_grad():
            result = model(torch.tensor([ids]))
        out.append({k: v[0].numpy() for k, v in result.items()})
    return out


def as_numpy(columns, name):
    column = columns[name]
    if hasattr(column.type, "list_size"):
        return np.asarray(column.values, dtype=np.float32).reshape(len(column), -1)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float32)


def test_matches_the_authors_architecture(armorm, reference):
    columns = armorm.score(CONVERSATIONS)
    expected = reference_scores(reference, CONVERSATIONS)
    np.testing.assert_allclose(
        as_numpy(columns, "armorm_score"), [e["score"] for e in expected], rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        as_numpy(columns, "armorm_rewards"), [e["rewards"] for e in expected], rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        as_numpy(columns, "armorm_gating"),
        [e["gating_output"] for e in expected],
        rtol=1e-4,
        atol=1e-5,
    )
    assert columns["armorm_status"].to_pylist() == ["ok"] * len(CONVERSATIONS)
    assert len(set(as_numpy(columns, "armorm_score").round(4))) == len(CONVERSATIONS)


def test_objectives_and_columns(armorm):
    assert len(OBJECTIVES) == 19 and OBJECTIVES[0] == "helpsteer-helpfulness"
    assert OBJECTIVES[10] == "beavertails-is_safe" and OBJECTIVES[-1] == "code-readability"
    assert armorm.manifest_extra()["objectives"] == list(OBJECTIVES)
    names = armorm.schema().names
    assert names[:3] == ["armorm_score", "armorm_rewards", "armorm_gating"]
    assert armorm.schema().field("armorm_rewards").type.list_size == 19


def test_gating_pattern_comes_from_the_tokenizer(armorm):
    tok = armorm.tokenizer
    pattern = gating_pattern_ids(tok)
    assert list(pattern) == tok.encode(GATING, add_special_tokens=False)
    assert pattern[0] == tok.convert_tokens_to_ids("<|eot_id|>")
    assert pattern[1] == tok.convert_tokens_to_ids("<|start_header_id|>")


def test_scored_token_is_the_final_eot_and_gate_the_prompts_last_eot(armorm):
    enc = armorm.prepare(CONVERSATIONS)
    eot = armorm.tokenizer.convert_tokens_to_ids("<|eot_id|>")
    header = armorm.tokenizer.convert_tokens_to_ids("<|start_header_id|>")
    for row, ids in enumerate(enc.ids):
        assert ids[-1] == eot
        gate = enc.extra["gate"][row]
        assert ids[gate] == eot and ids[gate + 1] == header
        # the LAST occurrence: no assistant header after the gate but the final one
        assert find_last(ids[gate + 1 :], armorm.gating_pattern) == -1
    two_turns = enc.ids[1]
    first = find_last(two_turns[: enc.extra["gate"][1]], armorm.gating_pattern)
    assert 0 < first < enc.extra["gate"][1]  # an earlier occurrence exists and is not used


def test_pads_with_pad_not_eos_and_eos_padding_is_a_real_trap(armorm, reference):
    tok = armorm.tokenizer
    assert armorm.pad_id == tok.convert_tokens_to_ids("[PAD]") != tok.eos_token_id
    assert armorm.model.config.pad_token_id == armorm.pad_id
    model, _ = reference
    short, long = CONVERSATIONS[2], CONVERSATIONS[1]
    ids = [
        tok.apply_chat_template(c, tokenize=True, return_dict=True)["input_ids"]
        for c in (short, long)
    ]
    width = max(map(len, ids))
    alone = reference_scores(reference, [short])[0]["score"]
    for pad, should_match in ((armorm.pad_id, True), (tok.eos_token_id, False)):
        batch = torch.tensor([x + [pad] * (width - len(x)) for x in ids])
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
        with torch.no_grad():
            got = model(batch, attention_mask=mask)["score"][0].item()
        assert bool(abs(got - alone) < 1e-4) is should_match, (pad, got, alone)


def test_a_tokenizer_padding_with_eos_is_refused(armorm_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(armorm_dir, bad)
    config = json.loads((bad / "tokenizer_config.json").read_text())
    config["pad_token"] = "<|eot_id|>"
    (bad / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(CurateError, match=r"pad token"):
        ArmoRMScorer(str(bad), key="armorm").load()


@pytest.mark.parametrize("budget", [64, 200, 100_000])
def test_batched_equals_one_at_a_time(armorm_dir, budget):
    scorer = ArmoRMScorer(str(armorm_dir), key="armorm", token_budget=budget)
    scorer.load()
    conversations = CONVERSATIONS * 3
    together = scorer.score(conversations)
    for name in ("armorm_score", "armorm_rewards", "armorm_gating"):
        alone = np.concatenate([as_numpy(scorer.score([c]), name) for c in conversations])
        np.testing.assert_allclose(as_numpy(together, name), alone, rtol=1e-4, atol=1e-5)


def test_too_long_conversations_lose_early_turns_never_the_end(armorm_dir, reference):
    long = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "How do I bake bread at home? " * 8},
        {"role": "assistant", "content": "Mix flour, water, salt and yeast. " * 8},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
    ]
    scorer = ArmoRMScorer(str(armorm_dir), key="armorm", max_length=80)
    scorer.load()
    full_length = len(scorer.encoder.tokenize([scorer.encoder.render(long)])[0])
    assert full_length > 80
    columns = scorer.score([long])
    assert columns["armorm_status"][0].as_py() == chat.TRUNCATED
    assert columns["armorm_turns_dropped"][0].as_py() == 2
    assert columns["armorm_tokens_cut"][0].as_py() == 0
    kept = [long[0], long[3], long[4]]
    expected = reference_scores(reference, [kept])[0]["score"]
    assert columns["armorm_score"][0].as_py() == pytest.approx(float(expected), rel=1e-4, abs=1e-5)


def test_left_cut_keeps_bos_and_gate_or_fails_when_the_reply_alone_is_too_long(armorm_dir):
    scorer = ArmoRMScorer(str(armorm_dir), key="armorm", max_length=60)
    scorer.load()
    long_prompt = [
        {"role": "user", "content": "Explain bread. " * 40},
        {"role": "assistant", "content": "Bake it."},
    ]
    long_reply = [
        {"role": "user", "content": "Explain bread."},
        {"role": "assistant", "content": "Mix flour and water. " * 40},
    ]
    enc = scorer.prepare([long_prompt, long_reply])
    assert enc.status == [chat.TRUNCATED, chat.TOO_LONG]
    ids = enc.ids[0]
    assert len(ids) == 60 and enc.tokens_cut[0] > 0
    assert ids[0] == scorer.tokenizer.bos_token_id and ids[-1] == scorer.tokenizer.eos_token_id
    assert enc.extra["gate"][0] >= 0
    columns = scorer.run(enc)
    assert columns["armorm_score"][0].is_valid and not columns["armorm_score"][1].is_valid
    assert not columns["armorm_rewards"][1].is_valid


def test_no_reply_is_flagged_never_scored(armorm):
    conversations = [
        [{"role": "user", "content": "hello"}],
        [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "  "}],
        [{"role": "assistant", "content": "I speak first."}],
        [
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "hi"},
            {"role": "user", "content": "and?"},
        ],
    ]
    columns = armorm.score(conversations)
    assert columns["armorm_status"].to_pylist() == [
        chat.NO_REPLY,
        chat.NO_REPLY,
        chat.NO_PROMPT,
        chat.ENDS_ON_USER,
    ]
    assert columns["armorm_score"].null_count == 3
    assert columns["armorm_turns_dropped"][3].as_py() == 1
    expected = armorm.score([conversations[3][:2]])["armorm_score"][0].as_py()
    assert columns["armorm_score"][3].as_py() == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert all(t == 0 for t in columns["armorm_tokens"].to_pylist()[:3])


def _rewrite(src, dst, edit):
    import shutil

    shutil.copytree(src, dst)
    state = load_file(str(dst / "model.safetensors"))
    edit(state)
    save_file(state, str(dst / "model.safetensors"), metadata={"format": "pt"})
    return dst


def test_missing_and_unexpected_weights_fail_loudly(armorm_dir, tmp_path):
    missing = _rewrite(armorm_dir, tmp_path / "missing", lambda s: s.pop("gating.logit_scale"))
    with pytest.raises(CurateError, match=r"missing weights: \['gating.logit_scale'\]"):
        load_armorm(missing)
    extra = _rewrite(
        armorm_dir, tmp_path / "extra", lambda s: s.update({"lm_head.weight": torch.zeros(2, 2)})
    )
    with pytest.raises(CurateError, match=r"unexpected weights: \['lm_head.weight'\]"):
        load_armorm(extra)


def test_only_safetensors_and_the_right_architecture(armorm_dir, reward_dir, tmp_path):
    import shutil

    pickled = tmp_path / "pickled"
    shutil.copytree(armorm_dir, pickled)
    (pickled / "model.safetensors").unlink()
    torch.save({}, pickled / "pytorch_model.bin")
    with pytest.raises(CurateError, match="not safetensors"):
        ArmoRMScorer(str(pickled), key="armorm").load()
    with pytest.raises(CurateError, match="not an ArmoRM checkpoint"):
        load_armorm(reward_dir)


def test_loads_in_bf16_with_float32_heads(armorm_dir, armorm):
    model = load_armorm(armorm_dir, dtype=torch.bfloat16)
    assert model.model.embed_tokens.weight.dtype == torch.bfloat16
    assert model.regression_layer.weight.dtype == torch.float32
    assert model.gating.logit_scale.dtype == torch.float32
    scorer = ArmoRMScorer(str(armorm_dir), key="armorm", dtype="bf16")
    scorer.load()
    low = as_numpy(scorer.score(CONVERSATIONS), "armorm_score")
    full = as_numpy(armorm.score(CONVERSATIONS), "armorm_score")
    np.testing.assert_allclose(low, full, atol=0.1)
