"""The generative examples (examples/vae.py, examples/dcgan.py): each --smoke run writes its
checkpoint and PNGs with finite losses, and the pieces the figures rest on (the VAE's KL term and
reparameterization, the Inception-Score-like score, the DCGAN's shapes) are checked directly."""
import math
import os

import numpy as np
import pytest

import ember
from example_modules import assert_png, load_example


pytest.importorskip("PIL")
pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def vae():
    return load_example("vae")


@pytest.fixture(scope="module")
def dcgan():
    return load_example("dcgan")


def test_vae_smoke_run_writes_checkpoint_grids_and_latent_map(vae, tmp_path):
    result = vae.main(["--smoke", "--latent", "2", "--out", str(tmp_path)])
    history = result["history"]
    assert len(history) == 2
    for key in ("loss", "recon", "kl", "val_loss", "val_recon", "val_kl"):
        assert all(math.isfinite(v) for v in history[key]), key
    # the logged -ELBO is its two terms' sum
    assert history["val_loss"][-1] == pytest.approx(history["val_recon"][-1] + history["val_kl"][-1], rel=1e-6)
    names = {os.path.basename(p) for p in result["pngs"]}
    assert names == {"vae_curves.png", "vae_reconstruction_02.png", "vae_samples_02.png", "vae_latent_map.png"}
    for path in result["pngs"]:
        assert_png(path)
    state = ember.load(result["checkpoint"])
    model = vae.VAE(latent=2)
    model.load_state_dict(state["model"])


def test_vae_kl_matches_closed_form_and_distributions_kl(vae):
    mu = ember.tensor([[0.5, -1.0, 0.0], [2.0, 0.3, -0.7]], dtype=ember.float64)
    logvar = ember.tensor([[0.0, 0.4, -1.2], [-0.3, 1.0, 0.2]], dtype=ember.float64)
    var = np.exp(logvar.numpy())
    # KL(N(m, v) || N(0, 1)) = (v + m^2 - 1 - ln v) / 2 per dimension
    expected = 0.5 * (var + mu.numpy() ** 2 - 1 - logvar.numpy()).sum()
    assert vae.kl_divergence(mu, logvar).item() == pytest.approx(expected, rel=1e-12)
    q = ember.distributions.Normal(mu, (0.5 * logvar).exp())
    p = ember.distributions.Normal(ember.zeros_like(mu), ember.ones_like(mu))
    assert vae.kl_divergence(mu, logvar).item() == pytest.approx(
        ember.distributions.kl_divergence(q, p).sum().item(), rel=1e-12)


def test_vae_reparameterized_sample_passes_gradient_to_mu_and_logvar(vae):
    ember.manual_seed(0)
    model = vae.VAE(hidden=16, latent=3)
    x = ember.rand(5, 1, 28, 28)
    mu, logvar = model.encode(x)
    mu.retain_grad()
    logvar.retain_grad()
    z = ember.distributions.Normal(mu, (0.5 * logvar).exp()).rsample()
    z.pow(2).sum().backward()
    # d/dmu sum z^2 = 2z; d/dlogvar = 2z * eps * sigma / 2 = z * (z - mu)
    np.testing.assert_allclose(mu.grad.numpy(), 2 * z.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logvar.grad.numpy(), (z * (z - mu)).detach().numpy(), rtol=1e-4, atol=1e-6)
    assert model.forward(x)[0].shape == (5, 784)


def test_vae_elbo_decreases_on_a_tiny_batch(vae):
    ember.manual_seed(0)
    model = vae.VAE(hidden=32, latent=4)
    x = (ember.rand(16, 1, 28, 28) > 0.7).float()
    optimizer = ember.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        recon, kl = vae.neg_elbo(*model(x), x)
        loss = (recon + kl) / len(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    # 784 ln 2 = 543 nats at the start; a model that knew only the pixels' rate of 0.3 would
    # need 784 H(0.3) = 479 nats: below that, the decoder has learnt these images
    assert losses[-1] < 784 * -(0.3 * math.log(0.3) + 0.7 * math.log(0.7)), losses


def test_inception_score_on_hand_made_probabilities(dcgan):
    uniform = ember.full((30, 10), 0.1)
    assert dcgan.inception_score(uniform) == pytest.approx(1.0, abs=1e-6)
    one_hot = ember.eye(10).repeat(3, 1)  # confident, each class 3 times
    assert dcgan.inception_score(one_hot) == pytest.approx(10.0, rel=1e-6)
    collapsed = ember.eye(10)[[4] * 30]  # confident, but always the same digit
    assert dcgan.inception_score(collapsed) == pytest.approx(1.0, abs=1e-6)
    two_classes = ember.tensor([[0.9, 0.1], [0.1, 0.9]])  # exp(KL(0.9, 0.1 || 0.5, 0.5))
    kl = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert dcgan.inception_score(two_classes) == pytest.approx(math.exp(kl), rel=1e-6)


def test_dcgan_shapes(dcgan):
    netG, netD = dcgan.Generator(nz=8, ngf=4), dcgan.Discriminator(ndf=4)
    images = netG(ember.randn(3, 8))
    assert images.shape == (3, 1, 28, 28)
    assert images.min().item() >= -1 and images.max().item() <= 1
    assert netD(images).shape == (3,)


def test_dcgan_smoke_run_writes_checkpoint_curves_and_samples(dcgan, tmp_path):
    result = dcgan.main(["--smoke", "--ngf", "8", "--ndf", "8", "--out", str(tmp_path)])
    history = result["history"]
    assert len(history) >= 2
    for key in ("loss_D", "loss_G"):
        assert all(math.isfinite(v) for v in history[key]), key
    for figures in (result["generated"], result["real"]):
        assert 0.1 - 1e-6 <= figures["confidence"] <= 1 and 1 - 1e-6 <= figures["inception_score"] <= 10 + 1e-6
    assert {os.path.basename(p) for p in result["pngs"]} == {"dcgan_curves.png", "dcgan_samples_01.png"}
    for path in result["pngs"]:
        assert_png(path)
    state = ember.load(result["checkpoint"])
    netG = dcgan.Generator(ngf=8)
    netG.load_state_dict(state["generator"])
    # the saved classifier loads back for --classifier
    dcgan.main(["--smoke", "--ngf", "8", "--ndf", "8", "--out", str(tmp_path / "again"),
                "--classifier", str(tmp_path / "dcgan_lenet5.ember")])
    assert not (tmp_path / "again" / "dcgan_lenet5.ember").exists()
