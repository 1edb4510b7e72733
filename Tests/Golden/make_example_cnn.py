#!/usr/bin/env python3
"""Makes the PyTorch model that Snippets/Examples/PyTorchStateDict.swift loads (the test suite runs it).

Rerun (from the repository root, with torch and safetensors installed; CPU only):

    python3 Tests/Golden/make_example_cnn.py

It writes, deterministically (seed 0):
    example_cnn.safetensors     the state dict of a small CNN for 28×28 images, saved exactly as a user would:
                                safetensors.torch.save_file(model.state_dict(), path)
    example_cnn_io.safetensors  a batch of inputs [4, 1, 28, 28] and PyTorch's logits model(inputs) [4, 10]
"""
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

OUT = os.path.dirname(os.path.abspath(__file__))

torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(8 * 14 * 14, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 10),
)
# A few training-mode forwards, so the batch norm's running statistics are not the initial ones.
with torch.no_grad():
    for _ in range(3):
        model(torch.randn(16, 1, 28, 28))
model.eval()
save_file(model.state_dict(), os.path.join(OUT, "example_cnn.safetensors"))
x = torch.rand(4, 1, 28, 28)
with torch.no_grad():
    logits = model(x)
save_file({"inputs": x, "logits": logits}, os.path.join(OUT, "example_cnn_io.safetensors"))
print("logits", logits.tolist())
