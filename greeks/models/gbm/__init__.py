"""Geometric Brownian motion: exact simulation on a time grid and its score weights.

Under the risk-neutral measure dS = (r − q) S dt + σ S dW, so on any grid
0 = t_0 < t_1 < ... < t_m

    log S(t_k) = log S0 + (r − q − σ²/2) t_k + σ W(t_k),
    W(t_k) = W(t_{k−1}) + sqrt(t_k − t_{k−1}) · Z_k,   Z_k iid N(0, 1),

which is exact: there is no discretisation error at any step size.

Modules: ``schema`` (input columns; no numba), ``paths`` (exact simulation), ``scores`` (the
score weights), ``analytic`` (Black–Scholes), ``american`` (finite-difference reference for
American and Bermudan options), ``adapter`` (what the engine sees).
"""
