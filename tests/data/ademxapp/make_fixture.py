"""Makes the ademxapp conversion fixtures with the real MXNet (1.9.1, in its own
environment: numpy<1.24). Not run by the tests; its outputs are committed.

    python -m venv /tmp/mxenv && /tmp/mxenv/bin/pip install "numpy<1.24" mxnet==1.9.1
    /tmp/mxenv/bin/python tests/data/ademxapp/make_fixture.py

Writes, next to this file, reduced-width networks in ademxapp's parameter naming
(conv1a; res/bn{L}{a,b1,b2,...}_branch2a/2b1/2b2 and _branch1; bn7; linear{C};
conv6a) saved with MXNet's own ``nd.save``, and MXNet's outputs on ``input.npy``:

* rna-a1_cls10.params   Model A1 classifier          -> rna-a1_cls10_out.npy (logits)
* rna-a_cls10.params    Model A, max-pool pad 0       -> rna-a_cls10_out.npy
* rna-a1_cls5.params    A1 segmenter, "2 conv." head  -> rna-a1_cls5_s8_out.npy (stride 8),
                                                         rna-a1_cls5_s16_out.npy (stride 16)
"""

import os.path as osp

import mxnet as mx
import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
EPS = 1.001e-5  # what MXNet's cuDNN BN used for ademxapp's eps=1e-5
STEM = 8
UNITS = (1, 3, 1, 2, 1, 1)  # B3 has units a, b1, b2; B5 a, b1
CHANNELS = ((8, 8), (8, 8), (16, 16), (16, 32), (16, 32, 64), (32, 64, 128))
BRANCHES = ('branch2a', 'branch2b1', 'branch2b2')


def bn_relu(x, name):
    x = mx.sym.BatchNorm(x, name=name, eps=EPS, fix_gamma=False, use_global_stats=True)
    return mx.sym.Activation(x, act_type='relu')


def conv(x, name, ch, k, stride=1, dilate=1, bias=False):
    dilate = 1 if k == 1 else dilate
    pad = dilate * (k - 1) // 2
    return mx.sym.Convolution(
        x,
        name=name,
        num_filter=ch,
        kernel=(k, k),
        stride=(stride,) * 2,
        dilate=(dilate,) * 2,
        pad=(pad,) * 2,
        no_bias=not bias,
    )


def unit(x, level, uid, channels, stride, dilations, project):
    kernels = (3, 3) if len(channels) == 2 else (1, 3, 1)
    pre = bn_relu(x, f'bn{level}{uid}_branch2a')
    out = conv(pre, f'res{level}{uid}_branch2a', channels[0], kernels[0], stride, dilations[0])
    for i in range(1, len(channels)):
        out = bn_relu(out, f'bn{level}{uid}_{BRANCHES[i]}')
        out = conv(out, f'res{level}{uid}_{BRANCHES[i]}', channels[i], kernels[i], 1, dilations[i])
    short = conv(pre, f'res{level}{uid}_branch1', channels[-1], 1, stride) if project else x
    return out + short


def features(variant, output_stride):
    """ademxapp's rna_feat: 'a' pools before B2-B6 (pad 0, the released Model A),
    'a1' strides the first unit of B2-B6. A de-strided level's first unit keeps the
    previous dilation on its first conv; the later convs use the new one."""
    destrided = {32: (), 16: (6,), 8: (5, 6)}[output_stride]
    x = conv(mx.sym.Variable('data'), 'conv1a', STEM, 3)
    dilation, ch_in = 1, STEM
    for level, n, channels in zip(range(2, 8), UNITS, CHANNELS):
        downsamples = level <= 6
        new = dilation * 2 if level in destrided else dilation
        if variant == 'a' and downsamples:
            assert level not in destrided
            x = mx.sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(0, 0), pool_type='max')
        for u in range(n):
            uid = 'a' if u == 0 else f'b{u}'
            first = variant == 'a1' and downsamples and u == 0
            stride = 2 if first and level not in destrided else 1
            dils = [new] * len(channels)
            if first and level in destrided:
                dils[0] = dilation
            x = unit(
                x, level, uid, channels, stride, dils, project=ch_in != channels[-1] or stride > 1
            )
            ch_in = channels[-1]
        dilation = new
    return bn_relu(x, 'bn7')


def classifier(variant, classes):
    pooled = mx.sym.Pooling(features(variant, 32), kernel=(1, 1), global_pool=True, pool_type='avg')
    return mx.sym.FullyConnected(
        mx.sym.flatten(pooled), name=f'linear{classes}', num_hidden=classes
    )


def segmenter(output_stride, classes):
    x = conv(features('a1', output_stride), 'conv6a', 32, 3, dilate=12, bias=True)
    x = mx.sym.Activation(x, act_type='relu')
    return conv(x, f'linear{classes}', classes, 3, dilate=12, bias=True)


def random_params(sym, data_shape, rng):
    arg_shapes, _, aux_shapes = sym.infer_shape(data=data_shape)
    params = {}
    for name, shape in zip(sym.list_arguments(), arg_shapes):
        if name == 'data':
            continue
        if name.endswith('_gamma'):
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith('_beta') or name.endswith('_bias'):
            value = rng.normal(0, 0.1, shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            value = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
        params['arg:' + name] = mx.nd.array(value.astype(np.float32))
    for name, shape in zip(sym.list_auxiliary_states(), aux_shapes):
        value = (
            rng.normal(0, 0.1, shape)
            if name.endswith('_moving_mean')
            else rng.uniform(0.5, 1.5, shape)
        )
        params['aux:' + name] = mx.nd.array(value.astype(np.float32))
    return params


def forward(sym, params, data):
    args = {k[4:]: v for k, v in params.items() if k.startswith('arg:')}
    aux = {k[4:]: v for k, v in params.items() if k.startswith('aux:')}
    args['data'] = mx.nd.array(data)
    exe = sym.bind(mx.cpu(), args=args, aux_states=aux, grad_req='null')
    return exe.forward(is_train=False)[0].asnumpy()


def main():
    rng = np.random.RandomState(0)
    data = rng.uniform(-2, 2, (2, 3, 64, 64)).astype(np.float32)
    np.save(osp.join(HERE, 'input.npy'), data)
    for variant in ('a1', 'a'):
        sym = classifier(variant, 10)
        params = random_params(sym, data.shape, rng)
        mx.nd.save(osp.join(HERE, f'rna-{variant}_cls10.params'), params)
        np.save(osp.join(HERE, f'rna-{variant}_cls10_out.npy'), forward(sym, params, data))
    params = random_params(segmenter(8, 5), data.shape, rng)
    mx.nd.save(osp.join(HERE, 'rna-a1_cls5.params'), params)
    for output_stride in (8, 16):
        out = forward(segmenter(output_stride, 5), params, data)
        np.save(osp.join(HERE, f'rna-a1_cls5_s{output_stride}_out.npy'), out)
        print(f'segmenter stride {output_stride}: output {out.shape}')


if __name__ == '__main__':
    main()
