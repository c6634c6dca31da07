"""
The PyTorch reference for issue 12: one training iteration of the shipped recipe, the same work as
src/core/model/train.ts, in PyTorch on the CPU. Not a dependency of nca; run it by hand:

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl   # a local wheel
    /tmp/torchenv/bin/python bench/train-route/pytorch-iteration.py [--quick] [--threads=1,2] [--grouped]

What one iteration does (batch 8, 32 x 32, frame protocol, persistence on):
  encoder (3 x conv3x3 s2 p1 + BatchNorm on batch statistics + LeakyReLU 0.2, fc_mu, fc_logvar) on the 4 context frames;
  z = mu + exp(logvar / 2) eps; params = hypernetwork(z) (64 -> 256 LN ReLU -> 256 LN ReLU -> 4640, x scale);
  NCA rollout, 21 steps from frame 3, frame protocol (RGB carried, 13 hidden channels of fresh noise each step,
  circular 3x3 convs with per-sample weights as one grouped conv, scheduled-sampling masks), MSE against the targets;
  KL (beta 1e-4); first-frame decoder (fc + 3 ConvTranspose2d k4 s2 p1) MSE on RGB against frame 3;
  the pool: hypernetwork on 8 more latents, 16-step free rollout, a persistence loss (std, drift and colour hinges:
  simpler than persistence.ts's, the same size of work) with weight 0.05;
  backward, clip_grad_norm_(1), Adam(lr 1e-3, 0.9, 0.999, 1e-8); BatchNorm running statistics (PyTorch's own).
Also times the networks alone (forward + backward with a stand-in gradient for the rollout: as bench/train-route.mjs's
"whole networks graph") and the rollouts alone, so the split can be set beside nca's.
Prints medians (and minimum) of the repetitions after warm-up, for 1 and 2 threads, with the load average.
"""
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

QUICK = "--quick" in sys.argv
REPS, WARM = (5, 1) if QUICK else (11, 3)
B, P, H, W, T, TP, C = 8, 8, 32, 32, 21, 16, 16
LAT, HID, PARAMS = 64, 256, 4640


def load():
    return os.getloadavg()[0]


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        ch = [12, 32, 64, 128]
        self.convs = nn.ModuleList([nn.Conv2d(ch[i], ch[i + 1], 3, 2, 1) for i in range(3)])
        self.bns = nn.ModuleList([nn.BatchNorm2d(ch[i + 1]) for i in range(3)])
        self.fc_mu = nn.Linear(2048, LAT)
        self.fc_logvar = nn.Linear(2048, LAT)

    def forward(self, x):
        for conv, bn in zip(self.convs, self.bns):
            x = F.leaky_relu(bn(conv(x)), 0.2)
        x = x.flatten(1)
        return self.fc_mu(x), self.fc_logvar(x)


class Hyper(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.ln1 = nn.Linear(LAT, HID), nn.LayerNorm(HID)
        self.fc2, self.ln2 = nn.Linear(HID, HID), nn.LayerNorm(HID)
        self.fc3 = nn.Linear(HID, PARAMS)
        nn.init.normal_(self.fc3.weight, 0, 0.02)
        nn.init.zeros_(self.fc3.bias)
        self.scale = nn.Parameter(torch.tensor(0.1))

    def forward(self, z):
        h = F.relu(self.ln1(self.fc1(z)))
        h = F.relu(self.ln2(self.fc2(h)))
        return self.fc3(h) * self.scale


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(LAT, 2048)
        ch = [128, 64, 32, C]
        self.deconvs = nn.ModuleList([nn.ConvTranspose2d(ch[i], ch[i + 1], 4, 2, 1) for i in range(3)])

    def forward(self, z):
        x = self.fc(z).view(-1, 128, 4, 4)
        for i, d in enumerate(self.deconvs):
            x = d(x)
            if i < 2:
                x = F.relu(x)
        return torch.cat([torch.sigmoid(x[:, :3]), torch.tanh(x[:, 3:]) * 0.1], 1)


GROUPED = "--grouped" in sys.argv
THREADS = [int(t) for t in next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--threads=")), "1,2").split(",")]


def rollout(params, rgb0, noise, targets, masks, steps):
    return rollout_grouped(params, rgb0, noise, targets, masks, steps) if GROUPED else rollout_unfold(params, rgb0, noise, targets, masks, steps)


def circular_columns(x):
    """[N][C][H][W] -> [N][9C][HW]: the 3x3 circular neighbourhood of every cell (F.unfold on a wrap-padded grid)."""
    return F.unfold(F.pad(x, (1, 1, 1, 1), mode="circular"), 3)


def rollout_unfold(params, rgb0, noise, targets, masks, steps):
    """The same as rollout_grouped, each per-sample conv as unfold + bmm (faster on PyTorch's CPU backend)."""
    n = params.shape[0]
    w1 = params[:, :2304].reshape(n, C, C * 9)
    b1 = params[:, 2304:2320].reshape(n, C, 1)
    w2 = params[:, 2320:4624].reshape(n, C, C * 9)[:, :3]
    b2 = params[:, 4624:4640][:, :3].reshape(n, 3, 1)
    r = rgb0
    preds = []
    for t in range(steps):
        if t >= 1:
            m = masks[t - 1].view(n, 1, 1, 1)
            r = m * preds[-1] + (1 - m) * targets[t - 1]
        s = torch.cat([r, noise[t]], 1)
        h = F.relu(torch.bmm(w1, circular_columns(s)) + b1).view(n, C, H, W)
        d = (torch.bmm(w2, circular_columns(h)) + b2).view(n, 3, H, W)
        preds.append(torch.sigmoid(r + d))
    return torch.stack(preds)


def rollout_grouped(params, rgb0, noise, targets, masks, steps):
    """Frame protocol, one step per frame; params [N][4640] (w1, b1, w2, b2); returns pred [T][N][3][H][W]."""
    n = params.shape[0]
    w1 = params[:, :2304].reshape(n * C, C, 3, 3)
    b1 = params[:, 2304:2320].reshape(1, n * C, 1, 1)
    w2 = params[:, 2320:4624].reshape(n, C, C, 3, 3)[:, :3].reshape(n * 3, C, 3, 3)
    b2 = params[:, 4624:4640][:, :3].reshape(1, n * 3, 1, 1)
    r = rgb0
    preds = []
    for t in range(steps):
        if t >= 1:
            m = masks[t - 1].view(n, 1, 1, 1)
            r = m * preds[-1] + (1 - m) * targets[t - 1]
        s = torch.cat([r, noise[t]], 1).reshape(1, n * C, H, W)
        h = F.relu(F.conv2d(F.pad(s, (1, 1, 1, 1), mode="circular"), w1, groups=n) + b1)
        d = F.conv2d(F.pad(h, (1, 1, 1, 1), mode="circular"), w2, groups=n) + b2
        preds.append(torch.sigmoid(r + d.reshape(n, 3, H, W)))
    return torch.stack(preds)


def persistence(pred, style_target):
    """std floor, drift floor and colour hinges over the pool's frames (same size of work as persistence.ts)."""
    std = pred.flatten(3).std(-1)  # [T][P][3]
    l_std = F.relu(0.08 - std.mean(-1)).mean()
    half = pred.shape[0] // 2
    drift = (pred[:half].mean(0) - pred[half:].mean(0)).pow(2).mean((1, 2, 3)).sqrt()
    l_drift = F.relu(0.02 - drift).mean()
    means = pred.flatten(3).mean(-1)
    style = torch.cat([means, std], -1)  # [T][P][6]
    l_style = (style - style_target).pow(2).mean()
    dx = pred - torch.roll(pred, 1, -1)
    l_corr = F.relu(dx.pow(2).mean() - 0.01)
    return l_std + l_drift + 10 * l_style + l_corr


def main():
    torch.manual_seed(0)
    enc, hyp, dec = Encoder(), Hyper(), Decoder()
    params = [*enc.parameters(), *hyp.parameters(), *dec.parameters()]
    count = sum(p.numel() for p in params)
    opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    context = torch.rand(B, 12, H, W)
    start = torch.rand(B, 3, H, W)
    targets = torch.rand(T, B, 3, H, W)
    masks = (torch.rand(T - 1, B) < 0.25).float()
    pool_z = torch.randn(P, LAT)
    pool_rgb = torch.rand(P, 3, H, W)
    pool_masks = torch.ones(TP - 1, P)
    style_target = torch.rand(P, 6)
    g_params = torch.randn(B, PARAMS) * 1e-3
    g_pool = torch.randn(P, PARAMS) * 1e-3

    def iteration():
        eps = torch.randn(B, LAT)
        noise = torch.randn(T, B, 13, H, W) * 0.1
        pool_noise = torch.randn(TP, P, 13, H, W) * 0.1
        t0 = time.perf_counter()
        mu, logvar = enc(context)
        z = mu + torch.exp(0.5 * logvar) * eps
        p = hyp(z)
        pred = rollout(p, start, noise, targets, masks, T)
        l_roll = F.mse_loss(pred, targets)
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum() / B
        l_dec = F.mse_loss(dec(z)[:, :3], start)
        pp = hyp(pool_z)
        pool_pred = rollout(pp, pool_rgb, pool_noise, pool_pred_dummy, pool_masks, TP)
        loss = l_roll + 1e-4 * kl + l_dec + 0.05 * persistence(pool_pred, style_target)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        t3 = time.perf_counter()
        return {"total": t3 - t0, "forward": t1 - t0, "backward": t2 - t1, "optimizer": t3 - t2}

    pool_pred_dummy = torch.zeros(TP, P, 3, H, W)  # unused: the pool rollout feeds on its own frames

    def networks_only():
        eps = torch.randn(B, LAT)
        t0 = time.perf_counter()
        mu, logvar = enc(context)
        z = mu + torch.exp(0.5 * logvar) * eps
        loss = (hyp(z) * g_params).sum() + 1e-4 * (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum() / B
        loss = loss + F.mse_loss(dec(z)[:, :3], start) + 0.05 * (hyp(pool_z) * g_pool).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        return time.perf_counter() - t0

    def rollouts_only():
        p = (torch.rand(B, PARAMS) * 2 - 1) / 12
        p.requires_grad_(True)
        pp = (torch.rand(P, PARAMS) * 2 - 1) / 12
        pp.requires_grad_(True)
        noise = torch.randn(T, B, 13, H, W) * 0.1
        pool_noise = torch.randn(TP, P, 13, H, W) * 0.1
        t0 = time.perf_counter()
        loss = F.mse_loss(rollout(p, start, noise, targets, masks, T), targets)
        loss = loss + 0.05 * persistence(rollout(pp, pool_rgb, pool_noise, pool_pred_dummy, pool_masks, TP), style_target)
        loss.backward()
        return time.perf_counter() - t0

    def optimizer_only():
        for q in params:
            q.grad = torch.randn_like(q) * 1e-3
        t0 = time.perf_counter()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return time.perf_counter() - t0

    print(f"PyTorch {torch.__version__}, {count} trainable parameters, {REPS} repetitions after {WARM} warm-up")
    print(f"  {os.popen('uptime').read().strip()}")
    print(f"  rollout convolutions: {'grouped conv2d' if GROUPED else 'unfold + bmm'}")
    for threads in THREADS:
        torch.set_num_threads(threads)
        for _ in range(WARM):
            iteration()
        runs = [iteration() for _ in range(REPS)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        mins = {k: min(r[k] for r in runs) for k in runs[0]}
        la = load()
        nets = []
        for _ in range(WARM):
            networks_only()
        nets = [networks_only() for _ in range(REPS)]
        for _ in range(WARM):
            rollouts_only()
        rolls = [rollouts_only() for _ in range(REPS)]
        for _ in range(WARM):
            optimizer_only()
        opts = [optimizer_only() for _ in range(REPS)]
        print(f"  {threads} thread(s), load {la:.2f} -> {load():.2f}:")
        print(f"    iteration total          {1000 * med['total']:7.1f} ms (min {1000 * mins['total']:.1f})"
              f"  = forward {1000 * med['forward']:.1f} + backward {1000 * med['backward']:.1f} + clip/Adam {1000 * med['optimizer']:.1f}")
        print(f"    networks alone fwd+bwd   {1000 * statistics.median(nets):7.1f} ms (min {1000 * min(nets):.1f})")
        print(f"    rollouts alone fwd+bwd   {1000 * statistics.median(rolls):7.1f} ms (min {1000 * min(rolls):.1f})  (clip 21 + pool 16 steps, losses)")
        print(f"    clip + Adam alone        {1000 * statistics.median(opts):7.1f} ms (min {1000 * min(opts):.1f})")
    print(f"  {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
