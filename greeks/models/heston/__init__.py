"""Heston model: three discretisation schemes and the exact score weights of each chain.

Risk-neutral dynamics, x = log S:

    dS/S = (r − q) dt + sqrt(v) dW_1,   dv = κ(θ − v) dt + ξ sqrt(v) dW_2,   d⟨W_1, W_2⟩ = ρ dt.

Every scheme simulates a Markov chain (v_k, x_k) on the grid 0 = t_0 < t_1 < ... < t_m,
Δ_k = t_k − t_{k−1}.  The variance moves by the scheme's transition law p(v_k | v_{k−1});
given the variance path the log-price increments are independent Gaussians,

    x_k = x_{k−1} + μ_k + sqrt(V_k) Z_k,   V_k = (1 − ρ²) I_k,
    μ_k = (r − q)Δ_k − ½ I_k + (ρ/ξ)(v_k − v_{k−1} − κθΔ_k + κ I_k),

with I_k ≈ ∫ v dt over the step.  Schemes:

* ``exact``: v_k = c_k χ'²_d(λ_k), c_k = ξ²(1 − e^{−κΔ_k})/(4κ), d = 4κθ/ξ²,
  λ_k = v_{k−1} e^{−κΔ_k}/c_k (the CIR transition law, exact at any step);
  I_k = τ(v_{k−1} + v_k) + θJ, the mean-reverting bridge's integral
  (:func:`integration_weights`; the trapezoid rule with its curvature), and the martingale
  correction below with the law's own M(A) = exp(A v_{k−1} e^{−κΔ}/(1 − 2Ac))·(1 − 2Ac)^{−d/2},
  linear in v_{k−1} after the log.  Each transition reads a fixed block of draws of its own
  and is smooth in the parameters (:func:`greeks.maths.tabulated_noncentral_chi_square_variate`),
  so bumped chains keep their common random numbers.
* ``qe``: Andersen's (2008) quadratic-exponential law for v_k, matched to the exact
  conditional mean m and variance s² (ψ = s²/m²): v_k = a(b + Z_v)² when ψ ≤ 1.5,
  otherwise 0 with probability p = (ψ − 1)/(ψ + 1) and an exponential of rate
  β = (1 − p)/m beyond.  The same I_k, and Andersen's martingale correction: with
  K_2 = τ(κρ/ξ − ½) + ρ/ξ, K_3 = (1 − ρ²)τ, K_5 = (1 − ρ²)θJ and A = K_2 + K_3/2, the
  drift is μ_k = (r − q)Δ − log M(A) − ½K_3 v_{k−1} − ½K_5 + K_2 v_k, M(A) = E[e^{A v_k} | v_{k−1}]
  of the QE law, so that E[S_k | S_{k−1}, v_{k−1}] = S_{k−1} e^{(r−q)Δ} exactly (the plain
  drift where M(A) is infinite).  Both regimes read one normal Z_v per step
  (the exponential regime through U = Φ(Z_v)), so that streams stay aligned when
  parameters move (common random numbers).  From v_0 = 0 the first transition is drawn
  from the exact law instead, c·χ²_d by inversion of Φ(Z_v) (:func:`gamma_quantile`), so
  that the log-price always has a density and the streams stay aligned.
* ``euler``: full truncation, v_k = v_{k−1} + κ(θ − v⁺)Δ + ξ sqrt(v⁺Δ) Z_v,
  v⁺ = max(v_{k−1}, 0), and I_k = v⁺Δ (the baseline).

Modules: ``schema`` (input columns, scheme names; no numba), ``constants`` (per-step
constants of the schemes), ``chain`` (per-step helpers shared by the schemes), ``qe``,
``exact``, ``euler`` (the schemes' kernels), ``first_step`` (a long first step sampled given
its end points), ``paths`` (the block driver), ``scores`` (the score weights), ``analytic``
(the characteristic function and the semi-analytic prices), ``american`` (finite-difference
reference for the American put), ``adapter`` (what the engine sees).
"""
