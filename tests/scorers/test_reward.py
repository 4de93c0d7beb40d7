"""Generic single-output reward models, and scorers by name."""

import json
import shutil

import numpy as np
import pytest
import torch

from curate.errors import CurateError
from curate.testing.tiny_models import SAMPLE_CONVERSATIONS
from scorers.armorm import ArmoRMScorer
from scorers.registry import PRESETS, model_key, resolve
from scorers.reward import RewardModelScorer


@pytest.fixture(scope="module")
def reward(reward_dir):
    scorer = RewardModelScorer(str(reward_dir), key="tiny-reward")
    scorer.load()
    return scorer


def test_matches_the_model_card_loop_although_pad_is_eos(reward, reward_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(reward_dir)
    assert tokenizer.pad_token_id == tokenizer.eos_token_id  # the trap this model sets
    model = AutoModelForSequenceClassification.from_pretrained(reward_dir).eval()
    expected = []
    for conversation in SAMPLE_CONVERSATIONS:
        ids = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True)[
            "input_ids"
        ]
        # what the model should see: the full sequence; its own pooling would skip the final
        # <|eot_id|> (it equals the pad id), so the reference pools the last position itself
        with torch.no_grad():
            hidden = model.model(torch.tensor([ids])).last_hidden_state
            expected.append(model.score(hidden[0, -1]).item())
    got = reward.score(SAMPLE_CONVERSATIONS)
    np.testing.assert_allclose(got["tiny_reward_score"].to_numpy(), expected, rtol=1e-4, atol=1e-5)
    assert reward._decoder_head is not None


def test_batched_equals_one_at_a_time(reward_dir):
    scorer = RewardModelScorer(str(reward_dir), key="tiny-reward", token_budget=150)
    scorer.load()
    conversations = SAMPLE_CONVERSATIONS * 3
    together = scorer.score(conversations)["tiny_reward_score"].to_numpy()
    alone = [scorer.score([c])["tiny_reward_score"][0].as_py() for c in conversations]
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)  # float32, padded batches


def test_failures_have_no_score(reward):
    got = reward.score([[{"role": "user", "content": "hello"}], SAMPLE_CONVERSATIONS[0]])
    assert got["tiny_reward_score"].to_pylist()[0] is None
    assert got["tiny_reward_status"].to_pylist() == ["no_assistant_reply", "ok"]
    assert "tiny_reward_rewards" not in got


def test_a_checkpoint_without_a_reward_head_is_refused(tmp_path, reward_dir):
    from transformers import LlamaForCausalLM

    from curate.testing.tiny_models import build_llama3_tokenizer, llama_config

    tokenizer = build_llama3_tokenizer()
    config = llama_config(tokenizer, num_labels=1)
    config.architectures = ["LlamaForSequenceClassification"]
    LlamaForCausalLM(config).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    config_json = json.loads((tmp_path / "lm" / "config.json").read_text())
    config_json["architectures"] = ["LlamaForSequenceClassification"]
    (tmp_path / "lm" / "config.json").write_text(json.dumps(config_json))
    with pytest.raises(CurateError, match="missing from the checkpoint"):
        RewardModelScorer(str(tmp_path / "lm"), key="lm").load()


def test_several_outputs_and_missing_chat_template_are_refused(tmp_path, reward_dir):
    several = tmp_path / "several"
    shutil.copytree(reward_dir, several)
    config = json.loads((several / "config.json").read_text())
    config["id2label"] = {"0": "a", "1": "b"}
    config["label2id"] = {"a": 0, "b": 1}
    (several / "config.json").write_text(json.dumps(config))
    with pytest.raises(CurateError, match="2 outputs"):
        RewardModelScorer(str(several), key="x").load()
    plain = tmp_path / "plain"
    shutil.copytree(reward_dir, plain)
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    tok_config = json.loads((plain / "tokenizer_config.json").read_text())
    tok_config.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(tok_config))
    with pytest.raises(CurateError, match="no chat template"):
        RewardModelScorer(str(plain), key="x").load()


def test_registry_presets_paths_and_errors(armorm_dir, reward_dir):
    scorer = resolve("ArmoRM")
    assert isinstance(scorer, ArmoRMScorer) and scorer.key == "armorm"
    assert scorer.model_ref == PRESETS["armorm"][1] == "RLHFlow/ArmoRM-Llama3-8B-v0.1"
    assert isinstance(resolve(str(armorm_dir)), ArmoRMScorer)
    generic = resolve(str(reward_dir))
    assert type(generic) is RewardModelScorer and generic.key == "tiny-reward"
    assert resolve("skywork-reward").model_ref.startswith("Skywork/")
    assert resolve(str(reward_dir), key="mine").prefix == "mine"
    assert (
        model_key("Skywork/Skywork-Reward-Llama-3.1-8B-v0.2") == "skywork-reward-llama-3-1-8b-v0-2"
    )
    with pytest.raises(CurateError, match="unknown scorer"):
        resolve("no-such-scorer")


def test_offline_hub_id_not_cached_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(CurateError, match="HF_HUB_OFFLINE=1"):
        resolve("ArmoRM").load()
