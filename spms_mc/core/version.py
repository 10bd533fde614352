"""The package version (one place: the package, the stores and the reports read it here)."""
VERSION = "0.1.0"
