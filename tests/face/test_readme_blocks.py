"""Every command block of README.md runs, in order, top to bottom, in a temporary folder.

As a new user on a fresh machine would after the set-up (README, "Set up"): the folder holds the
repository's tracked files except the package source (``spms_mc/``, ``kernels/``: the package is
already installed in this interpreter, and a copy in the working folder would shadow it), and the
blocks run one after another in **one bash session**, so a variable a block sets (``common="..."``)
and the files it writes are there for the later ones. This test checks that every block exits with
status 0 and that a file a block reads was written by an earlier one; the printed numbers are
checked at full size elsewhere (``tests/face/test_readme.py``).

How a fenced block is read:

* ``python``: run as a script (``python - <<EOF``) in the folder. An untagged block right after
  its closing fence (no line between) is the output it shows, not a command.
* untagged (or ``bash``/``sh``/``shell``/``console``): shell. With ``$ `` prompts, the prompted
  lines (with their ``\\`` continuations) are the commands and the other lines shown output;
  without prompts the block is a script.
* HTML comments right before the block (only blank lines between), one per line, say more:
  ``<!-- readme-test: skip (WHY) -->``: not a command (a synopsis, a scenario file, a folder
  layout); ``<!-- readme-test: needs GPU -->``: runs only where ``nvidia-smi -L`` finds a GPU;
  ``<!-- readme-test: needs slurm -->``: runs only where ``sbatch`` is on the PATH and ``sinfo``
  reaches a controller (installed binaries alone are no cluster);
  ``<!-- readme-test: with --OPTION VALUE ... -->``: every command of the block that takes these
  options (``spms-mc``'s subcommands, a ``python`` script naming them) runs with them, replacing
  its own (``--set KEY=V`` replaces only the same key), to scale down a command whose sizes are
  its defaults (the studies, the economy presets' ticks).
* anything else (a ``toml`` block, a marker not in this list, a shell block that looks like a
  synopsis, uses ``--backend cuda`` or SLURM's commands without the marker) fails the test, so no
  runnable block is ever skipped silently.

Rewrites (the README's "Set up" says so):

* ``python -m pip install ... &&`` is dropped, and so is a line that only installs (``pip install
  ".[report]"``): the test extra has every optional package;
* the test command (a line running ``pytest``) is not run (it would run this test again); it must
  be the last line of ``.ci/run``;
* ``spms-mc`` and ``python`` are this interpreter (``sys.executable -m spms_mc``), its folder first
  on the PATH;
* scaled down: ``population.households`` to at most 1000 (``--set`` and Python dicts),
  ``run.ticks`` on the command line to at most 600 (20 periods of 30 ticks, a multiple of every
  ``run.sample_every`` the README uses; Python blocks keep theirs, since they select ticks),
  ``--members``/``members=`` to at most 2 (not in a block slicing them with ``--member-range``,
  where the slices name members), then the options of a ``with`` marker (``calibrate_us.py
  --check`` keeps 1000 households: it exits 1 when the fit misses the DFA by 2 pp, as it does at
  300).
  ``SPMS_MC_README_FULL=1`` runs everything at the README's sizes instead (slow: the studies take
  minutes each).

A failure names the block's line in README.md, the command as run and the tail of its stderr.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
FULL = os.environ.get("SPMS_MC_README_FULL", "") not in ("", "0")
TIMEOUT_S = 3600 if FULL else 600

MAX_HOUSEHOLDS = 1000
MAX_TICKS = 600
MAX_MEMBERS = 2

SHELL_LANGS = {"", "bash", "sh", "shell", "console"}
MARKER = re.compile(r"^<!--\s*readme-test:\s*(.*?)\s*-->$")
NEEDS = {"GPU": "a GPU (nvidia-smi -L)", "slurm": "a SLURM cluster (sbatch, and sinfo reaching a controller)"}
SLURM_COMMANDS = re.compile(r"(^|[\s;&|(])(sbatch|srun|squeue|scancel|salloc)(\s|$)")
INSTALL_PREFIX = re.compile(r"^\s*(python3? -m )?pip install [^&;]*&&\s*")
INSTALL_LINE = re.compile(r"^\s*(python3? -m )?pip install\b")


@dataclass
class Block:
    line: int  # line of the opening fence in README.md, 1-based
    lang: str
    text: str
    markers: list[str] = field(default_factory=list)
    kind: str = ""  # shell, python, output, skip, test-command
    extra: str = ""  # options of a `with` marker
    why: str = ""
    commands: list[str] = field(default_factory=list)  # shell: the commands (continuations joined by newlines)
    end: int = 0  # line of the closing fence
    run: str = ""  # what the test runs


def parse(text: str) -> list[Block]:
    """The fenced blocks of ``text`` in order, with the marker comments right before each."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = re.match(r"^```\s*(\S*)", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise AssertionError(f"README.md line {i + 1}: the block is never closed")
        markers, k = [], i - 1
        while k >= 0 and (not lines[k].strip() or MARKER.match(lines[k].strip())):
            if lines[k].strip():
                markers.insert(0, MARKER.match(lines[k].strip()).group(1))
            k -= 1
        blocks.append(Block(line=i + 1, lang=m.group(1).lower(), text="\n".join(lines[i + 1:j]),
                            markers=markers, end=j + 1))
        i = j + 1
    return blocks


def shell_commands(text: str) -> list[str]:
    """The commands of a shell block: its ``$ `` lines (with continuations), or every line."""
    lines = text.splitlines()
    prompted = any(x.startswith("$ ") for x in lines)
    out, cont = [], False
    for x in lines:
        if cont:
            out[-1] += "\n" + x
        elif prompted and x.startswith("$ "):
            out.append(x[2:])
        elif not prompted:
            out.append(x)
        else:
            continue  # shown output
        cont = x.rstrip().endswith("\\")
    return out


def gpu_present() -> bool:
    if not shutil.which("nvidia-smi"):
        return False
    r = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return r.returncode == 0 and "GPU" in r.stdout


def slurm_present() -> bool:
    if not (shutil.which("sbatch") and shutil.which("sinfo")):
        return False
    try:
        return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def available(need: str) -> bool:
    return gpu_present() if need == "GPU" else slurm_present()


def classify(blocks: list[Block]) -> None:
    """Set each block's kind; raise naming the line of a block that cannot be classified."""
    prev = None
    for b in blocks:
        where = f"README.md line {b.line}"
        needs = []
        for mark in b.markers:
            if mark.startswith("skip"):
                if not re.fullmatch(r"skip \(.+\)", mark):
                    raise AssertionError(f"{where}: a skip marker says why: <!-- readme-test: skip (WHY) -->")
                b.kind, b.why = "skip", mark
            elif mark.startswith("needs "):
                needs.append(mark[len("needs "):])
                if needs[-1] not in NEEDS:
                    raise AssertionError(f"{where}: unknown marker {mark!r} (needs: {', '.join(NEEDS)})")
                if not b.kind and not available(needs[-1]):
                    b.kind, b.why = "skip", f"needs {NEEDS[needs[-1]]}, absent here"
            elif mark.startswith("with ") and re.fullmatch(r"with( --[\w-]+( [^-\s]\S*)?)+", mark):
                b.extra = mark[len("with "):]
            else:
                raise AssertionError(f"{where}: unknown marker {mark!r}; known: 'skip (WHY)', "
                                     + ", ".join(f"'needs {n}'" for n in NEEDS) + ", 'with --OPTION VALUE ...'")
        if b.kind:
            prev = b
            continue
        if b.lang == "python":
            b.kind = "python"
            if "GPU" not in needs and re.search(r"""["']cuda["']""", b.text):
                raise AssertionError(f"{where}: uses the GPU; mark it <!-- readme-test: needs GPU -->")
        elif b.lang in SHELL_LANGS and prev is not None and prev.kind == "python" and prev.end + 1 == b.line:
            b.kind = "output"  # right after a python block: what it prints
            if re.search(r"^(\$ |spms-mc |python )", b.text, re.M):
                raise AssertionError(f"{where}: the block right after a python block is read as its output, "
                                     "but it holds commands; put a line of text between them")
        elif b.lang in SHELL_LANGS:
            b.commands = shell_commands(b.text)
            joined = "\n".join(b.commands)
            if re.search(r" \[--|\.\.\.\]|\|[a-z]+\|", joined):
                raise AssertionError(f"{where}: looks like a synopsis (brackets, alternatives); mark it "
                                     "<!-- readme-test: skip (synopsis) --> if it is not a command")
            if "GPU" not in needs and re.search(r"--backend[ =]cuda|pip install \S*\[cuda\]", joined):
                raise AssertionError(f"{where}: uses the GPU; mark it <!-- readme-test: needs GPU -->")
            if "slurm" not in needs and SLURM_COMMANDS.search(joined):
                raise AssertionError(f"{where}: uses SLURM; mark it <!-- readme-test: needs slurm -->")
            b.kind = "test-command" if any(re.search(r"\bpytest\b", c) for c in b.commands) else "shell"
        else:
            raise AssertionError(f"{where}: cannot classify a ```{b.lang} block; mark it "
                                 "<!-- readme-test: skip (WHY) --> if it is not a command")
        prev = b


def _cap(n: str, cap: int) -> str:
    v = int(n.replace("_", ""))
    return str(min(v, cap)) if not FULL else n


def takes(cmd: str, option: str) -> bool:
    """Whether ``cmd`` (an ``spms-mc`` subcommand or a ``python`` script) takes ``option``."""
    words = cmd.split()
    if len(words) > 1 and words[0] == "spms-mc":
        from spms_mc.face.cli import cli

        sub = cli.commands.get(words[1])
        return sub is not None and any(option in getattr(p, "opts", ()) for p in sub.params)
    if len(words) > 1 and re.fullmatch(r"python3?", words[0]) and words[1].endswith(".py"):
        return (ROOT / words[1]).is_file() and f'"{option}"' in (ROOT / words[1]).read_text()
    return False


def scale_shell(cmd: str, extra: str = "", members: bool = True) -> str:
    """The command as this test runs it (see the module docstring); ``extra``: a `with` marker's
    options; ``members``: cap ``--members`` (not in a block that slices them with ``--member-range``)."""
    cmd = re.sub(r"(population\.households=)([\d_]+)", lambda m: m.group(1) + _cap(m.group(2), MAX_HOUSEHOLDS), cmd)
    cmd = re.sub(r"(run\.ticks=)([\d_]+)", lambda m: m.group(1) + _cap(m.group(2), MAX_TICKS), cmd)
    if members:
        cmd = re.sub(r"(--members[ =])(\d+)", lambda m: m.group(1) + _cap(m.group(2), MAX_MEMBERS), cmd)
    opts = re.findall(r"--[\w-]+", extra)
    if extra and not FULL and all(takes(cmd, o) for o in opts):
        for opt, value in re.findall(r"(--[\w-]+)(?: ([^-\s]\S*))?", extra):
            if opt in ("--set", "--sweep"):  # repeatable: replace the same key only
                key = re.escape(value.split("=")[0])
                cmd = re.sub(rf"\s{opt}[ =]{key}=\S+", "", cmd)
            else:
                cmd = re.sub(rf"\s{opt}(?:[ =](?!-)\S+)?(?=\s|$)", "", cmd)
        cmd = cmd.rstrip() + " " + extra
    return cmd


def scale_python(code: str) -> str:
    code = re.sub(r"""(["']population\.households["']\s*:\s*)([\d_]+)""",
                  lambda m: m.group(1) + _cap(m.group(2), MAX_HOUSEHOLDS), code)
    return re.sub(r"(\bmembers\s*=\s*)(\d+)", lambda m: m.group(1) + _cap(m.group(2), MAX_MEMBERS), code)


VALUE_OPTIONS = {"--out", "--set", "--sweep", "--seed", "--members", "--scheduler", "--workers", "--job",
                 "--backend", "--gpu-batch", "--lorenz-tick", "--var", "--only", "--size", "--repeats",
                 "--figure", "--json", "--households", "--store"}


def inputs_shell(cmd: str) -> list[str]:
    """Paths a command reads: a ``*.zarr`` not after ``--out``, and what report/export/status read."""
    try:
        words = shlex.split(cmd.replace("\\\n", " "), comments=True)
    except ValueError:
        return []
    reader = len(words) > 1 and words[0] == "spms-mc" and words[1] in ("report", "export", "status")
    reads = []
    for n, w in enumerate(words):
        if "$" in w or (n and words[n - 1] in VALUE_OPTIONS):
            continue
        if w.endswith(".zarr") or (reader and n > 1 and not w.startswith("-")):
            reads.append(w)
    return reads


def inputs_python(code: str) -> list[str]:
    return re.findall(r"""(?:open_ensemble|open_zarr)\(\s*["']([^"']+)["']""", code)


def _need(paths: list[str]) -> str:
    """A line checking that the files a command reads exist (written by an earlier command)."""
    return f"__need {' '.join(shlex.quote(p) for p in paths)}\n" if paths else ""


def build_script(blocks: list[Block], logs: Path) -> str:
    """One bash script: every block in order, each block's output in ``logs/<line>.out|err``."""
    parts = [
        "set -Eeo pipefail",
        "__need() { for f in \"$@\"; do [ -e \"$f\" ] || { echo \"readme-test: this reads $f,"
        " which no earlier command wrote\" >&2; return 97; }; done; }",
    ]
    for b in blocks:
        if b.kind not in ("shell", "python"):
            continue
        if b.kind == "shell":
            body, sliced = [], "--member-range" in b.text
            for c in b.commands:
                c = INSTALL_PREFIX.sub("", c)
                if INSTALL_LINE.match(c) or not c.strip():
                    continue
                body.append(scale_shell(c, b.extra, members=not sliced))
            b.run = "\n".join(body)
            if b.extra and not FULL and not any(c.endswith(" " + b.extra) for c in body):
                raise AssertionError(f"README.md line {b.line}: no command of the block takes {b.extra!r}")
            checked = [_need(inputs_shell(c)) + c for c in body]
        else:
            b.run = scale_python(b.text)
            heredoc = f"python - <<'__README_PYTHON_BLOCK__'\n{b.run}\n__README_PYTHON_BLOCK__"
            checked = [_need(inputs_python(b.run)) + heredoc]
        if not b.run:
            continue
        log = shlex.quote(str(logs / str(b.line)))
        parts.append(f"echo {b.line} > {shlex.quote(str(logs / 'current'))}; date +%s.%N > {log}.t0")
        parts.append("{\n" + "\n".join(checked) + f"\n}} > {log}.out 2> {log}.err")
        parts.append(f"date +%s.%N > {log}.t1; times > {log}.cpu")
    parts.append(f"echo done > {shlex.quote(str(logs / 'current'))}")
    return "\n".join(parts) + "\n"


def fresh_folder(dest: Path) -> None:
    """The repository's tracked files, without the installed package's source."""
    r = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True)
    names = [n for n in r.stdout.split("\0") if n] if r.returncode == 0 else []
    if not names:  # not a git checkout: what the README's commands use
        names = [str(p.relative_to(ROOT)) for d in ("benchmarks", "docs", "notebooks") if (ROOT / d).is_dir()
                 for p in (ROOT / d).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for n in names:
        if n.split("/")[0] in ("spms_mc", "kernels") or not (ROOT / n).is_file():
            continue
        (dest / n).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / n, dest / n)


def shims(bindir: Path) -> None:
    """``python`` and ``spms-mc`` as this interpreter."""
    bindir.mkdir()
    for name, line in (("python", f'exec {shlex.quote(sys.executable)} "$@"'),
                       ("spms-mc", f'exec {shlex.quote(sys.executable)} -m spms_mc "$@"')):
        (bindir / name).write_text(f"#!/bin/sh\n{line}\n")
        (bindir / name).chmod(0o755)


def _tail(path: Path, n: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else "(none)"


def test_readme_blocks_are_all_classified():
    blocks = parse(README.read_text())
    classify(blocks)
    assert any(b.kind == "shell" for b in blocks) and any(b.kind == "python" for b in blocks)


def test_classification_rules(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "available", lambda need: False)

    def kinds(md):
        blocks = parse(md)
        classify(blocks)
        return [b.kind for b in blocks]

    fence = "```"
    md = f"{fence}python\nprint(1)\n{fence}\n{fence}\n1\n{fence}\n\ntext\n{fence}\n$ spms-mc x\nout\n{fence}\n"
    assert kinds(md) == ["python", "output", "shell"]
    assert kinds(f"<!-- readme-test: needs slurm -->\n{fence}\nsbatch --wrap 'x'\n{fence}\n") == ["skip"]
    assert kinds(f"<!-- readme-test: skip (a scenario file) -->\n\n{fence}toml\na = 1\n{fence}\n") == ["skip"]
    for bad in (f"{fence}toml\na = 1\n{fence}\n",  # not a command, not marked
                f"{fence}\nspms-mc run SCENARIO [--set KEY=VALUE ...]\n{fence}\n",  # a synopsis
                f"{fence}\nsbatch --array=0-9 job.sh\n{fence}\n",  # SLURM, not marked
                f"{fence}\nspms-mc run sumsy --backend cuda --out g.zarr\n{fence}\n",  # a GPU, not marked
                f"<!-- readme-test: maybe -->\n{fence}\nls\n{fence}\n",  # an unknown marker
                f"<!-- readme-test: skip -->\n{fence}\nls\n{fence}\n"):  # a skip without its reason
        with pytest.raises(AssertionError, match="README.md line"):
            kinds(bad)


def test_the_readme_test_command_is_the_ci_one():
    blocks = parse(README.read_text())
    classify(blocks)
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    tests = [c for b in blocks if b.kind == "test-command" for c in b.commands]
    assert tests == [ci], f"the README's test command {tests} is not the one .ci/run runs ({ci!r})"


def test_scaling_rules():
    if FULL:
        pytest.skip("SPMS_MC_README_FULL: no scaling")
    assert scale_shell("spms-mc run sumsy --set population.households=2000 --set run.ticks=9000 --members 16") \
        == "spms-mc run sumsy --set population.households=1000 --set run.ticks=600 --members 2"
    small = "spms-mc run x --set run.ticks=300 --members 1"
    assert scale_shell(small) == small
    assert scale_shell("python benchmarks/calibrate_us.py --check --members 8", "--households 1000 --members 1") \
        == "python benchmarks/calibrate_us.py --check --households 1000 --members 1"
    assert scale_shell("python benchmarks/lock_in_window.py --figure a.png --start-years=0,5",
                       "--start-years 0 --figure b.png") \
        == "python benchmarks/lock_in_window.py --start-years 0 --figure b.png"
    assert scale_shell("spms-mc compare a b --set run.ticks=900 --set x=1 --members 4", "--set run.ticks=2520") \
        == "spms-mc compare a b --set x=1 --members 2 --set run.ticks=2520"
    assert scale_shell("spms-mc report r --out x", "--set run.ticks=2520") == "spms-mc report r --out x"
    assert scale_python('{"population.households": 100_000, "run.ticks": 9000}') \
        == '{"population.households": 1000, "run.ticks": 9000}'
    assert INSTALL_PREFIX.sub("", 'python -m pip install . && spms-mc run sumsy --out s.zarr') \
        == "spms-mc run sumsy --out s.zarr"
    assert inputs_shell("spms-mc report a.zarr b.zarr --out docs/x") == ["a.zarr", "b.zarr"]
    assert inputs_shell("spms-mc run s --set a=1 --out s.zarr") == []
    assert inputs_shell("spms-mc export regimes --out regimes.csv") == ["regimes"]
    # the scaled values are accepted: ticks a whole number of periods, every README sample_every dividing them
    import spms_mc

    for name in ("sumsy", "yard_sale"):
        sc = spms_mc.load_scenario(name, {"population.households": MAX_HOUSEHOLDS, "run.ticks": MAX_TICKS,
                                          "run.sample_every": 30})
        assert sc.run.ticks % sc.run.period == 0


def test_readme_blocks_run_in_order(tmp_path):
    blocks = parse(README.read_text())
    classify(blocks)
    work, logs = tmp_path / "work", tmp_path / "logs"
    work.mkdir()
    logs.mkdir()
    fresh_folder(work)
    shims(tmp_path / "bin")
    script = build_script(blocks, logs)
    (tmp_path / "readme.sh").write_text(script)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(tmp_path / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("SPMS_MC_CHECK_LEDGER", None)  # tests/conftest.py sets it; a new user's runs check as the scenario says
    t0 = time.perf_counter()
    proc = subprocess.Popen(["bash", str(tmp_path / "readme.sh")], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    wall = time.perf_counter() - t0
    current = (logs / "current").read_text().strip() if (logs / "current").exists() else "?"
    by_line = {str(b.line): b for b in blocks}

    def cpu(line):  # the children's user + sys seconds after the block (bash's `times`, second line)
        m = re.findall(r"(\d+)m([\d.]+)s", (logs / f"{line}.cpu").read_text().splitlines()[-1])
        return sum(60 * float(a) + float(b) for a, b in m)

    ran_lines, last = [], 0.0
    for b in blocks:
        if (logs / f"{b.line}.cpu").exists():
            now = cpu(b.line)
            ran_lines.append((b.line, now - last))
            last = now
    cpus = dict(ran_lines)

    def took(b):
        t = [logs / f"{b.line}.t{i}" for i in (0, 1)]
        if not all(p.exists() for p in t):
            return "-"
        return f"{float(t[1].read_text()) - float(t[0].read_text()):5.1f} s wall, {cpus[b.line]:5.1f} s cpu"

    timings = "\n".join(f"  line {b.line:>4} {b.kind:<12} {took(b) if b.kind in ('shell', 'python') else b.why}"
                        for b in blocks)
    if rc == 0 and current == "done":
        print(f"README blocks in {wall:.1f} s ({last:.1f} s cpu):\n{timings}")
        return
    b = by_line.get(current)
    status = f"timed out after {TIMEOUT_S} s" if rc is None else f"exit status {rc}"
    what = f"README.md line {current}" + (f" ({b.kind} block)" if b else "")
    ran = getattr(b, "run", "") if b else ""
    pytest.fail(f"{what}: {status}\n--- as run (in {work}, by {tmp_path / 'readme.sh'}) ---\n{ran}\n"
                f"--- stderr (tail) ---\n{_tail(logs / f'{current}.err')}\n"
                f"--- stdout (tail) ---\n{_tail(logs / f'{current}.out', 15)}\n"
                f"--- the script's own stderr ---\n{err[-2000:]}\n--- timings ---\n{timings}", pytrace=False)
