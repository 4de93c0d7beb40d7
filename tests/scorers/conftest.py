"""Tiny random reward-model checkpoints in the official layouts, built once per session."""

from pathlib import Path

import pytest

GATING = "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"


@pytest.fixture(scope="session")
def armorm_dir(tmp_path_factory) -> Path:
    from curate.testing.tiny_models import write_armorm_checkpoint

    return write_armorm_checkpoint(tmp_path_factory.mktemp("armorm") / "ArmoRM-tiny")


@pytest.fixture(scope="session")
def reward_dir(tmp_path_factory) -> Path:
    from curate.testing.tiny_models import write_reward_checkpoint

    return write_reward_checkpoint(tmp_path_factory.mktemp("reward") / "tiny-reward")


@pytest.fixture(scope="session")
def reference(armorm_dir):
    """The authors' architecture (ported in curate.testing.tiny_models), loaded from the same checkpoint."""
    from transformers import AutoTokenizer

    from curate.testing.tiny_models import LlamaForRewardModelWithGating

    tokenizer = AutoTokenizer.from_pretrained(armorm_dir)
    model = LlamaForRewardModelWithGating.from_pretrained(armorm_dir).eval()
    model.token_pattern = tokenizer.encode(GATING, add_special_tokens=False)
    return model, tokenizer


@pytest.fixture(scope="session")
def armorm(armorm_dir):
    from scorers.armorm import ArmoRMScorer

    scorer = ArmoRMScorer(str(armorm_dir), key="armorm")
    scorer.load()
    return scorer
