#!/usr/bin/env python3
"""How fast could any valid sequential test be? An oracle lower reference for the detection benchmark.

Run: python3 bench/sim/oracle_sprt.py  (numpy and scipy; seeded, about 10 s)

An SPRT that knows everything but the canary's data (the exact baseline rate or quantile, and the exact
alternative) attains Wald's lower bound on the expected time of any level-alpha sequential test, about
log(1/alpha) / KL(alternative, null) samples (Wald, Sequential Analysis, 1947, section 4.2). It sees
the canary at 50 rps in 5 s ticks, as bench/detection.ts does, and must reach log(1/alpha) where alpha is what
one metric gets in a four-metric analysis at alpha 0.01 (srmAlpha 0.001 off, then a quarter: 0.00225), or all of
the metrics' alpha (0.009). canary-judge knows neither the baseline nor the alternative, and pays for both.

Wald's bound is about expected time. The bound on a median is sharper and needs no sequential argument: a test,
sequential or not, that fails a canary by time T with probability P under the alternative and with probability
<= alpha at the null defines a fixed-sample level-alpha test at T (reject if it stopped by T) with power P, so P
is at most the power of the Neyman-Pearson test at T (Lehmann & Romano, Testing Statistical Hypotheses, 2005,
Theorem 3.2.1), here the randomized one-sided binomial test with the baseline rate known. A median <= T needs
P >= 1/2.
"""
import numpy as np
from scipy.stats import binom, norm

rng = np.random.default_rng(1)
RATE, TICK, T = 50, 5, 1800


def crossing(p_true, p_null, threshold, runs=20000):
    """Median time and P(decided by 60, 100 s) of the Bernoulli SPRT of p_null against p_true."""
    a, b = np.log(p_true / p_null), np.log((1 - p_true) / (1 - p_null))
    n, steps = RATE * TICK, T // TICK
    hits = rng.binomial(n, p_true, size=(runs, steps))
    llr = np.cumsum(hits * a + (n - hits) * b, axis=1)
    crossed = llr >= threshold
    t = np.where(crossed.any(1), crossed.argmax(1) + 1, 10**9) * TICK
    return np.median(t), np.mean(t <= 60), np.mean(t <= 100)


def neyman_pearson_power(n, p_null, p_alt, alpha):
    """Power of the most powerful level-alpha test of Binomial(n, p_null) against Binomial(n, p_alt > p_null)."""
    c = int(binom.isf(alpha, n, p_null))  # P0(X > c) <= alpha
    while binom.sf(c - 1, n, p_null) <= alpha:
        c -= 1
    while binom.sf(c, n, p_null) > alpha:
        c += 1
    # Reject X > c, and X = c with the probability that spends the rest of alpha.
    gamma = (alpha - binom.sf(c, n, p_null)) / binom.pmf(c, n, p_null)
    return binom.sf(c, n, p_alt) + gamma * binom.pmf(c, n, p_alt)


def main():
    levels = {"one of four metrics (0.00225)": 0.009 / 4, "all metric alpha (0.009)": 0.009}
    # Error rate 1% -> 2% at tolerance 0.005: the null closest to the truth is a canary at 1.5%.
    for name, alpha in levels.items():
        m, _, p100 = crossing(0.02, 0.015, np.log(1 / alpha))
        print(f"error rate 1% -> 2%, tolerance 0.005, {name}: median {m:.0f} s, P(by 100 s) = {p100:.2f}")
    # Any valid test, sequential or not: at most the Neyman-Pearson power at 100 s (5,000 canary requests).
    for name, alpha in levels.items():
        power = neyman_pearson_power(RATE * 100, 0.015, 0.02, alpha)
        print(f"error rate 1% -> 2%, tolerance 0.005, {name}: any valid test, P(by 100 s) <= {power:.3f}")
    # p95 +20% (sigma raised, median same) at tolerance 0.1: the canary's share of values below 1.1 x the
    # baseline's p95 (known to the oracle) against the null's 0.95.
    sigma = 0.5 + np.log(1.2) / norm.ppf(0.95)
    for q in (0.95, 0.99):
        below = norm.cdf((np.log(1.1) + 0.5 * norm.ppf(q)) / sigma)
        for name, alpha in levels.items():
            m, p60, _ = crossing(1 - below, 1 - q, np.log(1 / alpha))
            print(f"tail p{q * 100:.0f} (+20%), tolerance 0.1, {name}: median {m:.0f} s, P(by 60 s) = {p60:.2f}")


if __name__ == "__main__":
    main()
