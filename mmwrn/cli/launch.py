"""Applies tools/train.py and tools/test.py command-line flags to a config, the
way mmseg's and mmpretrain's own tools do (chosen by the config's
``default_scope``)."""

import os
import os.path as osp

import torch
from mmengine.config import DictAction
from mmengine.logging import print_log

HOSTS = ('mmseg', 'mmpretrain')


def add_launch_args(parser):
    """The flags tools/train.py and tools/test.py share; also exports
    LOCAL_RANK for launchers that pass --local-rank."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (xxx=yyy)',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    # torchrun passes --local-rank (or LOCAL_RANK in the environment)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launch_args(parser):
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def config_host(cfg):
    scope = cfg.get('default_scope')
    if scope not in HOSTS:
        raise ValueError(
            f'{cfg.filename}: default_scope must be one of {HOSTS} '
            f'(inherit mmseg::_base_/default_runtime.py or '
            f'mmpretrain::_base_/default_runtime.py), got {scope!r}'
        )
    return scope


def setup_cfg(cfg, args, mode):
    """Return ``cfg`` updated with the flags in ``args`` for ``mode`` 'train' or
    'test'."""
    host = config_host(cfg)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(cfg.filename))[0])
    _no_persistent_workers_without_workers(cfg)
    _use_gloo_without_cuda(cfg)
    if mode == 'train':
        _setup_train(cfg, args)
    else:
        cfg.load_from = args.checkpoint
        _setup_test(cfg, args, host)
    return cfg


def _no_persistent_workers_without_workers(cfg):
    """``num_workers=0`` with ``persistent_workers=True`` (the configs' value)
    makes torch's DataLoader raise: turn persistent workers off, so that
    ``--cfg-options train_dataloader.num_workers=0`` alone shrinks a run."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if (
            isinstance(loader, dict)
            and loader.get('num_workers') == 0
            and loader.get('persistent_workers')
        ):
            loader['persistent_workers'] = False
            print_log(f'{key}: num_workers=0, so persistent_workers=False', 'current')


# mmcv's synchronised BNs (torch's nn.SyncBatchNorm and mmcv.ops'), CUDA only,
# under any scope but mmwrn's
CUDA_SYNC_BN = ('SyncBN', 'MMSyncBN')
CPU_SYNC_BN = 'mmwrn.SyncBN'


def _use_gloo_without_cuda(cfg):
    """Distributed runs on a machine without CUDA: gloo instead of nccl, DDP
    without device ids, and mmwrn's CPU-capable synchronised BN instead of
    the CUDA-only one."""
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        print_log('no CUDA device: using the gloo backend instead of nccl', 'current')
        dist_cfg['backend'] = 'gloo'
    replaced = replace_sync_bn(cfg.model)
    if replaced:
        print_log(
            f'no CUDA device: using {CPU_SYNC_BN} (synchronised BN on CPU) instead '
            f'of {", ".join(sorted(set(replaced)))} in {len(replaced)} norm configs '
            'of the model',
            'current',
        )
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False),
    )
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def replace_sync_bn(obj):
    """Set ``type`` to mmwrn's CPU-capable ``SyncBN`` in every norm config of
    ``obj`` (nested dicts and lists) that names the CUDA-only one; returns the
    replaced types, one entry per config."""
    replaced = []
    if isinstance(obj, dict):
        layer = obj.get('type')
        if (
            isinstance(layer, str)
            and layer != CPU_SYNC_BN
            and layer.rpartition('.')[2] in CUDA_SYNC_BN
        ):
            replaced.append(layer)
            obj['type'] = CPU_SYNC_BN
        for value in obj.values():
            replaced += replace_sync_bn(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            replaced += replace_sync_bn(value)
    return replaced


def slurm_dist_env(environ=None):
    """torch.distributed's env:// variables for a task of a Slurm job step,
    from Slurm's own: RANK (SLURM_PROCID), WORLD_SIZE (SLURM_NTASKS),
    LOCAL_RANK (SLURM_LOCALID) and MASTER_ADDR, the step's first host
    (``scontrol show hostnames``), unless already set; MASTER_PORT as set, else
    29500 (as mmengine's Slurm launcher). Returns the variables."""
    import subprocess

    env = os.environ if environ is None else environ
    missing = [k for k in ('SLURM_PROCID', 'SLURM_NTASKS') if k not in env]
    if missing:
        raise RuntimeError(
            f'--launcher slurm: {", ".join(missing)} not set: run it under srun '
            '(tools/slurm_train.sh), not directly'
        )
    nodes = (
        env.get('SLURM_STEP_NODELIST') or env.get('SLURM_JOB_NODELIST') or env.get('SLURM_NODELIST')
    )
    out = dict(
        RANK=env['SLURM_PROCID'],
        WORLD_SIZE=env['SLURM_NTASKS'],
        LOCAL_RANK=env.get('SLURM_LOCALID', '0'),
        MASTER_PORT=env.get('MASTER_PORT', '29500'),
    )
    if env.get('MASTER_ADDR'):
        out['MASTER_ADDR'] = env['MASTER_ADDR']
    else:
        hosts = subprocess.run(
            ['scontrol', 'show', 'hostnames', nodes], capture_output=True, text=True
        )
        if hosts.returncode or not hosts.stdout.split():
            raise RuntimeError(
                f'--launcher slurm: `scontrol show hostnames {nodes}` failed: '
                f'{hosts.stderr.strip()}'
            )
        out['MASTER_ADDR'] = _node_address(hosts.stdout.split()[0])
    env.update(out)
    return out


def _node_address(node):
    """``node`` when it resolves, else its NodeAddr in Slurm's configuration
    (a NodeName need not be a host name)."""
    import socket
    import subprocess

    try:
        socket.gethostbyname(node)
        return node
    except OSError:
        pass
    out = subprocess.run(
        ['scontrol', 'show', 'node', '-o', node], capture_output=True, text=True
    ).stdout
    addrs = [kv.split('=', 1)[1] for kv in out.split() if kv.startswith('NodeAddr=')]
    return addrs[0] if addrs else node


def init_cpu_distributed(cfg):
    """mmengine's pytorch and slurm launchers call ``torch.cuda.set_device``,
    which fails without a GPU. There, start the process group ourselves
    (torchrun's env:// variables; under Slurm set from Slurm's, see
    :func:`slurm_dist_env`); the Runner then uses it."""
    import torch.distributed as dist

    if (
        cfg.launcher not in ('pytorch', 'slurm')
        or torch.cuda.is_available()
        or dist.is_initialized()
    ):
        return
    if cfg.launcher == 'slurm':
        slurm_dist_env()
    dist.init_process_group(backend=cfg.env_cfg.dist_cfg.get('backend', 'gloo'))


def finish_distributed(barrier=True):
    """End a distributed run the way torch asks: destroy the process group,
    after every rank got here (``barrier=True``: a run that finished or stopped
    on a signal) or at once (``barrier=False``: an error on this rank, where
    the others may never arrive). Left to interpreter exit, gloo's teardown
    aborts a rank now and then ("terminate called without an active
    exception", SIGABRT) after a run that finished well, and torchrun then
    reports the job as failed. A peer that is already gone (killed by Slurm
    after ``scontrol requeue``) is logged, not raised: the run's outcome is
    decided."""
    import logging

    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if barrier:
            dist.barrier()
    except RuntimeError as e:
        print_log(
            f'the other ranks did not reach the end of the run: {e}', 'current', logging.WARNING
        )
    finally:
        dist.destroy_process_group()


def _setup_train(cfg, args):
    if args.amp:
        wrapper = cfg.optim_wrapper
        if wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in the config', 'current')
        else:
            wrapper.type = 'AmpOptimWrapper'
            wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError(
                f'{cfg.filename} has no auto_scale_lr.base_batch_size; --auto-scale-lr needs it'
            )
        cfg.auto_scale_lr.enable = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    check_start_checkpoints(cfg)


def _start_checkpoints(node, key):
    """``(config key, path)`` of every local checkpoint a model config starts
    from: ``Pretrained`` init_cfg entries and ``pretrained`` strings."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and isinstance(node.get('checkpoint'), str):
            yield f'{key}.checkpoint', node['checkpoint']
        for k, v in node.items():
            if k == 'pretrained' and isinstance(v, str):
                yield f'{key}.{k}', v
            else:
                yield from _start_checkpoints(v, f'{key}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _start_checkpoints(v, f'{key}[{i}]')


def check_start_checkpoints(cfg):
    """Stop before anything is built when a checkpoint the run starts from
    (init_cfg / pretrained in the model, or load_from) is a local file that
    does not exist, saying how to make it (mmwrn's model zoo) and how to
    train without it."""
    from mmwrn.model_zoo import missing_checkpoint_hint

    starts = list(_start_checkpoints(cfg.model, 'model'))
    if cfg.get('load_from') and not cfg.get('resume'):
        starts.append(('load_from', cfg.load_from))
    problems = []
    for key, path in starts:
        if '://' in path or osp.isfile(osp.expanduser(path)):
            continue
        hint = missing_checkpoint_hint(path)
        without = (
            f'--cfg-options {key.rsplit(".", 1)[0]}=None'
            if key.endswith('.checkpoint')
            else f'--cfg-options {key}=None'
        )
        problems.append(
            f'{key} = {path} does not exist (relative to {os.getcwd()}).\n'
            + (f'{hint}\n' if hint else '')
            + f'To train without it (from scratch): {without}'
        )
    if problems:
        raise SystemExit(f'{cfg.filename}: cannot start training:\n' + '\n'.join(problems))


def dataset_folders(node):
    """The folders a dataset config reads (``data_root`` and each
    ``data_prefix`` under it), nested datasets included."""
    folders = []
    if isinstance(node, dict):
        root = node.get('data_root') or ''
        if isinstance(root, str) and root:
            folders.append(root)
        prefix = node.get('data_prefix') or {}
        for value in prefix.values() if isinstance(prefix, dict) else [prefix]:
            if isinstance(value, str) and value:
                folders.append(osp.join(root, value))
        for value in node.values():
            if isinstance(value, (dict, list, tuple)):
                folders += dataset_folders(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            folders += dataset_folders(value)
    return folders


def check_test_out(cfg, args):
    """``--out`` may not be the config, the checkpoint, or a folder of the test
    dataset (mmseg writes predicted label maps named like the ground truth's
    into it): :class:`mmwrn.utils.outputs.OutputError`."""
    from mmwrn.utils.outputs import OutputError, same_file

    for path in (cfg.filename, args.checkpoint):
        if same_file(args.out, path):
            raise OutputError(
                f'--out {args.out} is the input {path}: refusing to overwrite '
                'an input; give another output path'
            )
    for folder in dataset_folders(cfg.get('test_dataloader', {}).get('dataset', {})):
        if same_file(args.out, folder):
            raise OutputError(
                f"--out {args.out} is the test dataset's folder {folder}: the "
                'predictions would overwrite its files; give another folder'
            )


def _setup_test(cfg, args, host):
    if args.show or args.show_dir:
        hooks = cfg.get('default_hooks', {})
        if 'visualization' not in hooks:
            raise RuntimeError(
                f'{cfg.filename}: --show/--show-dir need a visualization hook in default_hooks'
            )
        vis = hooks['visualization']
        if host == 'mmseg':
            vis.update(draw=True, interval=1)
            if args.show_dir:
                cfg.visualizer['save_dir'] = args.show_dir
        else:
            vis.update(enable=True, interval=1)
            if args.show_dir:
                vis['out_dir'] = args.show_dir
        if args.show:
            vis.update(show=True, wait_time=args.wait_time)
    if args.out:
        check_test_out(cfg, args)
        if host == 'mmseg':
            cfg.test_evaluator['output_dir'] = args.out
            cfg.test_evaluator['keep_results'] = True
        else:
            evaluators = cfg.test_evaluator
            evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
            cfg.test_evaluator = evaluators + [dict(type='DumpResults', out_file_path=args.out)]
    if args.tta:
        if 'tta_pipeline' not in cfg:
            raise RuntimeError(f'{cfg.filename} has no tta_pipeline for --tta')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        if host == 'mmseg':
            cfg.tta_model.module = cfg.model
            cfg.model = cfg.tta_model
        else:
            cfg.model = dict(type='AverageClsScoreTTA', module=cfg.model)
