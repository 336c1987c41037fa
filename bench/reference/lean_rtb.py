"""A lean PyTorch implementation of one 25 -> 9 RTB training iteration, the yardstick the kernels issue
compares tilt against (T = 100, batch 300, exact GMM25 prior drift, a 2-64-64-64-2 GELU network whose
33 Fourier time features are projected once per step, eager mode, one thread).

    /usr/bin/python3 bench/reference/lean_rtb.py [--iterations 20]

Prints milliseconds per iteration (rollout, scoring, Adam); tilt's bench_iteration on
configs/rtb/gmm25_to_gmm9.yaml is compared against it on the same machine. A benchmark only: tilt
never runs Python in training."""
import argparse
import math
import time

import torch

T, BATCH, SIGMA2, HIDDEN = 100, 300, 5.0, 64
DT = 1.0 / T


def grid25():
    means = torch.tensor([[a, b] for a in (-10.0, -5.0, 0.0, 5.0, 10.0) for b in (-10.0, -5.0, 0.0, 5.0, 10.0)])
    return means, torch.full((25,), math.log(1 / 25)), torch.full((25,), 0.3)


def gmm9():
    means = torch.tensor([[-10.0, -5.0], [-5.0, -10.0], [-5.0, 0.0], [10.0, -5.0], [0.0, 0.0], [0.0, 5.0],
                          [5.0, -5.0], [5.0, 0.0], [5.0, 10.0]])
    weights = torch.tensor([4.0, 10, 4, 5, 10, 5, 4, 15, 4]) / 61
    return means, weights.log(), torch.full((9,), 0.3)


def log_mixture(x, mixture):
    means, log_weights, variances = mixture
    d2 = ((x[:, None, :] - means[None]) ** 2).sum(-1)
    return torch.logsumexp(log_weights - 0.5 * d2 / variances - math.log(2 * math.pi) - variances.log(), -1)


def follmer_drift(x, t, mixture):
    means, log_weights, variances = mixture
    variance = t * t * variances + SIGMA2 * t * (1 - t)
    if t == 0:
        logits = log_weights.expand(x.shape[0], -1)
    else:
        d2 = ((x[:, None, :] - t * means[None]) ** 2).sum(-1)
        logits = log_weights - 0.5 * d2 / variance - variance.log()
    r = torch.softmax(logits, -1) / (t * variances + SIGMA2 * (1 - t))
    return SIGMA2 * r @ means + (r * (variances - SIGMA2)).sum(-1, keepdim=True) * x


class Network(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("frequencies", torch.arange(1, 17, dtype=torch.float32) * math.pi)
        self.time = torch.nn.Linear(33, HIDDEN)
        self.state = torch.nn.Linear(2, HIDDEN)
        self.hidden = torch.nn.ModuleList([torch.nn.Linear(HIDDEN, HIDDEN) for _ in range(2)])
        self.out = torch.nn.Linear(HIDDEN, 2)

    def time_embedding(self, t):  # t [K] -> [K, H]: once per step
        angle = t[:, None] * self.frequencies
        return self.time(torch.cat([t[:, None], angle.sin(), angle.cos()], -1))

    def forward(self, x, embedding):  # x [K, B, 2], embedding [K, H]
        h = torch.nn.functional.gelu(self.state(x) + embedding[:, None, :])
        for layer in self.hidden:
            h = torch.nn.functional.gelu(layer(h))
        return self.out(h)


def iteration(network, log_z, optimizer, prior, posterior):
    times = torch.arange(T, dtype=torch.float32) * DT
    with torch.no_grad():
        embedding = network.time_embedding(times)
        x = torch.zeros(BATCH, 2)
        states, prior_drifts = [x], []
        for i in range(T):
            prior_u = follmer_drift(x, float(times[i]), prior)
            u = network(x[None], embedding[i:i + 1])[0] + prior_u
            x = x + DT * u + math.sqrt(DT * SIGMA2) * torch.randn_like(x)
            states.append(x)
            prior_drifts.append(prior_u)
        states = torch.stack(states)
        prior_drifts = torch.stack(prior_drifts)
        log_r = (log_mixture(states[-1], posterior) - log_mixture(states[-1], prior)).clamp_min(-10)
    correction = network(states[:-1], network.time_embedding(times))
    residual = states[1:] - states[:-1] - DT * prior_drifts
    log_ratio = ((correction * residual).sum(-1) - 0.5 * DT * (correction ** 2).sum(-1)) / SIGMA2
    loss = 0.5 * ((log_z + log_ratio.sum(0) - log_r) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    network, log_z = Network(), torch.zeros((), requires_grad=True)
    optimizer = torch.optim.Adam([{"params": network.parameters(), "lr": 1e-3}, {"params": [log_z], "lr": 0.1}])
    prior, posterior = grid25(), gmm9()
    for _ in range(3):
        iteration(network, log_z, optimizer, prior, posterior)
    start = time.perf_counter()
    for _ in range(args.iterations):
        iteration(network, log_z, optimizer, prior, posterior)
    seconds = (time.perf_counter() - start) / args.iterations
    print(f"lean PyTorch 25 -> 9 RTB iteration (torch {torch.__version__}, 1 thread): {seconds * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
