"""A real, private Slurm for the tests: munged, slurmctld and one slurmd per
node on this host (127.0.0.1), from a generated slurm.conf (CPU nodes, no
cgroups, state, spool, logs and sockets in a temporary directory). Slurm and
munge come from the system packages (Debian's slurm-wlm, slurmctld, slurmd,
munge), installed with apt-get when missing and this process is root."""

import os
import os.path as osp
import shutil
import socket
import subprocess
import time

PACKAGES = ('slurmctld', 'slurmd', 'slurm-client', 'munge')
BINARIES = ('slurmctld', 'slurmd', 'munged', 'srun', 'sbatch', 'scontrol', 'squeue')


def _missing():
    return [b for b in BINARIES if shutil.which(b) is None and not osp.exists(f'/usr/sbin/{b}')]


def ensure_installed():
    """None when Slurm and munge are installed (installing them with apt-get
    when root), else the reason they are not."""
    if not _missing():
        return None
    if os.geteuid() != 0 or shutil.which('apt-get') is None:
        return (
            f'Slurm/munge not installed ({", ".join(_missing())} missing) and cannot be '
            'installed here (needs root and apt-get): apt-get install ' + ' '.join(PACKAGES)
        )
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for cmd in (
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', *PACKAGES],
    ):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode:
            return f'`{" ".join(cmd)}` failed: {(out.stdout + out.stderr)[-500:]}'
    return None if not _missing() else f'still missing after apt-get: {_missing()}'


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _binary(name):
    return shutil.which(name) or f'/usr/sbin/{name}'


class LocalSlurm:
    """Start with :meth:`start`, stop with :meth:`stop` (kills the daemons it
    started and every job step they run). ``env`` is the environment for
    srun / sbatch / scontrol (``SLURM_CONF``)."""

    def __init__(self, root, nodes=('n1',), cpus=4, cred_expire=10):
        self.root, self.nodes, self.cpus = root, tuple(nodes), cpus
        self.cred_expire = cred_expire
        self.conf = osp.join(root, 'slurm.conf')
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.procs = []  # (name, pid file)
        self.host = socket.gethostname().split('.')[0]

    def _write(self):
        for d in ('state', 'munge', 'log'):
            os.makedirs(osp.join(self.root, d), exist_ok=True)
        for n in self.nodes:
            os.makedirs(osp.join(self.root, 'spool', n), exist_ok=True)
        key = osp.join(self.root, 'munge', 'munge.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self.socket = osp.join(self.root, 'munge', 'munge.socket')
        r = self.root
        lines = [
            'ClusterName=mmwrntest',
            f'SlurmctldHost={self.host}(127.0.0.1)',
            'SlurmUser=root',
            'SlurmdUser=root',
            f'SlurmctldPort={_free_port()}',
            'AuthType=auth/munge',
            'CredType=cred/munge',
            f'AuthInfo=socket={self.socket},cred_expire={self.cred_expire}',
            f'StateSaveLocation={r}/state',
            f'SlurmdSpoolDir={r}/spool/%n',
            f'SlurmctldPidFile={r}/slurmctld.pid',
            f'SlurmdPidFile={r}/slurmd.%n.pid',
            f'SlurmctldLogFile={r}/log/slurmctld.log',
            f'SlurmdLogFile={r}/log/slurmd.%n.log',
            'ProctrackType=proctrack/linuxproc',
            'TaskPlugin=task/none',
            'JobAcctGatherType=jobacct_gather/none',
            'AccountingStorageType=accounting_storage/none',
            'JobCompType=jobcomp/none',
            'SchedulerType=sched/builtin',
            'SelectType=select/cons_tres',
            'SelectTypeParameters=CR_CPU',
            'SlurmdParameters=config_overrides',
            'ReturnToService=2',
            'MpiDefault=none',
            'JobRequeue=1',
            'KillWait=30',
            'InactiveLimit=0',
            'MinJobAge=300',
            'SlurmctldTimeout=30',
            'SlurmdTimeout=60',
            'SlurmctldDebug=info',
            'SlurmdDebug=info',
        ]
        for n in self.nodes:
            lines.append(
                f'NodeName={n} NodeHostname={self.host} NodeAddr=127.0.0.1 '
                f'Port={_free_port()} CPUs={self.cpus} State=UNKNOWN'
            )
        lines.append('PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP')
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')

    def _daemon(self, name, cmd, pid_file):
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        self.procs.append((name, pid_file))
        if out.returncode:
            raise RuntimeError(
                f'{" ".join(cmd)} failed ({out.returncode}): '
                f'{(out.stdout + out.stderr)[-1000:]}{self.logs()}'
            )

    def logs(self):
        text = ''
        for name in sorted(os.listdir(osp.join(self.root, 'log'))):
            with open(osp.join(self.root, 'log', name), errors='replace') as f:
                text += f'\n--- {name}\n' + f.read()[-2000:]
        return text

    def start(self, timeout=60):
        """Start the daemons; returns once every node is idle. Raises
        RuntimeError (with the daemons' logs) otherwise."""
        self._write()
        m = osp.join(self.root, 'munge')
        self._daemon(
            'munged',
            [
                _binary('munged'),
                '--force',
                f'--socket={self.socket}',
                f'--key-file={m}/munge.key',
                f'--pid-file={m}/munged.pid',
                f'--seed-file={m}/munged.seed',
                f'--log-file={self.root}/log/munged.log',
            ],
            f'{m}/munged.pid',
        )
        self._daemon(
            'slurmctld', [_binary('slurmctld'), '-f', self.conf], f'{self.root}/slurmctld.pid'
        )
        for n in self.nodes:
            self._daemon(
                f'slurmd {n}',
                [_binary('slurmd'), '-f', self.conf, '-N', n],
                f'{self.root}/slurmd.{n}.pid',
            )
        deadline = time.time() + timeout
        states = ''
        while time.time() < deadline:
            out = self.run('sinfo', '-h', '-N', '-o', '%N %t', check=False)
            states = out.stdout.strip()
            idle = [line.split()[0] for line in states.splitlines() if line.split()[1:] == ['idle']]
            if sorted(idle) == sorted(self.nodes):
                return self
            time.sleep(1)
        raise RuntimeError(f'Slurm nodes not idle after {timeout} s: {states!r}{self.logs()}')

    def run(self, *cmd, check=True, **kwargs):
        out = subprocess.run(
            list(cmd), env=kwargs.pop('env', self.env), capture_output=True, text=True, **kwargs
        )
        if check and out.returncode:
            raise RuntimeError(
                f'{" ".join(cmd)} failed ({out.returncode}): '
                f'{out.stdout[-2000:]}{out.stderr[-2000:]}'
            )
        return out

    def job(self, job_id):
        """``scontrol show job`` as a dict (JobState, Restarts, ...)."""
        out = self.run('scontrol', 'show', 'job', '-o', str(job_id)).stdout
        return dict(kv.split('=', 1) for kv in out.split() if '=' in kv)

    def wait(
        self,
        job_id,
        states=('COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY'),
        timeout=600,
    ):
        """Wait until the job is in one of ``states``; returns its record."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            info = self.job(job_id)
            if info.get('JobState') in states:
                return info
            time.sleep(1)
        raise TimeoutError(f'job {job_id} not in {states} after {timeout} s: {info}{self.logs()}')

    def stop(self):
        """Cancel every job, stop the daemons (slurmd, slurmctld, munged: SIGTERM,
        then SIGKILL) and kill what is left of the job steps."""
        if osp.exists(self.conf) and self.procs:
            self.run('scancel', '--full', '-u', 'root', check=False, timeout=30)
        for _name, pid_file in reversed(self.procs):
            _kill_pid_file(pid_file)
        self.procs = []


def _kill_pid_file(pid_file, wait=10):
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
