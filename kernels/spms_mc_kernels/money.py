"""The rounding rule shared by every kernel that takes a share of a balance."""
import math

import numpy as np

from ._jit import kernel


@kernel
def floor_share(rate, balance):
    """``rate * balance`` rounded down to a whole minor unit, never more than the balance."""
    return min(np.int64(math.floor(rate * balance)), balance)
