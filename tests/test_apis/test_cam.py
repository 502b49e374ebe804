"""mmwrn.apis.cam: CAMs of a converted PSA classifier equal PSA's (its
forward_cam and infer_cls.py aggregation, re-implemented in tests/helpers/psa.py)
on random weights; CAM files are atomic and a run resumes; bad models and
checkpoints are refused with the reason."""

import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmwrn.apis import SCALE_SETS, CAMError, image_cams, init_cam_model, load_cams, run_cams
from mmwrn.apis import cam as cam_api
from tests.helpers import psa as P
from tests.helpers import source_networks as R
from tests.helpers.conversion_matrix import _tool, single_thread, tiny_config
from tests.helpers.seg import ROOT

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them

WSSS = osp.join(ROOT, 'configs', 'wider_resnet_wsss')
PSA_CAM = osp.join(WSSS, 'wider-resnet38-a1-d8-cam_3rdparty-psa_2xb8-15e_voc12aug-448x448.py')
# normalised CAMs lie in [0, 1): absolute tolerance. PSA normalises in float64 then float32,
# mmwrn in float32, and sums the scales in another order: ~1e-7 apart in practice
TOL = 1e-5


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


@pytest.fixture(scope='module')
def psa_model(tmp_path_factory):
    """A random PSA res38_cls.pth (reduced widths), converted by port2mmwrn
    into the 3rdparty-psa CAM config, loaded by init_cam_model."""
    tmp = tmp_path_factory.mktemp('psa')
    sd = R.psa_state(R.Random(11))
    src, out = str(tmp / 'res38_cls.pth'), str(tmp / 'cam.pth')
    torch.save(sd, src)
    cfg = tiny_config(PSA_CAM)
    _tool('port2mmwrn').convert(src, out, cfg)
    return sd, cfg, out, init_cam_model(cfg, out)


def random_image(seed, size=(37, 29)):
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)


@pytest.mark.parametrize('scales', ['psa', 'seam'])
def test_cams_equal_psa(psa_model, scales):
    sd, _, ckpt, model = psa_model
    assert torch.equal(
        torch.load(ckpt, weights_only=True)['state_dict']['head.fc8.weight'], sd['fc8.weight']
    )
    img = random_image(1)
    label = np.zeros(20, np.float32)
    label[[2, 7, 19]] = 1
    ref = P.psa_infer_cams(sd, Image.fromarray(img), label, SCALE_SETS[scales])
    cams = image_cams(model, img, [2, 7, 19], SCALE_SETS[scales])
    assert cams.shape == (3, 29, 37) and cams.dtype == np.float32
    worst = max(np.abs(cams[i] - ref[c]).max() for i, c in enumerate((2, 7, 19)))
    assert worst <= TOL, worst
    assert all(ref[c].max() > 0.9 for c in (2, 7, 19))  # not trivially zero
    # and the label map of infer_cls.py --out_cam_pred
    from mmwrn.evaluation import cams_to_label

    assert np.array_equal(cams_to_label(cams, [2, 7, 19], 0.2), P.psa_cam_pred(ref, 0.2))


def test_model_forward_is_psa_forward(psa_model):
    sd, _, _, model = psa_model
    x = torch.randn(2, 3, 40, 48, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        cams = model.head.cams(model.extract_feat(x))
        logits = model(x, mode='tensor')
    ref = P.psa_forward_cam(sd, x)
    assert R.rel_diff(cams, ref) <= 1e-5
    # PSA's forward: GAP then fc8 (no dropout in eval) = mean of the pre-ReLU CAM
    pre = torch.nn.functional.conv2d(R.psa_forward(sd, x)[6], sd['fc8.weight'])
    assert R.rel_diff(logits, pre.mean((2, 3))) <= 1e-5


def test_run_resumes_and_never_leaves_partial_files(psa_model, tmp_path, monkeypatch):
    _, _, _, model = psa_model
    items = []
    for i in range(3):
        path = str(tmp_path / f'img{i}.jpg')
        Image.fromarray(random_image(i, (24, 20))).save(path)
        items.append((f'img{i}', path, [i, 5]))
    out = str(tmp_path / 'cams')
    real = cam_api.save_cams
    calls = []

    def dies_on_second(path, labels, cams):
        calls.append(path)
        if len(calls) == 2:  # killed while writing the second file
            cam_api.save_atomic(path, lambda f: (f.write(b'partial'), 1 / 0))
        real(path, labels, cams)

    monkeypatch.setattr(cam_api, 'save_cams', dies_on_second)
    with pytest.raises(ZeroDivisionError):
        run_cams(model, items, out, scales=(1.0,), progress=False)
    assert sorted(os.listdir(out)) == ['img0.npz']  # no partial or temporary file
    monkeypatch.setattr(cam_api, 'save_cams', real)
    open(osp.join(out, 'img1.npz' + cam_api.TMP_TAG + '999'), 'wb').close()  # a killed run's
    stats = run_cams(model, items, out, scales=(1.0,), progress=False)
    assert (stats['skipped'], stats['done']) == (1, 2)
    assert sorted(os.listdir(out)) == ['img0.npz', 'img1.npz', 'img2.npz']
    labels, cams = load_cams(osp.join(out, 'img2.npz'))
    assert labels.tolist() == [2, 5] and cams.shape == (2, 20, 24)
    np.testing.assert_allclose(
        cams, image_cams(model, cam_api.read_rgb(items[2][1]), [2, 5], (1.0,)), atol=1e-6
    )
    assert run_cams(model, items, out, progress=False)['done'] == 0


def test_refuses_models_and_checkpoints_without_a_cam_classifier(psa_model, tmp_path):
    _, cfg, ckpt, _ = psa_model
    other = tiny_config(
        osp.join(ROOT, 'configs', 'wider_resnet_cls', 'wider-resnet38-a1_4xb64_in1k.py')
    )
    with pytest.raises(CAMError, match='LinearClsHead computes no CAMs'):
        init_cam_model(other, None)
    state = torch.load(ckpt, weights_only=True)
    del state['state_dict']['head.fc8.weight']
    torch.save(state, str(tmp_path / 'backbone.pth'))
    with pytest.raises(CAMError, match=r'has no CAM classifier \(head.fc8.weight\)'):
        init_cam_model(cfg, str(tmp_path / 'backbone.pth'))
    with pytest.raises(CAMError, match='does not exist'):
        init_cam_model(cfg, str(tmp_path / 'nope.pth'))
