"""Every third-party package the code imports is declared in pyproject.toml.

Every module of spms_mc and spms_mc_kernels is parsed (nothing imported); each import, at any depth
(function-level imports of optional packages included), is mapped to the distribution that provides
it, and that distribution must be in ``[project] dependencies`` or in an extra other than ``test``
(the extra a user installs for the feature, e.g. ``report`` for matplotlib): a package that arrives
only as someone else's dependency can disappear with the next release of that someone.
"""
import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# modules packages_distributions() maps to the wrong distribution: numba.cuda is numba-cuda's
# (the `cuda` extra), though it lives inside numba's namespace
EXPLICIT = {"numba.cuda": "numba-cuda"}
TOOLING_EXTRAS = {"test"}  # installs the test tools; it declares nothing the package itself needs


def normalise(name: str) -> str:
    """PEP 503: case and runs of -, _, . do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(req: str) -> str:
    return normalise(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req).group(1))


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def declared(project: dict) -> set[str]:
    reqs = list(project.get("dependencies", []))
    for extra, items in project.get("optional-dependencies", {}).items():
        if extra not in TOOLING_EXTRAS:
            reqs += items
    return {requirement_name(r) for r in reqs}


def source_roots(config: dict) -> dict[str, Path]:
    """The project's own top-level packages and their folders (``[tool.setuptools] package-dir``)."""
    dirs = config["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in dirs.items() if "." not in name}


def imported_names(path: Path) -> set[str]:
    """Absolute dotted names a module imports, at any depth (``from a import b`` gives a and a.b)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def distribution_of(dotted: str, dists: dict) -> str:
    for prefix, dist in EXPLICIT.items():
        if dotted == prefix or dotted.startswith(prefix + "."):
            return normalise(dist)
    top = dotted.split(".")[0]
    found = dists.get(top)
    if found:
        return normalise(found[0])
    return normalise(top)  # not installed here (an optional extra): its import name is its name


def third_party_imports(config: dict) -> dict[str, set[str]]:
    """Distribution -> the modules importing it, over every module of the project's packages."""
    own = set(source_roots(config))
    project = normalise(config["project"]["name"])
    dists = packages_distributions()
    found: dict[str, set[str]] = {}
    for folder in source_roots(config).values():
        for path in sorted(folder.rglob("*.py")):
            for dotted in imported_names(path):
                top = dotted.split(".")[0]
                if top in sys.stdlib_module_names or top in own:
                    continue
                dist = distribution_of(dotted, dists)
                if dist != project:
                    found.setdefault(dist, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_scan_sees_the_imports_it_must():
    """The scan itself: module-level, function-level and `from numba import cuda` imports are seen."""
    found = third_party_imports(pyproject())
    assert {"numpy", "numba", "xarray", "zarr", "dask", "distributed", "click", "psutil"} <= set(found)
    assert "spms_mc/core/config.py" in found["psutil"]  # imported inside a function
    assert "matplotlib" in found and "dask-jobqueue" in found  # optional, imported where used
    assert "kernels/spms_mc_kernels/cuda.py" in found["numba-cuda"]
    assert not {"os", "spms-mc", "spms-mc-kernels"} & set(found)


def test_every_imported_package_is_declared():
    config = pyproject()
    missing = {dist: sorted(where) for dist, where in third_party_imports(config).items()
               if dist not in declared(config["project"])}
    assert not missing, ("imported but not declared in pyproject.toml ([project] dependencies, or the "
                         f"extra of the feature that imports it): {missing}")
