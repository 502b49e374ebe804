"""Checkpoints that carry the random number generators' state, so that a
resumed run continues exactly as the uninterrupted one."""

import logging
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from mmwrn.registry import register_hook

CHECKPOINT_KEY = 'rng_state'


def get_rng_state():
    """This process's random number generators: Python ``random``, numpy's
    global generator, torch's CPU generator and the generator of every CUDA
    device (when CUDA is initialised). Plain Python values and tensors only,
    so the state loads with ``weights_only=True``."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    return dict(
        python=random.getstate(),
        numpy=dict(
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            gauss=float(gauss),
        ),
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
    )


def set_rng_state(state):
    """Restore a state returned by :func:`get_rng_state`. Returns a message
    when the CUDA part cannot be restored (other devices), else None."""
    random.setstate(state['python'])
    np_state = state['numpy']
    np.random.set_state(
        (
            'MT19937',
            np_state['keys'].numpy().astype(np.uint32),
            np_state['pos'],
            np_state['has_gauss'],
            np_state['gauss'],
        )
    )
    torch.set_rng_state(state['torch'])
    cuda = state['cuda']
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if cuda and len(cuda) == available:
        torch.cuda.set_rng_state_all(cuda)
    elif cuda or (available and torch.cuda.is_initialized()):
        return (
            f'the checkpoint has the state of {len(cuda)} CUDA generators and '
            f'this process sees {available} CUDA devices: CUDA random numbers '
            '(dropout on GPU) are not restored'
        )
    return None


@register_hook
class RNGStateHook(Hook):
    """Save the random number generators' state in checkpoints and restore it
    when training resumes, so that a resumed run draws the same random
    numbers (dropout masks, data augmentation) as an uninterrupted one.

    mmengine itself only re-seeds on resume (and only when the seed changed),
    so a run with dropout or random augmentation diverges after a resume.
    This hook:

    * adds ``checkpoint['rng_state'] = dict(world_size=..., states=[...])``
      to every checkpoint: one :func:`get_rng_state` per rank (the ranks'
      states are gathered to rank 0, which writes the file). ~15 KB per rank;
    * on resume, restores each rank's own state right after mmengine's
      train loop has skipped the batches trained before the checkpoint
      (their data pipeline consumes random numbers in the main process when
      ``num_workers=0``) and before the first new batch is fetched. For
      ``EpochBasedTrainLoop`` it also makes a resume from a mid-epoch
      checkpoint skip the batches of that epoch already trained (mmengine
      would start the epoch over);
    * makes validation during training leave the training's random numbers
      untouched (the state is saved before validation and restored after),
      because a checkpoint is written before the validation of its
      iteration and the resumed run does not repeat that validation.

    A checkpoint without the state (written without this hook) resumes as
    mmengine does, with one warning; so does a resume with another number of
    processes. tools/train.py adds this hook to every config.

    DataLoader workers (``num_workers > 0``) are seeded by mmengine from the
    seed, rank and worker id, and the skipped batches advance them as in the
    uninterrupted run, so their state needs no saving.

    The hook takes no arguments. It runs at priority ``LOW``: after
    ``ParamSchedulerHook`` and before ``CheckpointHook`` (``VERY_LOW``).
    """

    priority = 'LOW'

    def __init__(self):
        self._in_train = False
        self._val_state = None  # this rank's state at before_val
        self._val_states = None  # every rank's state at before_val
        self._prepared = None  # (iteration, every rank's state) for a save
        self._loaded = None  # (meta iter, rng_state) of the last loaded checkpoint

    # ------------------------------------------------------------------ save
    def prepare_save(self, runner):
        """Gather every rank's state for a checkpoint saved at this iteration.
        A collective: call it on all ranks. The hook calls it itself before
        the saves of ``CheckpointHook``; other code that saves a checkpoint
        outside that schedule (``PreemptionHook``) calls it first."""
        self._prepared = (runner.iter, all_gather_object(get_rng_state()))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if get_world_size() > 1 and self._checkpoint_due(runner, by_epoch=False):
            self.prepare_save(runner)

    def after_train_epoch(self, runner):
        if get_world_size() > 1 and self._checkpoint_due(runner, by_epoch=True):
            self.prepare_save(runner)

    @staticmethod
    def _checkpoint_due(runner, by_epoch):
        """Whether a ``CheckpointHook`` saves at this point (its own rule)."""
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or hook.by_epoch != by_epoch:
                continue
            if by_epoch:
                due = hook.every_n_epochs(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_epoch(runner)
                )
            else:
                due = hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_iter(runner)
                )
            if due:
                return True
        return False

    def before_save_checkpoint(self, runner, checkpoint):
        world_size = get_world_size()
        if self._val_states is not None:  # a save during validation
            states = self._val_states
        elif self._prepared is not None and self._prepared[0] == runner.iter:
            states = self._prepared[1]
        elif world_size == 1:
            states = [get_rng_state()]
        else:
            states = [get_rng_state()] + [None] * (world_size - 1)
            print_log(
                f'RNGStateHook: a checkpoint is saved at iteration {runner.iter + 1} '
                "outside CheckpointHook's schedule: it carries the random "
                'number state of rank 0 only; other ranks will not restore theirs '
                'when resuming from it',
                logger='current',
                level=logging.WARNING,
            )
        self._prepared = None
        checkpoint[CHECKPOINT_KEY] = dict(world_size=world_size, states=states)

    # ------------------------------------------------------------ validation
    def before_val(self, runner):
        if not self._in_train:
            return
        self._val_state = get_rng_state()
        self._val_states = (
            all_gather_object(self._val_state) if get_world_size() > 1 else [self._val_state]
        )

    def after_val(self, runner):
        if self._val_state is not None:
            set_rng_state(self._val_state)
        self._val_state = self._val_states = None

    # ---------------------------------------------------------------- resume
    def after_load_checkpoint(self, runner, checkpoint):
        meta = checkpoint.get('meta') or {}
        self._loaded = (meta.get('iter'), checkpoint.get(CHECKPOINT_KEY))

    def before_train(self, runner):
        self._in_train = True
        loaded, self._loaded = self._loaded, None
        # a resume sets the loop's iteration from the checkpoint (load_from
        # without resume leaves it at 0)
        if loaded is None or runner.iter == 0 or loaded[0] != runner.iter:
            return
        saved = loaded[1]
        state, problem = None, None
        world_size, rank = get_world_size(), get_rank()
        if saved is None:
            problem = (
                'the checkpoint has no random number state (it was written without RNGStateHook)'
            )
        elif saved['world_size'] != world_size:
            problem = (
                f'the checkpoint was written by {saved["world_size"]} '
                f'processes and this run has {world_size}'
            )
        else:
            state = saved['states'][rank]
            if state is None:
                problem = f'the checkpoint has no random number state for rank {rank}'
        loop = runner.train_loop
        if state is not None and not isinstance(loop, (IterBasedTrainLoop, EpochBasedTrainLoop)):
            problem = f'{type(loop).__name__} is neither IterBasedTrainLoop nor EpochBasedTrainLoop'
        if problem is not None:
            print_log(
                f'RNGStateHook: {problem}: resuming with the random number state '
                'mmengine sets, so dropout masks and random augmentation differ '
                'from an uninterrupted run from here on',
                logger='current',
                level=logging.WARNING,
            )
            return

        def restore():
            message = set_rng_state(state)
            if message:
                print_log(f'RNGStateHook: {message}', logger='current', level=logging.WARNING)

        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = _RestoreAfterSkip(loop, runner.iter, restore)
        else:
            loop.dataloader = _EpochResume(loop, runner, restore)


class _RestoreAfterSkip:
    """Stands in for ``IterBasedTrainLoop.dataloader_iterator`` after a resume:
    passes the loop's ``skip`` fetches (the batches trained before the
    checkpoint) through, then restores the random number state right before
    the first new batch is fetched and puts the loop's iterator back."""

    def __init__(self, loop, skip, restore):
        self._loop = loop
        self._iterator = loop.dataloader_iterator
        self._left = skip
        self._restore = restore

    def __iter__(self):
        return self

    def __next__(self):
        if self._left > 0:
            self._left -= 1
            return next(self._iterator)
        self._restore()
        self._loop.dataloader_iterator = self._iterator
        return next(self._iterator)


class _EpochResume:
    """Stands in for ``EpochBasedTrainLoop.dataloader`` until the resumed
    epoch starts: skips the batches of this epoch trained before a mid-epoch
    checkpoint, restores the random number state before the first new batch
    and puts the loop's dataloader back. Attribute access (``sampler`` for
    ``DistSamplerSeedHook``) goes to the dataloader."""

    def __init__(self, loop, runner, restore):
        self._loop = loop
        self._dataloader = loop.dataloader
        self._skip = runner.iter - runner.epoch * len(self._dataloader)
        self._restore = restore
        if not 0 <= self._skip <= len(self._dataloader):
            print_log(
                f'RNGStateHook: iteration {runner.iter} is not in epoch '
                f'{runner.epoch + 1} of {len(self._dataloader)} batches (did the '
                'batch size or the number of processes change?): the epoch '
                'starts from its first batch',
                logger='current',
                level=logging.WARNING,
            )
            self._skip = 0

    def __getattr__(self, name):
        return getattr(self._dataloader, name)

    def __len__(self):
        return len(self._dataloader)

    def __iter__(self):
        self._loop.dataloader = self._dataloader
        # persistent workers: only the first iter() of a run draws the
        # workers' base seed from torch's generator, so restore after it
        persistent = self._dataloader.num_workers > 0 and getattr(
            self._dataloader, 'persistent_workers', False
        )
        if self._skip == 0 and not persistent:
            self._restore()
            return iter(self._dataloader)
        iterator = iter(self._dataloader)
        if self._skip:
            print_log(
                f'Advance dataloader {self._skip} steps to skip data of '
                'this epoch that has already been trained',
                logger='current',
            )
        for _ in range(self._skip):
            next(iterator)
        self._restore()
        return iterator
