"""Every independent random stream, declared once with its purpose.

Chunk ``c`` of a simulation group draws from

    PCG64(SeedSequence(seed, spawn_key=(h_0, h_1, h_2, h_3, c)))

with h the BLAKE2b hash of the group's defining values (:mod:`greeks.engine.plan`).  Runs
that must be independent of the main run on the same group use chunk numbers from an
offset of their own: run X's chunk c draws from stream ``X + c``.  Offsets are far enough
apart that no run reaches the next (a run has fewer than 2³¹ chunks), and they add: the
decision run of ``--method auto`` starts at ``DECISION`` and its own control pilot at
``PILOT + DECISION``; the sizing run of ``--target-se`` starts at ``SIZING``.
"""

MAIN = 0                       # the estimates: chunk c of the main run
PILOT = 1 << 31                # control-variate coefficients, estimated before the main run
DECISION = 1 << 36             # ``auto``: the run that picks each row's and Greek's family
SIZING = 1 << 40               # ``--target-se``: the run that sizes the path counts
LADDER_PILOT = 1 << 44         # ladder: effective sample sizes of Heston spot scenarios
PARAMETERS = 1 << 48           # Heston model-parameter sensitivities and bumped Greeks
PARAMETERS_PILOT = PARAMETERS + (1 << 40)  # their baselines and estimator choice
RQMC = 1 << 52                 # randomised QMC: the scramble of replicate r is RQMC + r
POLICY = 1 << 54               # american, bermudan: the exercise pilot (the controls' coefficients)
DUALITY = 1 << 56              # ``--upper-bound``: the paths of the dual (upper-bound) estimator
