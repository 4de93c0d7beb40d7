"""A store with several scored answers per prompt and two ingested preference records."""

from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store
from curate.testing.scores import write_scores
from tests.conftest import write_jsonl

# prompt -> the score of each of its answers (None: the score failed)
SCORES = {
    "q0": [4.0, 1.0, 3.0, 2.0],
    "q1": [5.0, 5.0, 5.0],  # every answer ties
    "q2": [7.0],  # one answer
    "q3": [6.0, None],  # one scored answer
    "q4": [10.0, 8.0, 6.0, 6.5, 9.0],
    "q5": [2.0, 1.5],
    "q6": [3.0, 3.0, 1.0],  # the best two tie: the smaller id is chosen
}
# a second score for the weights test: it disagrees on q0 and q5
SECOND = {
    "q0": [0.0, 9.0, 1.0, 2.0],
    "q1": [1.0, 2.0, 3.0],
    "q2": [1.0],
    "q3": [1.0, 1.0],
    "q4": [5.0, 4.0, 3.0, 2.0, 1.0],
    "q5": [1.0, 3.0],
    "q6": [1.0, 2.0, 3.0],
}


def question(q: str) -> str:
    return f"Question {q}: how would you explain it?"


def answer(q: str, k: int) -> str:
    return f"Answer {k} to {q}: " + "a reason. " * (k + 1)


PREFERENCES = [  # UltraFeedback-style rows: a pair of their own, with the pair's scores
    {
        "prompt": "Explain photosynthesis in one sentence.",
        "chosen": [
            {"role": "user", "content": "Explain photosynthesis in one sentence."},
            {"role": "assistant", "content": "Plants turn light, water and CO2 into sugar."},
        ],
        "rejected": [
            {"role": "user", "content": "Explain photosynthesis in one sentence."},
            {"role": "assistant", "content": "It is a plant thing."},
        ],
        "score_chosen": 8.0,
        "score_rejected": 4.0,
    },
    {
        "prompt": "Name a prime number.",
        "chosen": [
            {"role": "user", "content": "Name a prime number."},
            {"role": "assistant", "content": "7."},
        ],
        "rejected": [
            {"role": "user", "content": "Name a prime number."},
            {"role": "assistant", "content": "13."},
        ],
        "score_chosen": 7.0,
        "score_rejected": 7.0,  # a tie: says nothing
    },
]


def build_store(root):
    records = [
        {
            "messages": [
                {"role": "user", "content": question(q)},
                {"role": "assistant", "content": answer(q, k)},
            ]
        }
        for q, values in SCORES.items()
        for k in range(len(values))
    ]
    records.append({"messages": [{"role": "user", "content": question("q0")}]})  # no answer
    write_jsonl(root / "answers.jsonl", records)
    write_jsonl(root / "prefs.jsonl", PREFERENCES)
    Ingestor(
        [str(root / "answers.jsonl"), str(root / "prefs.jsonl")],
        root / "store",
        IngestOptions(shard_size=7),
        workers=0,
    ).run()
    store = Store.open(root / "store")
    write_scores(store, "a", values_of(store, SCORES))
    return store


def values_of(store, table):
    """Per base row: the value ``table`` gives its answer (None for other rows)."""
    out = []
    for m in store.read(columns=["messages"]).column("messages").to_pylist():
        value = None
        if len(m) == 2 and m[0]["content"].startswith("Question q"):
            q = m[0]["content"].split()[1].rstrip(":")
            k = int(m[1]["content"].split()[1])
            value = table[q][k]
        out.append(value)
    return out
