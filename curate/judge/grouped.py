"""``curate judge --mode pairwise|funnel``: the judge as a whole-store stage over groups.

Groups are the tag clusters (``--groups tag``: each row in the cluster of its primary tag,
``tag_primary``) or
the answers to one prompt (``--groups prompt``: rows that share a ``prompt_id``).

* **pairwise**: every judgeable row of each group meets about ``opponents`` others in
  both orders, more rounds near the group's cut, Bradley-Terry per group
  (:mod:`curate.judge.tournament`). The score is the Bradley-Terry strength.
* **funnel** (tag clusters): the top ``top_k`` rows of each cluster by the store's other
  scores (:func:`default_top_k`: 2 x quota, 4 x with heuristics alone) are rated pointwise; the ``near_cut`` rated rows around the quota cut meet
  pairwise; their ratings are dealt out again in the pairwise order
  (:mod:`curate.judge.funnel`). The score is on the rating scale. Rows not judged keep
  no judge score.

Rows that dedup dropped are never judged (select would never keep them). Every call
goes through the store's call cache (:mod:`curate.judge.calls`), so a killed run that is
started again replays the same rounds from the cache and pays only for what it never
got back; the rounds are a function of the verdicts, so they come out the same.

The sidecar is ``score.judge.<name>`` for tag clusters, which select weighs like any
other score, and ``judge.<name>.prompts`` for prompt groups: strengths there compare
answers to one prompt only, so select does not read them as a quality score; the
preference pairs do. Columns (prefix ``judge_<name>``): ``score``, ``rating`` (the
pointwise rating, funnel), ``strength``, ``strength_lower``, ``strength_upper``
(Bradley-Terry, 95% bootstrap), ``rank``, ``rank_lower``, ``rank_upper`` (in its group,
1 = best, among the rows with a score; a rank the ratings decided spans its tie),
``comparisons``, ``opponents`` and ``outcomes`` (the ids met and the result against each,
1 win, 0.5 tie, 0 loss), ``group``, ``status``, ``tokens``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import names, prompts
from curate.errors import CurateError
from curate.judge import funnel, templates
from curate.judge.calls import Asker, Request
from curate.judge.pointwise import STATUS_OK, PointwiseJudge
from curate.judge.tournament import Group, Tournament, opponents_of, run_tournament
from curate.runner import Stage
from curate.store import Store

PAIRWISE, FUNNEL = "pairwise", "funnel"
TAG_GROUPS, PROMPT_GROUPS = "tag", "prompt"
NOT_JUDGED, NO_TAG, DUPLICATE = "not_judged", "no_tag", "duplicate"
NO_COMPARISON = "no_comparison"  # pairwise: alone in its group, or every verdict failed
PROMPTS_SUFFIX = ".prompts"


@dataclass(frozen=True)
class GroupOptions:
    """How the grouped judge spends its calls (defaults sized for select's --per-tag 500)."""

    mode: str = FUNNEL
    groups: str = TAG_GROUPS
    tagger: str | None = None
    quota: int = 500  # rows each group keeps: select's --per-tag (or --per-prompt)
    top_k: int | None = None  # funnel: rated per cluster [default: default_top_k]
    near_cut: int | None = None  # funnel: rows around the cut that meet pairwise [quota / 2]
    opponents: int = 6
    rounds: int = 3
    length_covariate: bool = False
    by: dict[str, float] = field(default_factory=dict)  # funnel: weights of the cheap scores
    bootstrap: int = 100
    seed: int = 0
    include_duplicates: bool = False

    @property
    def k(self) -> int:
        return self.top_k if self.top_k is not None else 2 * self.quota

    @property
    def band(self) -> int:
        return self.near_cut if self.near_cut is not None else max(2, -(-self.quota // 2))

    def check(self) -> None:
        if self.mode not in (PAIRWISE, FUNNEL):
            raise CurateError(f"--mode {self.mode!r}: choose pointwise, pairwise or funnel")
        if self.groups not in (TAG_GROUPS, PROMPT_GROUPS):
            raise CurateError(f"--groups {self.groups!r}: choose tag or prompt")
        if self.mode == FUNNEL and self.groups == PROMPT_GROUPS:
            raise CurateError(
                "the funnel judges the top of each tag cluster; answers to one prompt are "
                "compared with --mode pairwise --groups prompt"
            )
        if self.quota < 1 or self.opponents < 1 or self.rounds < 1 or self.bootstrap < 1:
            raise CurateError("--per-tag, --opponents, --rounds and --bootstrap must be >= 1")
        if self.mode == FUNNEL and self.k < self.quota:
            raise CurateError(
                f"--top-k {self.k} is under the quota {self.quota}: the funnel must rate at "
                "least the rows a cluster keeps"
            )


#: the funnel's top K as a multiple of the quota: with a model score to rank by, and with
#: heuristics alone (weak: only ~31% of a cluster's true top Q lies in their top 2Q,
#: ~57% in their top 4Q; BENCHMARKS.md, "The judged selection against a hidden quality")
TOP_K_MULTIPLE, TOP_K_MULTIPLE_HEURISTICS = 2, 4


def default_top_k(store: Store, options: GroupOptions) -> int:
    """2 x quota when a weighted cheap score is a model's, 4 x quota when all are heuristics."""
    from curate.select.stage import default_weights

    keys = sorted(prior_scores(store))
    weights = default_weights(keys, options.by) if keys else {}
    ranked_by = [k for k, w in weights.items() if w > 0]
    weak = bool(ranked_by) and all(k.startswith("heuristics") for k in ranked_by)
    return (TOP_K_MULTIPLE_HEURISTICS if weak else TOP_K_MULTIPLE) * options.quota


def sidecar_of(name: str, groups: str) -> str:
    """``score.judge.<name>`` (tag clusters: a score) or ``judge.<name>.prompts``."""
    key = f"judge.{names.slug(name)}"
    return key + PROMPTS_SUFFIX if groups == PROMPT_GROUPS else names.score_sidecar(key)


def prefix_of(name: str) -> str:
    return names.column_prefix(f"judge.{names.slug(name)}")


def schema(prefix: str) -> pa.Schema:
    p = prefix
    f32, i32 = pa.float32(), pa.int32()
    return pa.schema(
        [
            (f"{p}_score", f32),
            (f"{p}_rating", f32),
            (f"{p}_strength", f32),
            (f"{p}_strength_lower", f32),
            (f"{p}_strength_upper", f32),
            (f"{p}_rank", i32),
            (f"{p}_rank_lower", i32),
            (f"{p}_rank_upper", i32),
            (f"{p}_comparisons", i32),
            (f"{p}_opponents", pa.list_(pa.string())),
            (f"{p}_outcomes", pa.list_(f32)),
            (f"{p}_group", pa.string()),
            (f"{p}_status", pa.string()),
            (f"{p}_tokens", pa.int64()),
        ]
    )


# -- what the stage reads -------------------------------------------------------------------


def prior_scores(store: Store) -> dict[str, str]:
    """The store's complete score sidecars other than judges': key -> score column."""
    from curate.score.stage import score_columns

    return {
        names.score_key(sidecar): column
        for sidecar, column in score_columns(store).items()
        if not names.score_key(sidecar).startswith("judge.")
    }


def input_sidecars(store: Store, options: GroupOptions) -> list[str]:
    """The sidecars the stage reads (their builds are part of its fingerprint)."""
    from curate.runner import sidecar_state
    from curate.tag.stage import find_tags

    out = []
    if options.groups == TAG_GROUPS:
        out.append(find_tags(store, options.tagger))
    if options.mode == FUNNEL:
        scores = prior_scores(store)
        if not scores:
            raise CurateError(
                f"the funnel rates the top of each cluster by the store's scores, and "
                f"{store.root} has none: run `curate score` first, or use --mode pointwise"
            )
        out += [names.score_sidecar(k) for k in sorted(scores)]
    if not options.include_duplicates and sidecar_state(store, names.DEDUP) == "complete":
        out.append(names.DEDUP)
    return out


def auto_mode(store: Store, tagger: str | None = None) -> str:
    """``--mode auto``: the funnel when the store has tags and a score to rank by, else pointwise."""
    from curate.tag.stage import find_tags

    try:
        find_tags(store, tagger)
    except CurateError:
        return "pointwise"
    return FUNNEL if prior_scores(store) else "pointwise"


@dataclass
class Pool:
    """The rows of the store as the grouped judge sees them (all rows, base order)."""

    ids: np.ndarray
    lang: np.ndarray
    group: np.ndarray  # group code per row, -1: no group
    group_names: np.ndarray
    status: np.ndarray  # object: why a row is not judged, or None while it may be
    prior: np.ndarray  # funnel: the cheap scores combined within the group (NaN: none)
    ties: np.ndarray  # rank that breaks ties (cheap scores one by one, then id)


def read_pool(store: Store, options: GroupOptions, sidecars: list[str]) -> Pool:
    from curate.select import algorithms
    from curate.select.stage import default_weights

    table = store.read(columns=["id", "prompt_id", "lang_user"], sidecars=sidecars)
    n = table.num_rows
    ids = np.asarray(table.column("id").to_pylist(), dtype=object)
    lang = np.asarray(table.column("lang_user").to_pylist(), dtype=object)
    status = np.full(n, None, dtype=object)
    if options.groups == TAG_GROUPS:
        primary = table.column("tag_primary").to_pylist()
        status[[p is None for p in primary]] = NO_TAG
        names_, group = np.unique(
            np.asarray([p if p is not None else "" for p in primary], dtype=object),
            return_inverse=True,
        )
        group = group.astype(np.int64)
        group[status == NO_TAG] = -1
    else:
        group = prompts.prompt_codes(table.column("prompt_id"))
        names_ = np.asarray(
            pc.dictionary_encode(table.column("prompt_id").combine_chunks()).dictionary.to_pylist(),
            dtype=object,
        )
    if names.DEDUP in sidecars:
        dropped = ~table.column("dup_keep").to_numpy(zero_copy_only=False).astype(bool)
        status[dropped & (status == None)] = DUPLICATE  # noqa: E711
    quality: dict[str, np.ndarray] = {}
    weights: dict[str, float] = {}
    prior = np.full(n, np.nan)
    if options.mode == FUNNEL:
        from curate.score.stage import score_arrays

        quality = score_arrays(table, prior_scores(store))
        weights = default_weights(sorted(quality), options.by)
        members = np.flatnonzero((group >= 0) & (status == None))  # noqa: E711
        prior[members] = algorithms.membership_scores(
            quality, members, group[members], len(names_), weights, "others"
        )
    ties = algorithms.tie_order(quality, weights, ids.astype(str))
    return Pool(ids, lang, group, np.asarray(names_, dtype=object), status, prior, ties)


@dataclass
class Candidates:
    """What a run (or its plan) judges: the pool, statuses so far, and the judged rows."""

    pool: Pool
    status: np.ndarray  # why a row is not judged (None: it is)
    messages: dict[int, list[dict]]  # the conversations of the rows considered
    prompts: dict[int, list[dict]]  # row -> its pointwise prompt, for the judgeable rows

    @property
    def judged(self) -> np.ndarray:
        return np.asarray(sorted(self.prompts), dtype=np.int64)


def read_messages(store: Store, rows: np.ndarray) -> dict[int, list[dict]]:
    """The messages of ``rows`` (base positions), streamed shard by shard."""
    wanted = np.zeros(store.num_rows(), dtype=bool)
    wanted[np.asarray(rows, dtype=np.int64)] = True
    out: dict[int, list[dict]] = {}
    offset = 0
    for shard in store.iter_shards(columns=["messages"]):
        local = np.flatnonzero(wanted[offset : offset + shard.num_rows])
        if len(local):
            for i, messages in zip(
                local.tolist(), shard.column("messages").take(local).to_pylist()
            ):
                out[offset + i] = messages
        offset += shard.num_rows
    return out


def answer_length(messages: list[dict]) -> int:
    """Characters of the final reply (the length covariate's unit), at least 1."""
    return max(1, len(messages[-1]["content"] or ""))


# -- the judge -------------------------------------------------------------------------------


class GroupedJudge:
    """The pairwise or funnel judge of one store: a pointwise judge and a pairwise asker."""

    def __init__(
        self,
        pointwise: PointwiseJudge,
        options: GroupOptions,
        pair_template: str | None = None,
    ):
        if options.mode == FUNNEL and options.top_k is None:
            store = Store.open(pointwise.store_root)
            options = replace(options, top_k=default_top_k(store, options))
        options.check()
        self.pointwise = pointwise
        self.options = options
        self.name = pointwise.name
        self.sidecar = sidecar_of(pointwise.name, options.groups)
        self.prefix = prefix_of(pointwise.name)
        self.pair_template_source = pair_template or templates.PAIRWISE_PRESETS[options.groups]
        self.pairs: Asker | None = None
        self.tournament: Tournament | None = None

    @property
    def backend(self):
        return self.pointwise.backend

    def load_templates(self) -> None:
        """Both templates, checked (no backend): what a dry run needs."""
        self.pointwise.load_template()  # funnel: its ratings; both: what can be judged
        template = templates.load_template(self.pair_template_source)
        if template.kind != templates.PAIRWISE:
            raise CurateError(
                f"--pair-template {self.pair_template_source!r} rates one answer; the pairwise "
                "judge needs a template that compares two ({answer_a} and {answer_b})"
            )
        if self.options.groups == TAG_GROUPS and template.shared_prompt:
            raise CurateError(
                f"--pair-template {self.pair_template_source!r} shows one prompt that both "
                "answers reply to, but the conversations of a tag cluster have different "
                "prompts: use pairwise-cluster, or --groups prompt"
            )
        self.pair_template = template

    def load(self) -> None:
        self.load_templates()
        self.pointwise.load()
        p = self.pointwise
        self.pairs = Asker(p.backend, p.cache, self.pair_template, p.max_new_tokens, p.seed)

    def params(self) -> dict[str, Any]:
        assert self.pairs is not None, "load() first"
        params: dict[str, Any] = {"judge": self.options.mode, **asdict(self.options)}
        params["top_k"], params["near_cut"] = self.options.k, self.options.band
        params["pairwise"] = self.pairs.params()
        if self.options.mode == FUNNEL:
            params["pointwise"] = self.pointwise.asker().params()
        return params

    def calls(self) -> dict[str, int]:
        stats: Counter[str] = Counter()
        if self.pairs is not None:
            stats.update(self.pairs.stats)
        if self.options.mode == FUNNEL and self.pointwise.cache is not None:
            stats.update(self.pointwise.asker().stats)
        return dict(stats)

    def stage(self, store: Store) -> Stage:
        sidecars = input_sidecars(store, self.options)
        p = self.prefix
        status_column, score_column = f"{p}_status", f"{p}_score"

        def counts(st: Store) -> dict[str, Any]:
            table = st.read_sidecar(
                self.sidecar, columns=[score_column, status_column, f"{p}_tokens"]
            )
            return {
                "rows": table.num_rows,
                "scored": table.num_rows - table.column(score_column).null_count,
                "status": dict(sorted(Counter(table.column(status_column).to_pylist()).items())),
                "tokens": int(pc.sum(table.column(f"{p}_tokens")).as_py() or 0),
            }

        return Stage(
            name=self.sidecar,
            params={**self.params(), "identity": self.backend.identity()},
            columns=["prompt_id", "lang_user", "messages"],
            sidecars=sidecars,
            schema=schema(p),
            compute_all=lambda st, progress: self.compute(st, sidecars, progress),
            counts=counts,
            extra=self.manifest_extra,
            rates=("tokens",),
        )

    # -- the work ---------------------------------------------------------------------------
    def candidates(self, store: Store, sidecars: list[str]) -> Candidates:
        """The pool, who is judged (funnel: the top K), and each judged row's pointwise prompt."""
        o = self.options
        pool = read_pool(store, o, sidecars)
        status = pool.status.copy()
        open_ = (status == None) & (pool.group >= 0)  # noqa: E711
        if o.mode == FUNNEL:
            chosen = funnel.top_per_group(pool.group, pool.prior, pool.ties, o.k) & open_
            status[open_ & ~chosen] = NOT_JUDGED
            open_ = chosen
        messages = read_messages(store, np.flatnonzero(open_))
        prompts_: dict[int, list[dict]] = {}
        for row in np.flatnonzero(open_).tolist():
            prompt, why = self.pointwise.prompt_for(messages[row], pool.lang[row])
            if prompt is None:
                status[row] = why
            else:
                prompts_[row] = prompt
        return Candidates(pool, status, messages, prompts_)

    def compute(self, store: Store, sidecars: list[str], progress=None) -> pa.Table:
        o = self.options
        c = self.candidates(store, sidecars)
        pool, status, messages, prompts_ = c.pool, c.status, c.messages, c.prompts
        n = len(pool.ids)
        tokens = np.zeros(n, dtype=np.int64)
        rating = np.full(n, np.nan)
        judged = c.judged

        if o.mode == FUNNEL:
            asked = judged.tolist()
            answers = self.pointwise.asker().ask(
                [Request((pool.ids[r],), prompts_[r]) for r in asked], progress
            )
            for r, answer, score in zip(asked, answers, self.pointwise.rate(answers)):
                status[r], tokens[r] = answer.status, answer.tokens
                if score is not None:
                    rating[r] = score
            groups = self._bands(pool, rating)
        else:
            for r in judged.tolist():
                status[r] = STATUS_OK
            groups = self._groups(pool, judged)

        length = None
        if o.length_covariate:
            length = np.ones(n)
            for r in judged.tolist():
                length[r] = answer_length(messages[r])

        def judge_pairs(rows: np.ndarray):
            requests = []
            for x, y in rows.tolist():
                requests.append(
                    Request((pool.ids[x], pool.ids[y]), self._pair_prompt(messages, pool, x, y))
                )
                requests.append(
                    Request((pool.ids[y], pool.ids[x]), self._pair_prompt(messages, pool, y, x))
                )
            answers = self.pairs.ask(requests, progress)
            for (x, y), a, b in zip(rows.tolist(), answers[0::2], answers[1::2]):
                spent = a.tokens + b.tokens
                tokens[x] += spent - spent // 2
                tokens[y] += spent // 2
            verdict = [a.verdict.value if a.ok else None for a in answers]
            return verdict[0::2], verdict[1::2]

        t = run_tournament(
            groups,
            n,
            judge_pairs,
            m=o.opponents,
            rounds=o.rounds,
            seed=o.seed,
            length=length,
            n_boot=o.bootstrap,
        )
        self.tournament = t
        return self._columns(pool, status, rating, tokens, t, groups)

    def _pair_prompt(self, messages, pool: Pool, x: int, y: int) -> list[dict]:
        fields = templates.pairwise_fields(messages[x], messages[y], pool.lang[x], pool.lang[y])
        return [{"role": "user", "content": self.pair_template.render(**fields)}]

    def _groups(self, pool: Pool, judged: np.ndarray) -> list[Group]:
        """pairwise: every judged row of each group, in base order; the quota is the cut."""
        if not len(judged):
            return []
        order = judged[np.argsort(pool.group[judged], kind="stable")]
        codes = pool.group[order]
        return [
            Group(rows, self.options.quota, str(pool.group_names[pool.group[rows[0]]]))
            for rows in np.split(order, np.flatnonzero(np.diff(codes)) + 1)
        ]

    def _bands(self, pool: Pool, rating: np.ndarray) -> list[Group]:
        """funnel: per cluster, the rated rows around the cut (their quota: the cut in the band)."""
        o = self.options
        rated = np.flatnonzero(~np.isnan(rating))
        groups: list[Group] = []
        if not len(rated):
            return groups
        order = rated[np.argsort(pool.group[rated], kind="stable")]
        codes = pool.group[order]
        for rows in np.split(order, np.flatnonzero(np.diff(codes)) + 1):
            ranked = rows[funnel.rating_order(rating[rows], pool.prior[rows], pool.ties[rows])]
            start, stop = funnel.band(len(ranked), o.quota, o.band)
            if stop > start:
                name = str(pool.group_names[pool.group[rows[0]]])
                groups.append(Group(ranked[start:stop], o.quota - start, name))
        return groups

    def _columns(self, pool, status, rating, tokens, t: Tournament, groups) -> pa.Table:
        o = self.options
        n = len(pool.ids)
        has_comparison = t.comparisons > 0
        if o.mode == FUNNEL:
            score = rating.copy()
            for group in groups:  # rows whose every pair failed keep their rating
                rows = group.rows[has_comparison[group.rows]]
                if len(rows) < 2:
                    continue
                order = np.lexsort((pool.ties[rows], -t.strength[rows]))
                gap = funnel.smallest_gap(rating[pool.group == pool.group[rows[0]]])
                score[rows] = funnel.refine(rating[rows], order, gap)
        else:
            score = np.where(has_comparison, t.strength, np.nan)
            lonely = (status == STATUS_OK) & ~has_comparison
            status[lonely] = NO_COMPARISON
        rank = np.full(n, -1, dtype=np.int64)
        rank_lower, rank_upper = rank.copy(), rank.copy()
        scored = np.flatnonzero(~np.isnan(score))
        order = scored[np.lexsort((pool.ties[scored], -score[scored], pool.group[scored]))]
        codes = pool.group[order]
        for rows in np.split(order, np.flatnonzero(np.diff(codes)) + 1):
            if not len(rows):
                continue
            rank[rows] = np.arange(1, len(rows) + 1)
            rank_lower[rows], rank_upper[rows] = funnel.tie_interval(score[rows])
        # compared rows: the bootstrap's spread of ranks, around the rank they have here
        ok = has_comparison & (rank > 0) & (t.rank > 0)
        rank_lower[ok] = np.maximum(1, rank[ok] - (t.rank[ok] - t.rank_lower[ok]))
        rank_upper[ok] = rank[ok] + (t.rank_upper[ok] - t.rank[ok])
        opponents, outcomes = opponents_of(t, n)
        ids = pool.ids
        group_name = [str(pool.group_names[g]) if g >= 0 else None for g in pool.group.tolist()]
        p = self.prefix
        f32 = pa.float32()

        def floats(values: np.ndarray) -> pa.Array:
            return pa.array(values, f32, mask=np.isnan(values))

        def ints(values: np.ndarray) -> pa.Array:
            return pa.array(values, pa.int32(), mask=values < 0)

        strength = np.where(has_comparison, t.strength, np.nan)
        return pa.table(
            {
                "id": pa.array(ids.tolist(), pa.string()),
                f"{p}_score": floats(score),
                f"{p}_rating": floats(rating),
                f"{p}_strength": floats(strength),
                f"{p}_strength_lower": floats(np.where(has_comparison, t.lower, np.nan)),
                f"{p}_strength_upper": floats(np.where(has_comparison, t.upper, np.nan)),
                f"{p}_rank": ints(rank),
                f"{p}_rank_lower": ints(rank_lower),
                f"{p}_rank_upper": ints(rank_upper),
                f"{p}_comparisons": pa.array(t.comparisons, pa.int32()),
                f"{p}_opponents": pa.array(
                    [[ids[j] for j in row] for row in opponents], pa.list_(pa.string())
                ),
                f"{p}_outcomes": pa.array(outcomes, pa.list_(f32)),
                f"{p}_group": pa.array(group_name, pa.string()),
                f"{p}_status": pa.array(status.tolist(), pa.string()),
                f"{p}_tokens": pa.array(tokens, pa.int64()),
            }
        )

    def manifest_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"calls": self.calls()}
        t = self.tournament
        if t is None:
            return extra
        stats = t.position
        consistent = stats.pairs - stats.flips - stats.single - stats.both_failed
        extra["verdicts"] = {
            "A": stats.a_wins,
            "B": stats.b_wins,
            "tie": stats.ties,
            "failed": stats.failed,
        }
        extra["pairs"] = {
            "judged": stats.pairs,
            "consistent": consistent,
            "inconsistent": stats.flips,
            "one_order_failed": stats.single,
            "both_orders_failed": stats.both_failed,
            "rounds": t.rounds_played,
        }
        decided = stats.a_wins + stats.b_wins
        extra["position_bias"] = {
            "first_position_wins": round(stats.a_rate, 4) if decided else None,
            "decided_verdicts": decided,
        }
        if t.beta:
            betas = np.asarray(list(t.beta.values()))
            extra["length_covariate"] = {
                "groups": len(betas),
                "beta_median": round(float(np.median(betas)), 4),
            }
        return extra
