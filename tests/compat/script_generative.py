"""Tutorial-style generative models: a tiny DCGAN and a tiny VAE. Noise comes from NumPy
(not the library's generator) so ember and PyTorch see the same draws."""
import numpy as np

from compat_harness import as_tensor, numpy_init


def dcgan(torch, steps):
    """DCGAN on 8x8 images of a bright square: ConvTranspose2d generator with BatchNorm,
    strided-conv discriminator with LeakyReLU, BCEWithLogitsLoss, Adam(betas=(0.5, 0.999))."""
    nn = torch.nn
    rng = np.random.default_rng(10)
    nz, batch = 8, 16
    real = np.full((batch, 1, 8, 8), -1.0, np.float32)
    real[:, :, 2:6, 2:6] = 1.0
    real += 0.05 * rng.standard_normal(real.shape).astype(np.float32)
    real = as_tensor(torch, real)
    generator = numpy_init(torch, nn.Sequential(
        nn.ConvTranspose2d(nz, 16, 4, 1, 0, bias=False), nn.BatchNorm2d(16), nn.ReLU(True),
        nn.ConvTranspose2d(16, 1, 4, 2, 1, bias=False), nn.Tanh()), 10)
    discriminator = numpy_init(torch, nn.Sequential(
        nn.Conv2d(1, 16, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(16, 1, 4, 1, 0, bias=False), nn.Flatten()), 11)
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    d_losses, g_losses = [], []
    for _ in range(steps):
        noise = as_tensor(torch, rng.standard_normal((batch, nz, 1, 1)))
        fake = generator(noise)
        # Discriminator: real -> 1, fake -> 0; the fake is detached so G gets no gradient.
        opt_d.zero_grad()
        d_loss = criterion(discriminator(real), ones) + criterion(discriminator(fake.detach()), zeros)
        d_loss.backward()
        opt_d.step()
        # Generator: make D call the fakes real.
        opt_g.zero_grad()
        g_loss = criterion(discriminator(fake), ones)
        g_loss.backward()
        opt_g.step()
        d_losses.append(d_loss.item())
        g_losses.append(g_loss.item())
    return {"losses": d_losses, "g_losses": g_losses, "fake_shape": tuple(fake.shape)}


def vae(torch, steps):
    """VAE on 16-pixel binary patterns: encoder to (mu, logvar), reparameterization with
    NumPy-drawn eps, sigmoid decoder, BCE reconstruction + KL divergence, Adam."""
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(11)
    prototypes = rng.uniform(0, 1, (4, 16)) > 0.5
    data = as_tensor(torch, prototypes[rng.integers(0, 4, 64)].astype(np.float32))

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(16, 32)
            self.mu = nn.Linear(32, 2)
            self.logvar = nn.Linear(32, 2)
            self.dec = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 16))

        def forward(self, x, eps):
            h = F.relu(self.enc(x))
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + eps * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.dec(z)), mu, logvar

    model = numpy_init(torch, VAE(), 12)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        eps = as_tensor(torch, rng.standard_normal((64, 2)))
        optimizer.zero_grad()
        recon, mu, logvar = model(data, eps)
        bce = F.binary_cross_entropy(recon, data, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (bce + kld) / data.shape[0]
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"losses": losses, "recon_shape": tuple(recon.shape), "mu_shape": tuple(mu.shape)}
