"""The default job's reward, log N(y; x, 9 I) with y = (-6, 2), written as a TorchScript module.

tilt loads TorchScript rewards with torch::jit::load (reward: {kind: torchscript, file: ...}); a
module maps x [B, D] (float64) to log r [B]. Regenerate the shipped file with Debian's python3-torch:
    /usr/bin/python3 configs/rewards/gaussian_likelihood.py
"""
import math
import os

import torch


class Reward(torch.nn.Module):
    def forward(self, x):
        y = torch.tensor([-6.0, 2.0], dtype=x.dtype)
        r = x - y
        return -0.5 * (r * r).sum(-1) / 9.0 - math.log(2 * math.pi * 9.0)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    torch.jit.script(Reward()).save(os.path.join(here, "gaussian_likelihood.pt"))
