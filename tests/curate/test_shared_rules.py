"""Rules and names that several stages share are defined once; each is checked here.

* the greedy leader rule: :func:`curate.dedup.grouping.greedy_groups`, which dedup
  and tag normalization (:func:`taggers.normalize.leader_clusters`) both run;
* the ingest flag names and the sets of them later stages act on: :mod:`curate.flags`;
* the codes that name no language: :data:`curate.lang.UNKNOWN_LANGS`.
"""

import numpy as np
import pytest

from curate import flags, lang
from curate.dedup import grouping
from curate.dedup.grouping import greedy_groups
from curate.dedup.search import Pairs

# -- the greedy leader rule --------------------------------------------------------------


def brute_force_leaders(sim: np.ndarray, threshold: float, order) -> tuple[list[int], list[float]]:
    """The rule as written: visit best first; join the most similar earlier leader, else lead.

    Ties in similarity go to the leader visited first.
    """
    n = len(sim)
    leader, similarity = list(range(n)), [1.0] * n
    leaders: list[int] = []  # in visit order
    for u in order:
        best = None
        for v in leaders:
            if sim[u, v] >= threshold and (best is None or sim[u, v] > sim[u, best]):
                best = v
        if best is None:
            leaders.append(u)
        else:
            leader[u], similarity[u] = best, float(sim[u, best])
    return leader, similarity


def pairs_above(sim: np.ndarray, threshold: float) -> Pairs:
    i, j = np.nonzero(np.triu(sim >= threshold, 1))
    return Pairs(i.astype(np.int64), j.astype(np.int64), sim[i, j].astype(np.float32))


@pytest.mark.parametrize("seed", range(8))
def test_greedy_groups_is_the_brute_force_rule(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        n = int(rng.integers(1, 40))
        # few distinct similarities, so that ties are common
        sim = rng.integers(0, 8, size=(n, n)).astype(np.float32) / 8
        sim = np.maximum(sim, sim.T)
        np.fill_diagonal(sim, 1.0)
        threshold = float(rng.choice([0.5, 0.625, 0.75, 0.875]))
        order = rng.permutation(n)
        groups = greedy_groups(n, pairs_above(sim, threshold), order)
        leader, similarity = brute_force_leaders(sim, threshold, order.tolist())
        assert groups.representative.tolist() == leader
        assert groups.similarity.tolist() == similarity
        assert groups.keep.tolist() == [leader[u] == u for u in range(n)]


@pytest.mark.parametrize("seed", range(4))
def test_tag_leader_clustering_is_the_same_rule(seed):
    from taggers.normalize import leader_clusters

    rng = np.random.default_rng(seed)
    # integer vectors: every dot product is exact, however BLAS blocks it
    vectors = rng.integers(-2, 3, size=(int(rng.integers(2, 120)), 6)).astype(np.float32)
    sim = vectors @ vectors.T
    n = len(vectors)
    expected, _ = brute_force_leaders(sim, 3.0, range(n))
    assert greedy_groups(n, pairs_above(sim, 3.0), np.arange(n)).representative.tolist() == expected
    for block in (1, 2, 5, 16, None):
        assert leader_clusters(vectors, 3.0, block_rows=block).tolist() == expected


def test_one_definition_of_the_leader_rule():
    import taggers.normalize

    assert taggers.normalize.greedy_groups is grouping.greedy_groups


# -- ingest flags ------------------------------------------------------------------------


def test_flag_functions_only_emit_the_named_flags():
    texts = ["<|im_start|>hi [Your Name]", "plain", "{{ name }} </s>"]
    emitted = {f for t in texts for f in flags.text_flags(t)}
    assert emitted == set(flags.TEXT_FLAGS)
    cases = [
        (["user"], ["q"]),
        (["assistant", "user"], ["a", " "]),
        (["user", "user", "assistant"], ["a", "b", "c"]),
    ]
    emitted = {f for roles, contents in cases for f in flags.structure_flags(roles, contents)}
    assert emitted == set(flags.STRUCTURE_FLAGS)
    assert len(set(flags.ALL_FLAGS)) == len(flags.ALL_FLAGS)


def test_flag_sets_of_later_stages():
    assert set(flags.QUALITY_FLAGS) <= set(flags.ALL_FLAGS)
    assert not set(flags.QUALITY_FLAGS) & {
        flags.PREFERENCE_TIE_FLAG,
        flags.PREFERENCE_IDENTICAL_FLAG,
        flags.REJECTED_PREFIX_DIFFERS_FLAG,
    }
    # recorded in the heuristic scorer's parameters (and so its fingerprint): same order
    assert flags.TEMPLATE_FLAGS == ("template_tokens", "placeholder", "empty_turn")
    from curate.dedup import ranking
    from scorers import heuristics

    assert tuple(ranking.QUALITY_FLAGS) == flags.QUALITY_FLAGS
    assert tuple(heuristics.TEMPLATE_FLAGS) == flags.TEMPLATE_FLAGS


# -- languages that are no language ------------------------------------------------------


def test_unknown_language_codes_are_what_detection_gives():
    codes, _ = lang.detect(
        ["12345 !!! ???", "გამარჯობა, როგორ ხარ? ეს არის ქართული ტექსტი.", "How are you today?"]
    )
    assert codes[0] == lang.UND and codes[1] == lang.OTHER and codes[2] == "en"
    assert lang.UNKNOWN_LANGS == (lang.UND, lang.OTHER) == ("und", "other")
    from curate.dedup import stage
    from scorers import heuristics

    assert set(stage.UNKNOWN_LANGS) == set(lang.UNKNOWN_LANGS)
    assert set(heuristics.UNDETERMINED) == set(lang.UNKNOWN_LANGS)
