"""Prompt-group counts shared by info, dedup and select."""

import numpy as np
import pyarrow as pa

from curate.prompts import describe, group_counts, groups_across_prompts, prompt_codes


def test_counts_and_description():
    codes = prompt_codes(pa.chunked_array([["p", "q", "p"], ["r", "p"]]))
    assert codes.tolist() == [0, 1, 0, 2, 0]
    counts = group_counts(codes)
    assert counts == {
        "prompts": 3,
        "answers": 5,
        "answers_per_prompt_mean": round(5 / 3, 3),
        "answers_per_prompt_max": 3,
        "prompts_with_several": 1,
    }
    assert describe(counts) == "3 prompts, 5 answers (1.667 per prompt, at most 3)"
    kept = group_counts(codes, np.array([True, True, False, False, False]))
    assert kept["prompts"] == 2 and kept["answers_per_prompt_max"] == 1
    assert group_counts(codes, np.zeros(5, bool))["prompts"] == 0
    assert describe(group_counts(codes[:0])) == "no prompts"


def test_groups_across_prompts():
    codes = np.array([0, 0, 1, 2, 3])
    group = np.array([0, 0, 0, 3, 3])  # group 0 holds prompts 0 and 1; group 3 prompts 2, 3
    assert groups_across_prompts(codes, group) == 2
    assert groups_across_prompts(codes, np.arange(5)) == 0
    assert groups_across_prompts(codes[:0], group[:0]) == 0
