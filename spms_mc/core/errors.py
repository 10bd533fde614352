"""The error types every layer raises and the face reports (docs/design.md, "Errors").

All of them are deterministic: the same scenario, seed and member raise the same error again, so the
ensemble layer never retries a task that raised one (:data:`DETERMINISTIC_ERRORS`).
"""
from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario key has a value that is not accepted; the message names key and accepted values."""


class LedgerError(RuntimeError):
    """The stock-flow identity failed: money was created or destroyed without being booked."""


class IdentityError(LedgerError):
    """A balance-sheet identity a mechanism declares failed; the message names the identity, the
    tick and both sides."""


class MoneyOverflowError(OverflowError):
    """Money would exceed the int64 range; the run stops instead of wrapping."""


class SimulationStopped(Exception):
    """A process ends the run early for a model reason (e.g. the money stock reached zero); the
    samples taken so far are kept and the reason is recorded."""


DETERMINISTIC_ERRORS = (ScenarioError, LedgerError, MoneyOverflowError)
