"""Statistics of the pairwise judge: combining both orders, Bradley-Terry fits, bootstrap ranks.

The judge compares two conversations of one cluster in both orders (x in position A, then
y in position A). :func:`combine_orders` turns the two verdicts into one outcome for x, so
that a judge that always prefers position A produces a tie rather than a win.
:func:`fit_bradley_terry` fits log-strengths to the outcomes of one cluster, with a weak
Gaussian prior and an optional length covariate; :func:`bootstrap_intervals` resamples the
comparisons to give each item a strength interval and a rank interval within its cluster.

Pure numpy, deterministic: the same inputs and seed give the same arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Outcome of one verdict for the item in position A (A won, B won, tie).
_FOR_FIRST = {"A": 1.0, "B": 0.0, "C": 0.5}
_VERDICTS = (None, "A", "B", "C")


def _check_verdict(v: str | None) -> str | None:
    if v not in _VERDICTS:
        raise ValueError(f"verdict must be 'A', 'B', 'C' or None, got {v!r}")
    return v


def combine_orders(first: str | None, second: str | None) -> float | None:
    """One outcome for item x from its two verdicts, from x's point of view.

    ``first`` is the verdict with x in position A, ``second`` the verdict with x in
    position B. Each order gives x 1 (won), 0 (lost) or 0.5 (tie, 'C'); the outcome is
    their mean, so: won both -> 1.0, lost both -> 0.0, a flip (position A won both times,
    'A' then 'A', or position B both times) -> 0.5, a tie in both -> 0.5, and a win in one
    order with a tie in the other -> 0.75 (0.25 for a loss and a tie). When one order
    failed (None) the other is used alone, un-debiased: one verdict is still evidence and
    dropping it would lose the pair; :class:`PositionStats` counts how often that happens.
    Both failed -> None (no comparison).
    """
    a = _check_verdict(first)
    b = _check_verdict(second)
    parts = []
    if a is not None:
        parts.append(_FOR_FIRST[a])
    if b is not None:
        parts.append(1.0 - _FOR_FIRST[b])
    if not parts:
        return None
    return sum(parts) / len(parts)


@dataclass(frozen=True)
class PositionStats:
    """How often each position wins, over all valid verdicts of both orders.

    ``a_rate`` = A wins / (A wins + B wins), ties excluded: 0.5 for a judge without
    position bias. ``flips`` counts pairs where the same position won both orders (a sign
    of position bias), ``single`` pairs judged in one order only (the other failed), and
    ``failed`` verdicts that were None, ``both_failed`` pairs with no valid verdict.
    """

    a_wins: int
    b_wins: int
    ties: int
    failed: int
    pairs: int
    flips: int
    single: int
    both_failed: int

    @property
    def a_rate(self) -> float:
        decided = self.a_wins + self.b_wins
        return self.a_wins / decided if decided else float("nan")

    @property
    def flip_rate(self) -> float:
        both = self.pairs - self.single - self.both_failed
        return self.flips / both if both > 0 else float("nan")


def combine_many(
    first: Sequence[str | None], second: Sequence[str | None]
) -> tuple[np.ndarray, PositionStats]:
    """:func:`combine_orders` over many pairs: outcomes (NaN where both failed) and stats."""
    if len(first) != len(second):
        raise ValueError("first and second must have the same length")
    out = np.empty(len(first), dtype=np.float64)
    a_wins = b_wins = ties = failed = flips = single = none_pairs = 0
    for k, (v1, v2) in enumerate(zip(first, second)):
        o = combine_orders(v1, v2)
        out[k] = np.nan if o is None else o
        for v in (v1, v2):
            if v is None:
                failed += 1
            elif v == "A":
                a_wins += 1
            elif v == "B":
                b_wins += 1
            else:
                ties += 1
        if v1 is None and v2 is None:
            none_pairs += 1
        elif v1 is None or v2 is None:
            single += 1
        elif v1 == v2 and v1 != "C":
            flips += 1
    stats = PositionStats(
        a_wins=a_wins,
        b_wins=b_wins,
        ties=ties,
        failed=failed,
        pairs=len(first),
        flips=flips,
        single=single,
        both_failed=none_pairs,
    )
    return out, stats


@dataclass(frozen=True)
class BTFit:
    """A Bradley-Terry fit of one cluster.

    ``strengths``: mean-centred log-strengths (length-neutral when a length was given);
    ``se``: their standard errors from the inverse Hessian of the penalised likelihood
    (of the centred strengths); ``beta``/``beta_se``: the length coefficient per unit of
    log length difference (None without a length covariate).
    """

    strengths: np.ndarray
    se: np.ndarray
    beta: float | None
    beta_se: float | None
    n_iter: int
    converged: bool


def _prepare(n_items, i, j, outcome, weights, length):
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    y = np.asarray(outcome, dtype=np.float64)
    if not (i.shape == j.shape == y.shape) or i.ndim != 1:
        raise ValueError("i, j and outcome must be 1-d arrays of the same length")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != y.shape:
        raise ValueError("weights must have the same length as outcome")
    if i.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n_items):
        raise ValueError("item indices out of range")
    if np.any(i == j):
        raise ValueError("an item cannot be compared with itself")
    keep = ~np.isnan(y)
    if np.any((y[keep] < 0) | (y[keep] > 1)):
        raise ValueError("outcomes must lie in [0, 1]")
    i, j, y, w = i[keep], j[keep], y[keep], w[keep]
    x = None
    if length is not None:
        ln = np.asarray(length, dtype=np.float64)
        if ln.shape != (n_items,) or np.any(ln <= 0):
            raise ValueError("length must be n_items positive numbers")
        logl = np.log(ln)
        x = logl[i] - logl[j]
    return i, j, y, w, x


def _newton(n, i, j, y, w, x, prior, beta_prior, start, max_iter, tol):
    """Maximise the penalised log-likelihood by damped Newton; returns (theta, H, it, ok)."""
    p_dim = n + (x is not None)
    theta = np.zeros(p_dim) if start is None else np.array(start, dtype=np.float64)
    inv_var = np.full(p_dim, 1.0 / prior)
    if x is not None:
        inv_var[n] = 1.0 / beta_prior

    def eta_of(t):
        e = t[i] - t[j]
        return e if x is None else e + t[n] * x

    def objective(t):
        e = eta_of(t)
        # y log s(e) + (1-y) log s(-e) = y e - log(1 + exp(e))
        ll = np.sum(w * (y * e - np.logaddexp(0.0, e)))
        return ll - 0.5 * np.sum(inv_var * t * t)

    f = objective(theta)
    ok = False
    it = 0
    hess = None
    for it in range(1, max_iter + 1):  # noqa: B007
        e = eta_of(theta)
        p = 0.5 * (1.0 + np.tanh(0.5 * e))  # sigmoid, overflow-free
        r = w * (y - p)
        d = w * p * (1.0 - p)
        grad = np.empty(p_dim)
        grad[:n] = np.bincount(i, r, minlength=n) - np.bincount(j, r, minlength=n)
        # Negative Hessian: weighted graph Laplacian plus the prior precision.
        deg = np.bincount(i, d, minlength=n) + np.bincount(j, d, minlength=n)
        off = np.bincount(i * n + j, d, minlength=n * n) + np.bincount(
            j * n + i, d, minlength=n * n
        )
        hess = np.zeros((p_dim, p_dim))
        hess[:n, :n] = -off.reshape(n, n)
        hess[np.arange(n), np.arange(n)] += deg
        if x is not None:
            grad[n] = np.sum(r * x)
            dx = d * x
            cross = np.bincount(i, dx, minlength=n) - np.bincount(j, dx, minlength=n)
            hess[:n, n] = cross
            hess[n, :n] = cross
            hess[n, n] = np.sum(dx * x)
        grad -= inv_var * theta
        hess[np.arange(p_dim), np.arange(p_dim)] += inv_var
        step = np.linalg.solve(hess, grad)
        # Step halving keeps every iteration an ascent step (the objective is concave).
        t = 1.0
        while True:
            cand = theta + t * step
            fc = objective(cand)
            if fc >= f - 1e-12 * max(1.0, abs(f)) or t < 1e-8:
                break
            t *= 0.5
        theta, f_old, f = cand, f, fc
        if np.max(np.abs(t * step)) < tol or abs(f - f_old) < tol * 1e-3:
            ok = True
            break
    return theta, hess, it, ok


def fit_bradley_terry(
    n_items: int,
    i: Sequence[int] | np.ndarray,
    j: Sequence[int] | np.ndarray,
    outcome: Sequence[float] | np.ndarray,
    *,
    prior: float = 2.0,
    length: Sequence[float] | np.ndarray | None = None,
    weights: Sequence[float] | np.ndarray | None = None,
    beta_prior: float = 100.0,
    start: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-9,
    compute_se: bool = True,
) -> BTFit:
    """Bradley-Terry on one cluster: P(i beats j) = sigmoid(s_i - s_j [+ beta * dloglen]).

    ``outcome[k]`` is comparison k's result for item ``i[k]`` against ``j[k]`` in [0, 1]
    (1 win, 0 loss, 0.5 tie: a tie counts as half a win and half a loss); NaN outcomes
    are dropped; ``weights`` repeat comparisons (the bootstrap's resampling counts).

    ``prior`` is the variance of an independent Gaussian prior N(0, prior) on each
    log-strength (default 2, a standard deviation of 1.4: two items one prior sd
    apart meet at odds of about 4:1, a weak prior next to a few verdicts); it keeps undefeated or winless items and disconnected components
    finite, and shrinks items with few comparisons towards the cluster mean. The fit is
    the posterior mode (penalised maximum likelihood), found by damped Newton.

    With ``length`` (one positive length per item, e.g. tokens), the log-odds gain
    ``beta * (log len_i - log len_j)`` with ``beta`` fitted jointly (nearly flat prior of
    variance ``beta_prior``). Each item has one length, so beta is identified through the
    strength prior: it is the part of the judge's preference that log length explains
    linearly, and the strengths are what remains (length-neutral). Quality that truly
    grows with length is removed with it; that is the price of length-neutral ranks.

    Strengths come back mean-centred (the prior already centres the mode); ``se`` are the
    standard errors of the centred strengths from the inverse negative Hessian.
    """
    if n_items < 1:
        raise ValueError("n_items must be at least 1")
    if prior <= 0 or beta_prior <= 0:
        raise ValueError("prior variances must be positive")
    ii, jj, y, w, x = _prepare(n_items, i, j, outcome, weights, length)
    theta, hess, it, ok = _newton(n_items, ii, jj, y, w, x, prior, beta_prior, start, max_iter, tol)
    s = theta[:n_items] - theta[:n_items].mean()
    se = np.full(n_items, np.nan)
    beta_se = None
    if compute_se:
        cov = np.linalg.inv(hess)
        cs = cov[:n_items, :n_items]
        # Covariance of the centred strengths: C cov C with C = I - 11'/n.
        row = cs.mean(axis=1)
        var_c = np.diag(cs) - 2.0 * row + cs.mean()
        se = np.sqrt(np.maximum(var_c, 0.0))
        if x is not None:
            beta_se = float(np.sqrt(cov[n_items, n_items]))
    beta = float(theta[n_items]) if x is not None else None
    return BTFit(strengths=s, se=se, beta=beta, beta_se=beta_se, n_iter=it, converged=ok)


@dataclass(frozen=True)
class BootstrapResult:
    """Point fit plus bootstrap percentile intervals of strengths, ranks and beta.

    Ranks are 1-based within the cluster (1 = strongest; ties broken by item index).
    ``rank`` is the point fit's rank, ``rank_lower``/``rank_upper`` the interval of the
    ranks over the replicates. ``samples`` holds the replicate strengths (n_boot, n).
    """

    fit: BTFit
    lower: np.ndarray
    upper: np.ndarray
    rank: np.ndarray
    rank_lower: np.ndarray
    rank_upper: np.ndarray
    beta_lower: float | None
    beta_upper: float | None
    samples: np.ndarray

    @property
    def strengths(self) -> np.ndarray:
        return self.fit.strengths


def _ranks(s: np.ndarray) -> np.ndarray:
    """1-based ranks of each row of s (highest first, stable ties by index)."""
    s = np.atleast_2d(s)
    order = np.argsort(-s, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(s.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, s.shape[1] + 1)
    return ranks


def bootstrap_intervals(
    n_items: int,
    i: Sequence[int] | np.ndarray,
    j: Sequence[int] | np.ndarray,
    outcome: Sequence[float] | np.ndarray,
    *,
    prior: float = 2.0,
    length: Sequence[float] | np.ndarray | None = None,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Resample the comparisons with replacement, refit, give percentile intervals.

    Each replicate draws multinomial counts over the (non-NaN) comparisons from
    ``numpy.random.default_rng(seed)`` and refits with them as weights, warm-started
    at the point fit, so that the same seed gives the same output. Intervals are the
    ``(1-level)/2`` and ``(1+level)/2`` percentiles of the replicate strengths; rank
    intervals use the replicate ranks (lower and higher order statistics).
    """
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    ii = np.asarray(i, dtype=np.int64)
    jj = np.asarray(j, dtype=np.int64)
    y = np.asarray(outcome, dtype=np.float64)
    keep = ~np.isnan(y)
    ii, jj, y = ii[keep], jj[keep], y[keep]
    fit = fit_bradley_terry(n_items, ii, jj, y, prior=prior, length=length)
    start = np.append(fit.strengths, fit.beta) if length is not None else fit.strengths
    rng = np.random.default_rng(seed)
    m = y.size
    counts = (
        rng.multinomial(m, np.full(m, 1.0 / m), size=n_boot)
        if m
        else np.zeros((n_boot, 0), dtype=np.int64)
    )
    samples = np.empty((n_boot, n_items))
    betas = np.empty(n_boot)
    for b in range(n_boot):
        rb = fit_bradley_terry(
            n_items,
            ii,
            jj,
            y,
            prior=prior,
            length=length,
            weights=counts[b],
            start=start,
            compute_se=False,
        )
        samples[b] = rb.strengths
        betas[b] = np.nan if rb.beta is None else rb.beta
    lo_q, hi_q = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    lower = np.quantile(samples, lo_q, axis=0)
    upper = np.quantile(samples, hi_q, axis=0)
    ranks = _ranks(samples)
    rank_lower = np.quantile(ranks, lo_q, axis=0, method="lower").astype(np.int64)
    rank_upper = np.quantile(ranks, hi_q, axis=0, method="higher").astype(np.int64)
    beta_lower = beta_upper = None
    if length is not None:
        beta_lower = float(np.quantile(betas, lo_q))
        beta_upper = float(np.quantile(betas, hi_q))
    return BootstrapResult(
        fit=fit,
        lower=lower,
        upper=upper,
        rank=_ranks(fit.strengths)[0],
        rank_lower=rank_lower,
        rank_upper=rank_upper,
        beta_lower=beta_lower,
        beta_upper=beta_upper,
        samples=samples,
    )
