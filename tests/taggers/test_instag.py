"""InsTag prompts, strict parsing with repairs, retries and recorded failures."""

from dataclasses import dataclass

import pytest

from taggers.instag import InstagParams, InstagTagger, merge_turns, parse_tags, turn_prompts

GOOD = '[{"tag": "Recipe", "explanation": "asks for a recipe"}, {"tag": "Baking", "explanation": "bread"}]'


@pytest.mark.parametrize(
    "reply,tags,repaired",
    [
        (GOOD, ["Recipe", "Baking"], False),
        ("```json\n" + GOOD + "\n```", ["Recipe", "Baking"], True),
        ("Sure! Here are the tags:\n" + GOOD + "\nHope this helps.", ["Recipe", "Baking"], True),
        ('[{"tag": "Recipe", "explanation": "x"},]', ["Recipe"], True),
        ("[{'tag': 'Recipe', 'explanation': 'x'}]", ["Recipe"], True),
        ('{"tags": [{"tag": "Recipe"}]}', ["Recipe"], True),
        ('["Recipe", "Baking"]', ["Recipe", "Baking"], False),
        ("[{\u201ctag\u201d: \u201cRecipe\u201d}]", ["Recipe"], True),
    ],
)
def test_parse_and_repair(reply, tags, repaired):
    parsed = parse_tags(reply)
    assert parsed.error is None and parsed.tags == tags and parsed.repaired is repaired


@pytest.mark.parametrize(
    "reply,error",
    [
        (None, "empty reply"),
        ("   ", "empty reply"),
        ("I cannot help with that.", "no JSON list"),
        ('"just a string"', "expected a JSON list"),
        ("[]", "an empty list"),
        ('[{"tag": "食谱"}, {"tag": "Рецепт"}]', "no usable tag: 2 rejected"),
        ('[{"name": "Recipe"}]', "no usable tag: 1 rejected"),
    ],
)
def test_garbage_is_an_error_not_tags(reply, error):
    parsed = parse_tags(reply)
    assert parsed.tags == [] and error in parsed.error


def test_non_english_and_overlong_tags_are_dropped_not_translated():
    parsed = parse_tags('[{"tag": "Recipe"}, {"tag": "食谱"}, {"tag": "' + "x" * 100 + '"}]')
    assert parsed.tags == ["Recipe"] and parsed.rejected == 2 and parsed.error is None


def test_each_user_turn_is_tagged_in_context():
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How do I bake bread?"},
        {"role": "assistant", "content": "Mix flour and water."},
        {"role": "user", "content": "И сколько печь?"},
        {"role": "assistant", "content": "40 минут."},
    ]
    prompts = turn_prompts(messages, InstagParams())
    assert len(prompts) == 2
    first, second = prompts[0][0]["content"], prompts[1][0]["content"]
    assert "[begin]\nHow do I bake bread?\n[end]" in first and "[context]" not in first
    assert "[begin]\nИ сколько печь?\n[end]" in second
    assert "user: How do I bake bread?\nassistant: Mix flour and water." in second
    assert "Be brief." not in second and "English" in second


def test_merge_keeps_first_seen_and_drops_spelling_duplicates():
    a, b = parse_tags(GOOD), parse_tags('[{"tag": "recipe"}, {"tag": "Time Estimate"}]')
    tags, _ = merge_turns([a, b])
    assert tags == ["Recipe", "Baking", "Time Estimate"]


@dataclass
class Reply:
    text: str | None
    error: str | None = None
    prompt_tokens: int = 3
    completion_tokens: int = 5


class ScriptedBackend:
    """Answers from a script in order; records the temperatures it was asked for."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.temperatures = []

    def load(self):
        pass

    def identity(self):
        return {"backend": "scripted"}

    def generate(self, prompts, params):
        self.temperatures.append(params.temperature)
        return [
            Reply(self.replies.pop(0)) if self.replies else Reply(None, "no reply") for _ in prompts
        ]


def test_a_failed_reply_is_retried_sampled_then_recorded():
    conversations = [
        [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a"}],
        [{"role": "user", "content": "q2"}, {"role": "assistant", "content": "a"}],
        [{"role": "assistant", "content": "no question"}],
    ]
    backend = ScriptedBackend([GOOD, "garbage", "still garbage"])
    results = InstagTagger(backend).tag(conversations)
    assert backend.temperatures == [0.0, 0.7]  # greedy first, the retry sampled
    assert results[0].status == "ok" and results[0].tags == ["Recipe", "Baking"]
    assert results[1].status == "failed" and results[1].tags == []
    assert "no JSON list" in results[1].error and "retry" in results[1].error
    assert results[1].prompt_tokens == 6  # both attempts counted
    assert results[2].status == "no_user_turn"


def test_retry_success_replaces_the_failure():
    backend = ScriptedBackend(["garbage", GOOD])
    (result,) = InstagTagger(backend).tag(
        [[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]]
    )
    assert result.status == "ok" and result.tags == ["Recipe", "Baking"] and result.error is None
