"""A hook for the distributed tests: each rank writes its training losses."""

import json
import os.path as osp

import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class LossRecorderHook(Hook):
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))

    def after_train(self, runner):
        rank = dist.get_rank() if dist.is_initialized() else 0
        with open(osp.join(self.out_dir, f'losses_rank{rank}.json'), 'w') as f:
            json.dump(self.losses, f)
