"""Seed 003's recipe (the Growing-NCA PyTorch tutorial) timed per iteration, for `nca bench`'s comparison.

The model, the circle target, the pool training loop (batch 4, pool 256, steps randint(64, 96), Adam 2e-3,
clip 1, worst sample reseeded) copied from the tutorial; only the timing around each iteration is added.
Run with the reference venv: /tmp/torchenv/bin/python bench/grow/pytorch-grow.py [iterations] [threads]
(PyTorch 2.13 CPU: 1.13 cannot be installed on this machine). Prints one JSON line per iteration and a summary.
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 10
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(threads)
torch.manual_seed(42)
NUM_CHANNELS = 16


def create_seed(size, num_channels=NUM_CHANNELS):
    state = torch.zeros(1, num_channels, size, size)
    state[0, 3, size // 2, size // 2] = 1.0
    return state


def get_visible_state(state):
    return torch.clamp(state[:, :4, :, :], 0, 1)


class PerceptionModule(nn.Module):
    def __init__(self, num_channels=NUM_CHANNELS):
        super().__init__()
        sobel_x = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float32) / 8.0
        sobel_y = torch.tensor([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=torch.float32) / 8.0
        identity = torch.tensor([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=torch.float32)
        filters = torch.stack([identity, sobel_x, sobel_y])
        self.filters = nn.Parameter(filters.repeat(num_channels, 1, 1).view(-1, 1, 3, 3), requires_grad=False)
        self.num_channels = num_channels

    def forward(self, x):
        return F.conv2d(x, self.filters, padding=1, groups=self.num_channels)


class NeuralCA(nn.Module):
    def __init__(self, num_channels=NUM_CHANNELS, hidden_dim=128):
        super().__init__()
        self.perception = PerceptionModule(num_channels)
        self.update_net = nn.Sequential(nn.Conv2d(num_channels * 3, hidden_dim, 1), nn.ReLU(), nn.Conv2d(hidden_dim, num_channels, 1))
        nn.init.zeros_(self.update_net[-1].weight)
        nn.init.zeros_(self.update_net[-1].bias)

    def get_alive_mask(self, state, threshold=0.1):
        return (F.max_pool2d(state[:, 3:4, :, :], 3, stride=1, padding=1) > threshold).float()

    def forward(self, state, update_rate=0.5):
        pre_alive = self.get_alive_mask(state)
        delta = self.update_net(self.perception(state))
        update_mask = (torch.rand_like(state[:, :1, :, :]) < update_rate).float() if self.training else 1.0
        state = state + delta * update_mask
        return state * (pre_alive * self.get_alive_mask(state))


def create_target_circle(size=64):
    target = torch.zeros(1, 4, size, size)
    center = size // 2
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    mask = torch.sqrt((x.float() - center) ** 2 + (y.float() - center) ** 2) < size * 0.35
    target[0, 0][mask] = 1.0
    target[0, 1][mask] = 0.5
    target[0, 3][mask] = 1.0
    return target


model = NeuralCA()
target = create_target_circle(64)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
pool_size, batch_size, size = 256, 4, 64
pool = create_seed(size).repeat(pool_size, 1, 1, 1)
times = []
for epoch in range(iterations):
    t0 = time.perf_counter()
    batch_indices = torch.randint(0, pool_size, (batch_size,))
    batch = pool[batch_indices].clone()
    num_steps = torch.randint(64, 96, (1,)).item()
    for _ in range(num_steps):
        batch = model(batch)
    visible = get_visible_state(batch)
    loss = F.mse_loss(visible, target.expand(batch_size, -1, -1, -1))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    with torch.no_grad():
        pool[batch_indices] = batch.detach()
        batch_losses = F.mse_loss(visible, target.expand(batch_size, -1, -1, -1), reduction='none').mean(dim=(1, 2, 3))
        pool[batch_indices[batch_losses.argmax()]] = create_seed(size).squeeze(0)
    dt = time.perf_counter() - t0
    times.append(dt)
    print(json.dumps({"iteration": epoch, "steps": num_steps, "loss": loss.item(), "seconds": dt, "per_step_ms": 1000 * dt / num_steps}), flush=True)
per_step = sorted(1000 * t / 1 for t in times)
print(json.dumps({"torch": torch.__version__, "threads": threads, "iterations": iterations, "median_seconds": sorted(times)[len(times) // 2], "load": os.getloadavg()}), flush=True)
