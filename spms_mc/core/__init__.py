"""The core the mechanisms build on: scenarios and their validation, the state, the exact ledger,
the backends (where kernels run), the registry of mechanisms and the error types."""
