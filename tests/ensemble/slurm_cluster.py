"""A single-node SLURM cluster for tests: Debian's slurm-wlm (slurmctld + slurmd) with munge
authentication, configured in a temporary folder (``SLURM_CONF``), started when the binaries are
present and shut down afterwards. Runs as the current user (root in CI containers): no cgroups,
``proctrack/linuxproc``, no accounting."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

BINARIES = ("sbatch", "slurmctld", "slurmd", "munged", "scontrol")


def available() -> bool:
    return all(shutil.which(b) or Path(f"/usr/sbin/{b}").exists() for b in BINARIES)


def _exe(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _munge_running() -> bool:
    return subprocess.run(["munge", "-n"], capture_output=True).returncode == 0


@contextlib.contextmanager
def single_node_slurm(folder: Path):
    """Start munged (if not running), slurmctld and slurmd on this host; yield ``sbatch(args)`` (runs
    sbatch with this cluster's configuration, raising on failure, returning its stdout)."""
    folder = Path(folder) / "slurm"
    for sub in ("state", "spool", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().split(".")[0]
    user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    cpus = len(os.sched_getaffinity(0))
    conf = folder / "slurm.conf"
    conf.write_text(f"""ClusterName=spmsmctest
SlurmctldHost={host}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName={host} CPUs={cpus} State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    started_munge = None
    if not _munge_running():
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        started_munge = subprocess.Popen([_exe("munged"), "--foreground", "--force"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            if _munge_running():
                break
            time.sleep(0.1)
    daemons = [subprocess.Popen([_exe("slurmctld"), "-D", "-i", "-f", str(conf)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    time.sleep(1.0)
    daemons.append(subprocess.Popen([_exe("slurmd"), "-D", "-f", str(conf)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def logs() -> str:
        return "".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in (folder / "log").glob("*.log"))

    try:
        for _ in range(120):  # the node reports idle once slurmd has registered
            r = subprocess.run([_exe("sinfo"), "-h", "-o", "%T"], env=env, capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.strip() in ("idle", "mixed", "allocated"):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"the single-node SLURM cluster did not come up:\n{logs()}")

        def sbatch(args: list[str]) -> str:
            r = subprocess.run([_exe("sbatch"), *args], env=env, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"sbatch {' '.join(args)} failed ({r.returncode}): {r.stderr}\n{logs()}")
            return r.stdout

        yield sbatch
    finally:
        subprocess.run([_exe("scontrol"), "shutdown"], env=env, capture_output=True)
        for p in daemons + ([started_munge] if started_munge else []):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if started_munge:
            started_munge.terminate()
