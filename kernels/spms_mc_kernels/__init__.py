"""Numba kernels of spms_mc: pure functions over arrays and scalars.

This package lives in the repository's ``kernels/`` folder and installs under the unique import
name ``spms_mc_kernels`` (never as a generic top-level ``kernels``; see docs/design.md, "Layout").
It knows nothing of the economic model, xarray or dask: every kernel takes explicit arrays and
scalars, money is ``int64`` in minor units, and every random draw is a pure function of
``(member key, tick, stream, index)`` (:mod:`spms_mc_kernels.rng`).

Modules
-------
rng        counter-based random numbers and keyed permutations (pairings)
sumsy      guaranteed income + demurrage (SuMSy paper, docs/sources.md; docs/model.md section 1)
exchange   kinetic exchange rules (random fraction, saving propensity, yard sale)
events     one-off or periodic injections and losses (SuMSy paper section 6; docs/model.md 1.6)
metrics    O(n log n) distribution statistics on sorted balances
reduce     deterministic integer reductions
bandwidth  the machine-limit loops the benchmarks compare kernels against
"""
