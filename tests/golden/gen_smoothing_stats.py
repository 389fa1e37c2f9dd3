"""Reference statistics for randomized smoothing (Cohen et al. 2019), for
crate/tests/smoothing.rs. Run by hand (not in CI):

    pip install scipy
    python3 tests/golden/gen_smoothing_stats.py > tests/golden/smoothing_stats.json

- clopper_pearson: the one-sided (1 - alpha) Clopper-Pearson lower bound on a binomial proportion,
  which is what Cohen's CERTIFY computes with statsmodels' proportion_confint(k, n, alpha=2*alpha,
  method="beta")[0] = beta.ppf(alpha, k, n - k + 1) (0 when k = 0); the upper bound is
  beta.ppf(1 - alpha, k + 1, n - k) (1 when k = n).
- binomial_test: the two-sided p-value of k successes in n trials against p = 0.5, which PREDICT
  compares with alpha (scipy.stats.binomtest, the successor of the binom_test Cohen used).
- normal_quantile: the standard normal quantile, Phi^-1(p), in the radius sigma * Phi^-1(pA).
"""

import json

import scipy
from scipy.stats import beta, binomtest, norm

cases = []
for n in [1, 2, 10, 100, 1000, 10000, 100000]:
    ks = sorted({0, 1, n // 2, (9 * n) // 10, (99 * n) // 100, n - 1, n})
    for k in ks:
        if k < 0 or k > n:
            continue
        for alpha in [0.001, 0.01, 0.05]:
            lower = 0.0 if k == 0 else float(beta.ppf(alpha, k, n - k + 1))
            upper = 1.0 if k == n else float(beta.ppf(1 - alpha, k + 1, n - k))
            cases.append({"k": k, "n": n, "alpha": alpha, "lower": lower, "upper": upper})

tests = []
for n in [1, 5, 20, 100, 1000, 10000]:
    for k in sorted({0, 1, n // 3, n // 2, (n + 1) // 2, (2 * n) // 3, n - 1, n}):
        if 0 <= k <= n:
            tests.append({"k": k, "n": n, "p_value": float(binomtest(k, n, 0.5).pvalue)})

quantiles = [
    {"p": p, "z": float(norm.ppf(p))}
    for p in [0.5, 0.5001, 0.6, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 0.99999, 1e-4, 0.25]
]

print(
    json.dumps(
        {
            "generator": f"scipy {scipy.__version__}",
            "clopper_pearson": cases,
            "binomial_test": tests,
            "normal_quantile": quantiles,
        },
        indent=1,
    )
)
