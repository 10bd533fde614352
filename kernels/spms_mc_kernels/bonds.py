"""AI infrastructure bonds on arrays (docs/model.md section 6; the predistribution essay's "war bond"
model).

``face[i]`` is household i's face value of one vintage, in minor units. Households buy with the
equity purchase kernel's rule (:func:`spms_mc_kernels.riskshare.subscribe_pool`: ``u = floor(a /
price)`` units of face for ``ceil(u price)``, price 1 for a coupon bond at par, below 1 for a
zero-coupon bond at a discount). Debt service at a period start, for each holder:

* coupon ``c_i = floor(face_i x rate per period)`` (0 for a zero-coupon bond);
* principal ``p_i = face_i`` when the vintage is due (at maturity, and every period after it while
  anything of it is unpaid), else 0;
* the authority pays ``d_i = c_i + p_i`` in full when ``grant >= 1``; otherwise ``floor(d_i x
  grant)`` and the unpaid rest is added to the face value (deferred: it earns the coupon and is due
  again), so ``face_i <- face_i - p_i + (d_i - paid_i)``.
"""
import math

import numpy as np
from numba import prange

from ._jit import kernel


@kernel
def bond_due(face, rate, redeem):
    """(coupon, principal) due on face value ``face``."""
    coupon = np.int64(math.floor(face * rate)) if rate > 0.0 else np.int64(0)
    principal = face if redeem else np.int64(0)
    return coupon, principal


@kernel(parallel=True)
def bond_service_due(face, rate, redeem):
    """Total (coupons, principal) due on one vintage."""
    coupons = np.int64(0)
    principal = np.int64(0)
    for i in prange(face.shape[0]):
        f = face[i]
        if f > 0:
            c, p = bond_due(f, rate, redeem)
            coupons += c
            principal += p
    return coupons, principal


@kernel(parallel=True)
def pay_bond_service(balance, face, rate, redeem, grant):
    """Pay every holder's coupon and (when ``redeem``) principal of one vintage, all of it when
    ``grant >= 1``, else ``floor(due x grant)`` with the unpaid rest added to the face value.
    Returns (paid, principal retired, deferred)."""
    paid = np.int64(0)
    retired = np.int64(0)
    deferred = np.int64(0)
    for i in prange(face.shape[0]):
        f = face[i]
        if f > 0:
            c, p = bond_due(f, rate, redeem)
            d = c + p
            pay = d if grant >= 1.0 else np.int64(math.floor(d * grant))
            balance[i] += pay
            face[i] = f - p + (d - pay)
            paid += pay
            retired += p
            deferred += d - pay
    return paid, retired, deferred
