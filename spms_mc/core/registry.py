"""The registry of mechanisms: the one place where the scenario loader, the state, the engine, the
output schema, the batch engine and the backends learn which mechanisms exist (docs/architecture.md).

A mechanism is one module in :mod:`spms_mc.mechanisms` (or in another package) that defines a
subclass of :class:`Mechanism` and registers it::

    @register
    class FlatTransfer(Mechanism):
        name = "flat_transfer"
        order = 60                                   # its place in the tick
        sections = {"transfer": TransferConfig}      # the config it owns: [transfer] in a TOML file
        flows = {"transfer": "created: the per-capita transfer"}
        outputs = {"transfer_paid": Output("currency units", "transfer paid during the interval")}

        @classmethod
        def enabled(cls, sc):
            return sc.transfer.enabled

        def on_period_start(self, tick): ...

Everything a mechanism owns is declared on its class: config sections (keys, defaults, validators,
docs) and cross-checks (:meth:`Mechanism.check_scenario`), the state arrays it allocates and their
bytes per account, institutional accounts, the ledger flows it creates and destroys, its outputs
with units and descriptions, the holdings it adds to household net wealth (:meth:`Mechanism.holdings`),
its balance-sheet identities (:meth:`Mechanism.identities`), keys that cannot be swept, its kernel
bindings (a dict of CPU kernels and a class of CUDA wrappers, which the backends are built from), and
whether the batched GPU engine runs it. It calls its kernels through the backend object it is given.

Built-in mechanisms are registered when :mod:`spms_mc.mechanisms` is imported (the package
``__init__`` does so); other packages can add theirs under the entry-point group
``spms_mc.mechanisms`` (each entry point names a :class:`Mechanism` subclass), loaded on first use.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np

from .errors import ScenarioError

ENTRY_POINT_GROUP = "spms_mc.mechanisms"


@dataclass(frozen=True)
class Output:
    """An output variable a mechanism reports each sample: its units and what it is. Values in
    ``currency units`` are booked in minor units and scaled; any other unit is stored as float."""

    units: str
    description: str


@dataclass(frozen=True)
class Identity:
    """A balance-sheet identity checked while running: ``left() == right()`` exactly (Python ints).

    ``name`` says what is identical (e.g. "bank: loans - net deposits created = capital - initial
    capital"); ``left_name`` and ``right_name`` name the two sides in an error message.
    """

    name: str
    left_name: str
    left: Callable[[], int]
    right_name: str
    right: Callable[[], int]


class Mechanism:
    """Base class of a registered mechanism: declarations on the class, a process on the instance.

    The engine builds one instance per member for every registered mechanism that is
    :meth:`enabled` for the scenario, in increasing :attr:`order`, and calls, every tick ``t``:
    ``on_period_start(t)`` when ``t % run.period == 0`` (all mechanisms, in order), then
    ``on_tick(t)`` (all mechanisms, in order). After every mechanism is built, :meth:`bind` gives
    each the others by name (a mechanism that works with another finds it there).
    """

    # -- declarations ------------------------------------------------------------------------
    name: ClassVar[str] = "mechanism"
    order: ClassVar[int] = 100
    sections: ClassVar[dict[str, type]] = {}  # config section name -> frozen dataclass of keys
    table_arrays: ClassVar[dict[str, type]] = {}  # arrays of tables ([[events]]) -> dataclass of a row
    unsweepable: ClassVar[tuple[str, ...]] = ()  # keys that change the output's shape
    flows: ClassVar[dict[str, str]] = {}  # every ledger flow it may book -> description
    outputs: ClassVar[dict[str, Output]] = {}  # every output it may report
    arrays: ClassVar[dict[str, str]] = {}  # per-account state arrays it may allocate -> description
    institutions: ClassVar[tuple[str, ...]] = ()  # institutional accounts (scalars, part of the money stock)
    cpu_kernels: ClassVar[dict] = {}  # backend method name -> numba CPU kernel (bound by CPUBackend)
    cuda_methods: ClassVar[type | None] = None  # a class of CUDA wrappers of the same names (CUDABackend mixin)
    # a class of batched hooks for many members on one GPU (spms_mc.engine.batch): built as
    # ``batch_methods(engine, mechanism)``, with ``on_period_start``, ``on_tick``, ``book`` (before
    # checks and samples) and ``sample`` (per-member outputs) where it has them; None: not batched
    batch_methods: ClassVar[type | None] = None
    exclusive: ClassVar[bool] = False  # when enabled, the only mechanism of the regime
    # with True, the engine gives the instance ``measure_net_wealth(out)``: each household's net
    # wealth (money + every mechanism's holdings) into the int64 host array ``out``
    uses_net_wealth: ClassVar[bool] = False
    # per-member outputs: the first sampled tick at which a sampled output reaches a threshold key,
    # {output name: (sampled output, "section.key")}; each is also declared in ``outputs``
    crossings: ClassVar[dict[str, tuple[str, str]]] = {}

    @classmethod
    def enabled(cls, sc) -> bool:
        """Whether the scenario uses this mechanism (the engine builds it only then): by default the
        ``enabled`` key of its first config section (False without one)."""
        for section in cls.sections:
            return bool(getattr(getattr(sc, section), "enabled", False))
        return False

    @classmethod
    def switches(cls, sc) -> list[str]:
        """The keys that enable this mechanism in ``sc`` (named when it cannot run somewhere, such
        as in a batch of members on the GPU): by default each of its sections' ``enabled`` keys that
        is true."""
        return [f"{sec}.enabled" for sec in cls.sections if getattr(getattr(sc, sec), "enabled", False)]

    @classmethod
    def check_scenario(cls, sc) -> None:
        """Cross-checks involving this mechanism's keys; raise :class:`ScenarioError` naming them.
        Called for every scenario, whether the mechanism is enabled or not."""

    @classmethod
    def bytes_per_account(cls, sc) -> float:
        """State bytes per account this mechanism allocates for ``sc`` (for the memory check)."""
        return 0.0

    @classmethod
    def allocate(cls, sc, state, key) -> None:
        """Allocate and initialise this mechanism's state arrays (``state.add_array``) for the member
        keyed by ``key``; called for enabled mechanisms, in tick order."""

    @classmethod
    def shrink(cls, sc, small_population) -> dict:
        """Section replacements that keep ``sc``'s options valid for a tiny copy (the warm-up's):
        a {section or table-array name: new value} dict; ``small_population`` is the copy's."""
        return {}

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        """Why the money stock of ``sc`` does not follow SuMSy's closed form |eligible| x GI / d
        because of this mechanism (empty: this mechanism does not prevent it)."""
        return []

    # -- the process -------------------------------------------------------------------------
    def __init__(self, sc, state, ledger, backend, key):
        self.sc, self.state, self.ledger, self.backend, self.key = sc, state, ledger, backend, key

    def flows_booked(self) -> tuple[str, ...]:
        """The flows this instance books, in ledger order (default: every declared flow)."""
        return tuple(self.flows)

    def output_units(self) -> dict[str, str]:
        """Units of this instance's outputs (what :meth:`sample` returns)."""
        return {k: v.units for k, v in self.outputs.items()}

    def bind(self, others: dict[str, "Mechanism"]) -> None:
        """Called once every mechanism of the member is built: ``others`` by name, in order."""

    def on_period_start(self, tick: int) -> None:
        pass

    def on_tick(self, tick: int) -> None:
        pass

    def sample(self) -> dict[str, float]:
        """Output values at a sample: name -> value (money in minor units; flows since the last)."""
        return {}

    def end_burn_in(self) -> None:
        """Called once after the ``run.burn_in`` ticks, before the first sample (only when there is a
        burn-in): the reported run starts here."""

    def sample_by_wealth(self, net_wealth: np.ndarray, cutoffs: tuple[int, int, int]) -> dict[str, float] | None:
        """Outputs that need each household's net wealth (``net_wealth``, minor units, households in
        order) and the cutoffs of the wealth groups (the net wealth at ranks floor(0.5 H), floor(0.9
        H) and floor(0.99 H), poorest first); None when the mechanism has none."""
        return None

    def holdings(self, out: np.ndarray) -> bool:
        """Add this mechanism's holdings to each household's net wealth in ``out`` (minor units; an
        asset adds, a liability subtracts) and return True; False when it has none."""
        return False

    def identities(self) -> list[Identity]:
        """The balance-sheet identities this mechanism keeps, checked at the ledger's cadence."""
        return []


# ---------------------------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------------------------
_REGISTERED: dict[str, type[Mechanism]] = {}
_entry_points_loaded = False


def register(cls: type[Mechanism]) -> type[Mechanism]:
    """Register a mechanism class (usable as a class decorator). Its name, sections, flows,
    outputs, arrays and institutions must not clash with those of a registered mechanism."""
    if not (isinstance(cls, type) and issubclass(cls, Mechanism)):
        raise TypeError(f"register() takes a Mechanism subclass, got {cls!r}")
    if cls.name in _REGISTERED and _REGISTERED[cls.name] is not cls:
        raise ValueError(f"a mechanism named {cls.name!r} is already registered "
                         f"({_REGISTERED[cls.name].__module__})")
    own_sections = set(cls.sections) | set(cls.table_arrays)
    reserved = own_sections & (set(CORE_SECTIONS) | {"name", "description", "extends", "sweep"})
    if reserved:
        raise ValueError(f"mechanism {cls.name!r}: section names {sorted(reserved)} are reserved")
    for other in _REGISTERED.values():
        if other is cls:
            continue
        clashes = {
            "sections": own_sections & (set(other.sections) | set(other.table_arrays)),
            "arrays": set(cls.arrays) & set(other.arrays),
            "institutions": set(cls.institutions) & set(other.institutions),
            "cpu_kernels": set(cls.cpu_kernels) & set(other.cpu_kernels),
            # a flow or an output may be shared (bank credit in several regimes) if it means the same
            "flows": {k for k in set(cls.flows) & set(other.flows) if cls.flows[k] != other.flows[k]},
            "outputs": {k for k in set(cls.outputs) & set(other.outputs) if cls.outputs[k] != other.outputs[k]},
        }
        for what, names in clashes.items():
            if names:
                raise ValueError(f"mechanism {cls.name!r} declares {what} {sorted(names)} that {other.name!r} "
                                 f"already declares{' differently' if what in ('flows', 'outputs') else ''}")
    _REGISTERED[cls.name] = cls
    _clear_caches()
    return cls


def unregister(name: str) -> None:
    """Remove a registered mechanism (tests that register a toy mechanism clean up with it)."""
    _REGISTERED.pop(name, None)
    _clear_caches()


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if cls.name not in _REGISTERED:
            register(cls)


_cache: dict[str, object] = {}


def _clear_caches() -> None:
    _cache.clear()


def mechanisms() -> list[type[Mechanism]]:
    """Every registered mechanism, in registration order (the order of config sections)."""
    _load_entry_points()
    return list(_REGISTERED.values())


def by_order() -> list[type[Mechanism]]:
    """Every registered mechanism in its order within a tick (ties: registration order)."""
    if "order" not in _cache:
        ms = mechanisms()
        _cache["order"] = sorted(ms, key=lambda m: (m.order, ms.index(m)))
    return list(_cache["order"])



# The sections the core owns: the run and the population. Defined in spms_mc.core.config.
CORE_SECTIONS = ("run", "population")


def mechanism_sections() -> dict[str, type]:
    """Config sections of every registered mechanism, in registration order."""
    if "sections" not in _cache:
        _cache["sections"] = {k: v for m in mechanisms() for k, v in m.sections.items()}
    return dict(_cache["sections"])


def table_arrays() -> dict[str, type]:
    if "tables" not in _cache:
        _cache["tables"] = {k: v for m in mechanisms() for k, v in m.table_arrays.items()}
    return dict(_cache["tables"])



def unsweepable() -> tuple[str, ...]:
    return tuple(k for m in mechanisms() for k in m.unsweepable)


def output_docs() -> dict[str, Output]:
    """Units and description of every output a registered mechanism may report."""
    return {k: v for m in mechanisms() for k, v in m.outputs.items()}



def declared_arrays() -> dict[str, str]:
    """Every per-account array a registered mechanism may allocate (cached: the state reads it
    whenever a mechanism asks for an array it did not allocate)."""
    if "arrays" not in _cache:
        _cache["arrays"] = {k: v for m in mechanisms() for k, v in m.arrays.items()}
    return _cache["arrays"]


def institutions() -> tuple[str, ...]:
    """Institutional accounts: the rounding sink, then each mechanism's, in registration order."""
    return ("sink",) + tuple(i for m in mechanisms() for i in m.institutions)


def enabled(sc) -> list[type[Mechanism]]:
    """The mechanisms of a scenario's regime, in tick order (an exclusive one alone)."""
    on = [m for m in by_order() if m.enabled(sc)]
    exclusive = [m for m in on if m.exclusive]
    if len(exclusive) > 1:
        raise ScenarioError(f"{', '.join(m.name for m in exclusive)} each run alone; enable one of them")
    return exclusive or on


def build_mechanisms(sc, state, backend, key) -> list[Mechanism]:
    """One member's mechanisms for ``sc``, in tick order, bound to each other; each gets its ledger
    afterwards (``m.ledger = ...``), once the ledger knows every flow (:func:`flow_names`)."""
    built = [m(sc, state, None, backend, key) for m in enabled(sc)]
    by_name = {m.name: m for m in built}
    for m in built:
        m.bind(by_name)
    return built


def flow_names(built) -> list[str]:
    """The ledger flows of built mechanisms, in order, each once."""
    flows: list[str] = []
    for m in built:
        flows += [f for f in m.flows_booked() if f not in flows]
    return flows
