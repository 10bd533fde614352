"""SHA-256 of every preset's output through ``spms_mc.simulate``: the proof that a refactor changed
no bit of any result.

Each preset runs as shipped (seed 0, member 0, its own size), with the ledger checked every tick.
The digest covers every data variable and coordinate - name, dtype, dims, shape and raw bytes, in
sorted name order - and the attributes that describe the run (name, seed, stop reason, minor units,
period, process order, closed form). Version strings are left out so that the digest survives an
upgrade of numpy or numba, and so is the resolved scenario TOML: it lists every registered
mechanism's section with its defaults, so registering a new mechanism changes its text but no
result.

    python benchmarks/preset_hashes.py                     # prints a Markdown table
    python benchmarks/preset_hashes.py --json hashes.json  # and writes {preset: sha256}
    python benchmarks/preset_hashes.py --check hashes.json # exit 1 if any preset differs
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

MODEL_ATTRS = ("scenario_name", "root_seed", "stop_reason", "minor_units", "period",
               "process_order", "money_stock_closed_form")


def dataset_digest(ds) -> str:
    h = hashlib.sha256()
    for name in sorted(list(ds.data_vars) + list(ds.coords)):
        v = ds[name]
        values = np.asarray(v.values)
        h.update(f"{name}|{values.dtype}|{v.dims}|{values.shape}|".encode())
        if values.dtype == object:
            h.update(json.dumps([str(x) for x in values.ravel()]).encode())
        else:
            h.update(np.ascontiguousarray(values).tobytes())
    for key in MODEL_ATTRS:
        h.update(f"{key}={ds.attrs.get(key)!r}|".encode())
    return h.hexdigest()


def preset_digests(presets=None, seed: int = 0) -> dict[str, tuple[str, float]]:
    import spms_mc

    os.environ.setdefault("SPMS_MC_CHECK_LEDGER", "tick")
    out = {}
    for name in presets or spms_mc.preset_names():
        t0 = time.perf_counter()
        ds = spms_mc.simulate(name, seed=seed)
        out[name] = (dataset_digest(ds), time.perf_counter() - t0)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("presets", nargs="*", help="presets to hash (default: all)")
    ap.add_argument("--json", help="write {preset: sha256} to this file")
    ap.add_argument("--check", help="compare with a file written by --json; exit 1 on any difference")
    args = ap.parse_args(argv)
    digests = preset_digests(args.presets)
    print("| preset | SHA-256 of the output | seconds |\n|---|---|---|")
    for name, (digest, secs) in digests.items():
        print(f"| `{name}` | `{digest}` | {secs:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: d for k, (d, _) in digests.items()}, f, indent=1, sort_keys=True)
    if args.check:
        with open(args.check) as f:
            want = json.load(f)
        bad = [k for k, (d, _) in digests.items() if want.get(k) != d]
        missing = sorted(set(want) - set(digests)) if not args.presets else []
        for k in bad:
            print(f"DIFFERENT: {k}", file=sys.stderr)
        for k in missing:
            print(f"MISSING: {k}", file=sys.stderr)
        return 1 if bad or missing else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
