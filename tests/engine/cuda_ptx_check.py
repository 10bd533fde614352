"""Run by tests/engine/test_cuda.py without the simulator, where libNVVM is installed (no GPU needed):
compiles every CUDA kernel of the project to PTX for an H100 (sm_90) and prints, per kernel, the
number of fused multiply-add instructions on doubles in it, and of double multiplies, adds and
subtracts without an explicit rounding mode (which ptxas may still fuse). Both must be 0: a fused
multiply-add rounds once where the CPU kernels round twice, so it would change the bits of a result.
The multiplies with round-to-nearest (``mul.rn.f64``) are counted to show the kernels do use them."""
import re
import sys

import numpy as np

np.row_stack = np.vstack  # numba-cuda with numpy >= 2.4
from numba import cuda, types  # noqa: E402
from numba.cuda import dispatcher  # noqa: E402
from numba.cuda.dispatcher import CUDADispatcher  # noqa: E402


class _H100:  # device functions compile for the current device's capability: there is none here
    compute_capability = (9, 0)


dispatcher.get_current_device = lambda: _H100()
from spms_mc_kernels import cuda as ck  # noqa: E402  (switches contraction off)
from spms_mc_kernels import cuda_batch as kb  # noqa: E402

i64, u64, f64, b1 = types.int64, types.uint64, types.float64, types.boolean
A = types.Array
a_i, a_f, a_u8, a_u = A(i64, 1, "C"), A(f64, 1, "C"), A(types.uint8, 1, "C"), A(u64, 1, "C")
a_i32 = A(types.int32, 1, "C")
m_i, m_f, m_u8 = A(i64, 2, "C"), A(f64, 2, "C"), A(types.uint8, 2, "C")

SIGNATURES = {
    ck: {
        "settle_period": (a_i, a_i, b1, i64, a_u8, b1, i64, i64, a_i, a_f, a_f, f64, a_i),
        "sum_charge_base": (a_i, a_i, b1, a_i),
        "accumulate_period": (a_i, a_i, b1),
        "accrue_accounts": (a_i, i64, i64, a_i, a_i, a_u8, i64, i64, i64, a_i, a_f, a_f, a_i),
        "random_fraction_debit": (a_i, a_i, a_i, i64, u64, f64, a_i, b1, b1, a_i),
        "random_fraction_credit": (a_i, a_i, a_i, i64, u64),
        "saving_propensity_exchange": (a_i, a_i, i64, u64, u64, f64, i64),
        "yard_sale_exchange": (a_i, a_i, i64, u64, u64, f64, f64, f64, i64),
        "collect_fraction": (a_i, a_i, i64, f64, a_i),
        "credit_each": (a_i, a_i, i64, i64),
        "sum_participants": (a_i, a_i, i64, a_i),
        "inject": (a_i, i64, i64, i64, f64, u64, a_i),
        "lose": (a_i, i64, i64, f64, f64, u64, a_i),
        "sum_and_min": (a_i, a_i),
        "copy": (a_i, a_i),
        "employment_weights": (a_u8, a_i32, a_i, f64, a_f, u64, a_i, a_i),
        "pay_households": (a_i, a_i, a_u8, a_i32, a_i, a_i, f64, a_f, u64, a_i, a_i, f64, f64, f64, f64, f64, i64,
                           a_i),
        "spending_shortfall": (a_i, a_i, i64, i64, a_i),
        "pay_benefits": (a_i, a_u8, a_i32, a_f, f64, u64, i64, a_i),
        "consume": (a_i, a_i, a_i, i64, i64, b1, f64, a_f, a_i, u64, a_i, a_i),
        "service_loans": (a_i, a_i, i64, i64, f64, i64, i64, f64, u64, a_i),
        "debit_or_borrow": (a_i, a_i, a_i, b1, f64, a_i),
        "add_holdings": (a_i, a_i, a_i, f64),
        "add_range": (a_i, i64, a_i),
    },
    kb: {
        "settle_period": (m_i, m_i, b1, i64, m_u8, b1, i64, i64, a_i, a_f, a_f, a_f, m_i),
        "accrue_accounts": (m_i, i64, i64, i64, m_i, m_i, m_u8, i64, i64, i64, a_i, a_f, a_f, m_i),
        "accumulate_period": (m_i, m_i, b1),
        "random_fraction_debit": (m_i, m_i, m_i, i64, a_u, i64, i64, f64, m_i, b1, b1),
        "random_fraction_credit": (m_i, m_i, m_i, i64, a_u, i64, i64),
        "saving_propensity_exchange": (m_i, m_i, i64, a_u, i64, i64, i64, f64, i64),
        "yard_sale_exchange": (m_i, m_i, i64, a_u, i64, i64, i64, f64, f64, a_f, i64),
        "collect_fraction": (m_i, m_i, i64, f64, m_i),
        "credit_each": (m_i, m_i, i64, a_i),
        "sum_participants": (m_i, m_i, i64, m_i),
        "inject": (m_i, i64, i64, i64, f64, a_u, m_i),
        "lose": (m_i, i64, i64, f64, f64, a_u, m_i),
        "row_sum_min": (m_i, a_i, a_i),
        "gather": (m_i, a_i, m_i),
        "pad_rows": (m_i, i64, m_i),
        "bitonic_stage": (m_i, i64, i64),
        "distribution_stats": (m_i, i64, a_f, a_i, i64, m_f, m_f),
        "copy_rows": (m_i, m_i),
    },
}

missing = []
for module, table in SIGNATURES.items():
    kernels = {n for n, v in vars(module).items()
               if isinstance(v, CUDADispatcher) and not v.targetoptions.get("device", False)}
    missing += [f"{module.__name__}.{n}" for n in sorted(kernels - set(table))]
    for name, sig in table.items():
        ptx, _ = cuda.compile_ptx(getattr(module, name).py_func, sig, cc=(9, 0))
        fma = len(re.findall(r"\bfma\.rn\.f64\b", ptx))
        # mul/add/sub without a rounding mode may still be fused by ptxas; with one they never are
        loose = len(re.findall(r"\b(?:mul|add|sub)\.f64\b", ptx))
        mul = len(re.findall(r"\bmul\.rn\.f64\b", ptx))
        print(f"{module.__name__}.{name}: fma {fma} loose {loose} mul {mul}", flush=True)
if missing:
    print("no signature for: " + ", ".join(missing))
    sys.exit(1)
