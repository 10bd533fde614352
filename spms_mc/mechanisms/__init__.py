"""The mechanisms: one module per economic mechanism, each registered here (docs/architecture.md).

A mechanism module defines a :class:`~spms_mc.core.registry.Mechanism` subclass that owns its config
sections, state arrays, flows, outputs, holdings and identities. Adding one is that module (with its
kernels, tests and presets) plus one line in :data:`BUILTIN`; a package outside this one registers
its mechanisms under the entry-point group ``spms_mc.mechanisms`` instead.

The order of :data:`BUILTIN` is the order of the config sections in a resolved scenario; the order
within a tick is each mechanism's ``order``.
"""
from ..core.registry import register
from .credit import SumsyReplay
from .economy import ProductionEconomy
from .esop import WorkerOwnership
from .events import Events
from .anchor import NominalAnchor
from .bonds import InfrastructureBonds
from .cete import ConsumerTokens
from .countercyclical import Countercyclical
from .fund import WealthFund
from .exchange import Exchange
from .pk import PKEndogenousMoney
from .rail import PublicRail
from .reform import ReformTiming
from .riskshare import RiskSharing
from .sim import GodleyLavoieSim
from .sumsy import SumsyMoney
from .wealth import WealthDynamics

BUILTIN = (SumsyMoney, Exchange, PKEndogenousMoney, ProductionEconomy, WealthDynamics, WealthFund, PublicRail,
           Countercyclical, NominalAnchor, RiskSharing, SumsyReplay, Events, GodleyLavoieSim, ReformTiming,
           InfrastructureBonds, WorkerOwnership, ConsumerTokens)

for _mechanism in BUILTIN:
    register(_mechanism)
