"""Fits the two polynomials of Strata's Float32 erf (`erf4` in Sources/Strata/Kernels/VectorMath.swift)
and checks the result with Float32 arithmetic. Needs numpy, scipy and mpmath.

    python3 Scripts/fit_erf.py

- |x| < 0.9:  erf(x) = x + x·p(x²), p of degree 6 fitted to erf(x)/x − 1, minimising the relative error of erf.
- |x| ≥ 0.9:  erf(|x|) = 1 − exp(q(|x| − 1)), q of degree 8 fitted to log erfc on [0.9, 4], weighted by
  erfc/erf so that the relative error of erf is minimised; |x| is clamped at 4.

Each fit is a discrete minimax (a linear programme over a dense grid) around a least-squares start, in
Double; the coefficients are then rounded to Float32. The check evaluates exactly the Swift operation
order in Float32 (without fused multiply-add) and prints the largest relative error against Double erf.
"""
import numpy as np
import mpmath as mp
import scipy.special as sp
from scipy.optimize import linprog

mp.mp.dps = 40
f32 = np.float32
SPLIT, CLAMP, SHIFT = 0.9, 4.0, 1.0


def minimax(x, f, weight, degree, lo, hi):
    """Monomial coefficients of the polynomial of `degree` minimising max |weight·(poly(x) − f)| on the grid."""
    u = (x - lo) / (hi - lo) * 2 - 1
    v = np.polynomial.chebyshev.chebvander(u, degree)
    start = np.linalg.lstsq(weight[:, None] * v, weight * f, rcond=None)[0]
    residual = f - v @ start
    scale = 1 / np.max(np.abs(weight * residual))     # the solver's tolerances need errors of order 1
    r = residual * scale
    n = degree + 1
    a = np.vstack([np.hstack([weight[:, None] * v, -np.ones((len(x), 1))]),
                   np.hstack([-weight[:, None] * v, -np.ones((len(x), 1))])])
    b = np.concatenate([weight * r, -weight * r])
    cost = np.zeros(n + 1)
    cost[-1] = 1
    result = linprog(cost, A_ub=a, b_ub=b, bounds=[(None, None)] * (n + 1), method="highs")
    assert result.status == 0, result.message
    cheb = start + result.x[:n] / scale
    poly = np.polynomial.Chebyshev(cheb, domain=[lo, hi]).convert(kind=np.polynomial.Polynomial)
    return poly.coef, result.x[-1] / scale


def fit():
    s = np.linspace(0, SPLIT * SPLIT, 4000)
    root = [mp.sqrt(mp.mpf(v)) for v in s]
    f1 = np.array([float(mp.erf(r) / r - 1) if r > 0 else float(2 / mp.sqrt(mp.pi) - 1) for r in root])
    w1 = np.array([float(r / mp.erf(r)) if r > 0 else float(mp.sqrt(mp.pi) / 2) for r in root])
    p, e1 = minimax(s, f1, w1, 6, 0, SPLIT * SPLIT)
    t = np.linspace(SPLIT, CLAMP, 6000)
    f2 = np.array([float(mp.log(mp.erfc(v))) for v in t])
    w2 = np.array([float(mp.erfc(v) / mp.erf(v)) for v in t])
    q, e2 = minimax(t - SHIFT, f2, w2, 8, SPLIT - SHIFT, CLAMP - SHIFT)
    print(f"fit error (relative, in erf): |x| < {SPLIT}: {e1:.2e}; |x| >= {SPLIT}: {e2:.2e}")
    return [f32(c) for c in p], [f32(c) for c in q]


def horner(coefficients, x):
    r = np.full_like(x, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        r = (r * x).astype(f32) + c
    return r


def erf32(x, p, q):
    """erf4's operations in Float32; exp is correctly rounded here (Cephes' expf adds ≈ 1 ulp of erfc)."""
    a = np.abs(x)
    small = x + (x * horner(p, (x * x).astype(f32))).astype(f32)
    large = f32(1) - np.exp(horner(q, np.minimum(a, f32(CLAMP)) - f32(SHIFT)).astype(np.float64)).astype(f32)
    return np.where(a < f32(SPLIT), small, np.copysign(large, x))


def main():
    p, q = fit()
    x = np.concatenate([np.linspace(0, 5, 2_000_001).astype(f32), np.logspace(-30, 0, 200_000).astype(f32)])
    exact = sp.erf(x.astype(np.float64))
    error = np.abs(erf32(x, p, q).astype(np.float64) - exact) / np.maximum(exact, 1e-300)
    print(f"max relative error in Float32: {error.max():.3e} at x = {x[np.argmax(error)]}")
    print("p (x² powers 0…6):", ", ".join(f"{c:.9e}" for c in p))
    print("q ((|x| − 1) powers 0…8):", ", ".join(f"{c:.9e}" for c in q))


if __name__ == "__main__":
    main()
