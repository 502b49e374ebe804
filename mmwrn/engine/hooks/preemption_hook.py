"""Training that survives preemption: a signal saves a checkpoint at the
current iteration and stops training; outdated checkpoints are removed only
after a newer one is complete."""

import functools
import logging
import os
import os.path as osp
import signal
import threading

import torch
from mmengine.dist import all_reduce, barrier, get_world_size, is_main_process
from mmengine.fileio import join_path
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from mmwrn.engine.atomic_backend import atomic_write
from mmwrn.registry import register_hook
from .rng_state_hook import RNGStateHook

KEPT_KEY = 'mmwrn_kept_checkpoints'  # message hub: checkpoints not yet removed


def _ignore_worker_deaths(previous, signum, frame):
    """SIGCHLD handler after a stop signal: calls the previous handler but
    ignores the error torch's raises for a DataLoader worker that died."""
    if callable(previous):
        try:
            previous(signum, frame)
        except RuntimeError:
            pass


class TrainingPreempted(SystemExit):
    """Raised out of ``runner.train()`` by :class:`PreemptionHook` after it
    saved a checkpoint on a signal: the process ends with exit status 0 unless
    the caller catches it (tools/train.py does, to requeue a Slurm job).

    Attributes:
        signal (signal.Signals): the signal that stopped training.
        checkpoint (str): the checkpoint to resume from.
    """

    def __init__(self, signum, checkpoint):
        super().__init__(0)
        self.signal = signal.Signals(signum)
        self.checkpoint = checkpoint


@register_hook
class PreemptionHook(Hook):
    """Stop training cleanly on a signal and keep checkpoints safe from kills.

    Signals (Slurm sends SIGTERM on preemption and ``scancel``, and the signal
    asked for by ``--signal``, e.g. ``--signal=USR1@90``, before the time
    limit): the handler only records the signal. After the running iteration
    the ranks agree on it (one ``all_reduce`` of an integer per iteration),
    save a checkpoint of that iteration through ``runner.save_checkpoint``
    named as ``CheckpointHook`` names its iteration checkpoints (unless that
    hook has just saved one), write ``last_checkpoint``, and stop: an
    ``IterBasedTrainLoop`` stops through ``stop_training`` (``after_train`` and
    ``after_run`` hooks run), an ``EpochBasedTrainLoop``, which cannot stop in
    the middle of an epoch, right after the save. :class:`TrainingPreempted`
    (exit status 0) then leaves ``runner.train()``. ``--resume`` continues from
    the checkpoint; with :class:`RNGStateHook` exactly as without the stop.

    DataLoader workers: Slurm signals every process of a job step, and the
    main process raises an error as soon as a worker dies. The handlers are
    installed when the hook is built, so that workers, forked later, inherit
    them and ignore the signal (their main process decides); torch's workers
    however exit on SIGTERM (their own handler), so once a stop signal has
    arrived, a worker's death no longer interrupts the running iteration (the
    stop comes before the next batch is needed). Outside ``runner.train()`` a
    signal behaves as it did before the hook. The previous handlers are
    restored after the run.

    Checkpoint removal: ``CheckpointHook(max_keep_ckpts=N)`` removes the
    oldest checkpoint *before* writing a new one, so a kill during the save
    loses both. This hook takes over that removal (it sets the hook's
    ``max_keep_ckpts`` to -1 and remembers N) and removes outdated
    checkpoints only after the new checkpoint and ``last_checkpoint`` are
    written. (With the ``atomic_saves`` host mend on, as in mmwrn's tools and
    shipped configs, checkpoint files are also written atomically, see
    ``mmwrn.host_mends``.)

    tools/train.py adds this hook to every config.

    Args:
        signals (Sequence[str]): names of the signals that stop training with
            a checkpoint. Defaults to ``('SIGTERM', 'SIGUSR1')``. Add
            ``'SIGINT'`` to make Ctrl-C save and stop too (a second Ctrl-C
            then still has to wait for the iteration to end).
    """

    priority = 'LOWEST'

    def __init__(self, signals=('SIGTERM', 'SIGUSR1')):
        if isinstance(signals, str):
            signals = (signals,)
        catchable = sorted(
            s.name for s in signal.Signals if s not in (signal.SIGKILL, signal.SIGSTOP)
        )
        unknown = [s for s in signals if s not in catchable]
        if unknown:
            raise ValueError(
                f'PreemptionHook: unknown or uncatchable signals {unknown}; valid: {catchable}'
            )
        self.signals = tuple(signal.Signals[s] for s in signals)
        self._pid = os.getpid()
        self._requested = 0  # the signal number received, 0 for none
        self._training = False
        self._previous = {}
        self._sigchld_previous = None  # SIGCHLD's handler before a stop signal
        self._stop = None  # TrainingPreempted to raise after the run
        self._checkpoint_hook = None  # the CheckpointHook, when there is one
        self._pruned_hook = None  # the CheckpointHook whose removals this hook does
        self._max_keep = None  # its max_keep_ckpts
        self._kept = []  # checkpoints not yet removed, oldest first (rank 0)
        self._last_ckpt = None
        self._install()

    # --------------------------------------------------------------- signals
    def _install(self):
        if threading.current_thread() is not threading.main_thread():
            print_log(
                'PreemptionHook: built outside the main thread, where signal '
                'handlers cannot be installed: signals are not handled',
                logger='current',
                level=logging.WARNING,
            )
            return
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._handle)

    def _uninstall(self):
        if os.getpid() != self._pid:
            return
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}
        if self._sigchld_previous is not None:
            signal.signal(signal.SIGCHLD, self._sigchld_previous)
            self._sigchld_previous = None

    def _handle(self, signum, frame):
        if os.getpid() != self._pid:
            return  # a DataLoader worker: its main process stops training
        if self._training:
            self._requested = max(self._requested, signum)
            if self._sigchld_previous is None:
                # torch's SIGCHLD handler raises in the main thread when a
                # DataLoader worker dies, e.g. of this signal (Slurm sends it to
                # the workers too). CPython runs pending handlers in signal
                # number order, so this one (SIGTERM 15, SIGUSR1 10, SIGINT 2)
                # runs before a pending SIGCHLD (17).
                self._sigchld_previous = signal.getsignal(signal.SIGCHLD)
                signal.signal(
                    signal.SIGCHLD, functools.partial(_ignore_worker_deaths, self._sigchld_previous)
                )
            return
        previous = self._previous.get(signum)
        if previous is signal.SIG_IGN:
            return
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def _agreed_signal(self):
        """The signal any rank received (the highest number: SIGTERM over
        SIGUSR1 over SIGINT), 0 for none; the same on every rank."""
        if get_world_size() == 1:
            return self._requested
        flag = torch.tensor([self._requested], dtype=torch.int64)
        all_reduce(flag, op='max')
        return int(flag.item())

    # ------------------------------------------------------------ life cycle
    def before_run(self, runner):
        hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        self._checkpoint_hook = hooks[0] if len(hooks) == 1 else None
        pruning = [h for h in hooks if h.max_keep_ckpts > 0]
        if len(pruning) == 1:
            self._max_keep = pruning[0].max_keep_ckpts
            pruning[0].max_keep_ckpts = -1
            self._pruned_hook = pruning[0]
        elif pruning:
            print_log(
                'PreemptionHook: several CheckpointHooks remove old '
                'checkpoints; they do so before saving a new one, as in '
                'mmengine',
                logger='current',
                level=logging.WARNING,
            )

    def before_train(self, runner):
        self._training = True
        names = ', '.join(s.name for s in self.signals)
        print_log(
            f'PreemptionHook: {names} save a checkpoint at the current iteration and stop training',
            logger='current',
        )
        if self._max_keep is not None:
            hub, hook = runner.message_hub, self._pruned_hook
            kept = hub.get_info(KEPT_KEY)
            if kept is None and hub.get_info('keep_ckpt_ids') is not None:
                # resumed from a checkpoint whose removals mmengine managed
                kept = [
                    hook.file_backend.join_path(hook.out_dir, hook.filename_tmpl.format(s))
                    for s in hub.get_info('keep_ckpt_ids')
                ]
            self._kept = list(kept or [])
            self._prune(runner)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._last_ckpt = runner.message_hub.get_info('last_ckpt')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._prune(runner)
        signum = self._agreed_signal()
        if signum:
            self._stop_training(runner, signum)

    def after_train_epoch(self, runner):
        self._prune(runner)

    def after_val_epoch(self, runner, metrics=None):
        self._prune(runner)

    def after_train(self, runner):
        self._training = False

    def after_run(self, runner):
        self._uninstall()
        if self._stop is not None:
            raise self._stop

    # ----------------------------------------------------------- checkpoints
    def _stop_training(self, runner, signum):
        name = signal.Signals(signum).name
        last = runner.message_hub.get_info('last_ckpt')
        if last is not None and last != self._last_ckpt:
            path = last  # CheckpointHook saved this iteration
        else:
            path = self._save(runner)
        barrier()  # every rank exits after the checkpoint is complete
        self._prune(runner)
        print_log(
            f'PreemptionHook: {name} received: saved {path} at iteration '
            f'{runner.iter + 1} (epoch {runner.epoch + 1}) and stopped training. '
            f'Continue with `tools/train.py CONFIG --work-dir {runner.work_dir} '
            '--resume`.',
            logger='current',
            level=logging.WARNING,
        )
        self._stop = TrainingPreempted(signum, path)
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            runner.train_loop.stop_training = True
        else:
            self._training = False
            self._uninstall()
            raise self._stop

    def _save(self, runner):
        """Save a checkpoint of this iteration on every rank (rank 0 writes
        it) and point ``last_checkpoint`` at it. Returns its path."""
        hook, step = self._checkpoint_hook, runner.iter + 1
        if hook is not None:
            out_dir, backend_args, client_args = (
                hook.out_dir,
                hook.backend_args,
                hook.file_client_args,
            )
            filename = f'iter_{step}.pth' if hook.by_epoch else hook.filename_tmpl.format(step)
        else:
            out_dir, backend_args, client_args = runner.work_dir, None, None
            filename = f'iter_{step}.pth'
        path = join_path(out_dir, filename, backend_args=backend_args)
        runner.message_hub.update_info('last_ckpt', path)
        for other in runner.hooks:
            if isinstance(other, RNGStateHook):
                other.prepare_save(runner)
        runner.save_checkpoint(
            out_dir, filename, client_args, by_epoch=False, backend_args=backend_args
        )
        if is_main_process():
            atomic_write(path, osp.join(runner.work_dir, 'last_checkpoint'))
        return path

    def before_save_checkpoint(self, runner, checkpoint):
        """Record a new regular checkpoint in the list of kept ones, and store
        the list in the checkpoint (so that a resumed run removes it in turn)."""
        if self._max_keep is None:
            return
        path = runner.message_hub.get_info('last_ckpt')
        if path and path not in self._kept:
            self._kept.append(path)
        runner.message_hub.update_info(KEPT_KEY, list(self._kept))
        hub = checkpoint['message_hub']
        hub['runtime_info'][KEPT_KEY] = list(self._kept)
        hub['resumed_keys'][KEPT_KEY] = True

    def _prune(self, runner):
        """Remove the oldest checkpoints beyond ``max_keep_ckpts`` (rank 0),
        once the newer ones and ``last_checkpoint`` are written."""
        if self._max_keep is None or not is_main_process():
            return
        backend = self._pruned_hook.file_backend
        while len(self._kept) > self._max_keep:
            path = self._kept.pop(0)
            if backend.isfile(path):
                backend.remove(path)
            elif backend.isdir(path):  # deepspeed writes directories
                backend.rmtree(path)
        runner.message_hub.update_info(KEPT_KEY, list(self._kept))
