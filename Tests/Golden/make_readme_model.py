#!/usr/bin/env python3
"""Makes the PyTorch model that the README's "load a PyTorch state dict" example loads
(Tests/StrataTests/Readme/ReadmeExampleTests.swift runs it).

Rerun (from the repository root, with torch and safetensors installed; CPU only):

    python3 Tests/Golden/make_readme_model.py

It writes, deterministically (seed 0):
    readme_mlp.safetensors     the state dict of nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3)),
                               saved exactly as a user would: safetensors.torch.save_file(model.state_dict(), path)
    readme_mlp_io.safetensors  input [1, 4] and PyTorch's probabilities softmax(model(input), dim=1) [1, 3]
"""
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

OUT = os.path.dirname(os.path.abspath(__file__))

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
save_file(model.state_dict(), os.path.join(OUT, "readme_mlp.safetensors"))
model.eval()
x = torch.tensor([[0.5, -1.0, 0.25, 2.0]])
with torch.no_grad():
    p = model(x).softmax(dim=1)
save_file({"input": x, "probabilities": p}, os.path.join(OUT, "readme_mlp_io.safetensors"))
print("probabilities", p.tolist())
