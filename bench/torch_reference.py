#!/usr/bin/env python3
"""Strata's PyTorch CPU baseline: the workloads of shared/bench/WORKLOADS.md, timed as dlbench times them.

One JSON object per line, with the fields dlbench prints ("framework": "pytorch"):

  {"workload": "mlp", "framework": "pytorch", "threads": 2, "batch": 128, "mode": "train",
   "step_ms": 3.1, "samples_per_s": 41000.0, "gflops": 12.5}

Measuring: 5 warm-up steps, then 30 steps timed one by one, the median counts (gemm times
max(3, steps // 4) products). A train step zeroes the gradients (set to None), runs the forward pass,
the loss, the backward pass and the optimizer step in training mode; an inference step is one forward
pass under torch.no_grad() in eval mode. FLOP counts: multiply-adds of the convolutions, matrix
products and recurrences x 2, x 3 for a training step; inference counts a third of the training figure.

`tiny` (not in WORKLOADS.md; dlbench's framework-overhead workload): a chain of 1,000 elementwise ops on
16-element tensors, cycling h + c, h * c, tanh(h), h - c from a leaf that requires grad, then sum and
backward; "us_per_op" is the step time / 1,000.

`add` (not in WORKLOADS.md; dlbench's memory-bandwidth workload, not run by default): c = a + b on two
contiguous 4M-element Float32 tensors under no_grad; "gb_per_s" counts two reads and one write per element.

Usage: python3 bench/torch_reference.py [--threads N] [--only gemm,mlp,...,add] [--steps N] [--warmup N]
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F


def cross_entropy(logits, targets):
    return F.cross_entropy(logits, targets)


def build_mlp():
    """[128, 784] -> 784-512-512-10 with ReLU; SGD lr 0.01, momentum 0.9."""
    net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))
    sgd = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    flops = 6 * 128 * (784 * 512 + 512 * 512 + 512 * 10)
    return net, x, y, sgd, cross_entropy, flops


def build_cnn():
    """[64, 1, 28, 28] -> 2 x (conv k5 pad 2, ReLU, max-pool 2) -> 3136-512-10; SGD lr 0.01, momentum 0.9."""
    net = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, 10))
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    sgd = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    conv_macs = 28 * 28 * 32 * 25 * 1 + 14 * 14 * 64 * 25 * 32
    flops = 6 * 64 * (conv_macs + 3136 * 512 + 512 * 10)
    return net, x, y, sgd, cross_entropy, flops


def build_cifar():
    """[64, 3, 32, 32] -> 3 blocks (conv-BN-ReLU x 2, max-pool) of 32/64/128 channels -> 2048-256-10 with
    dropout 0.5; SGD lr 0.05, momentum 0.9, weight decay 5e-4."""
    layers = []
    for cin, cout in [(3, 32), (32, 64), (64, 128)]:
        for a, b in [(cin, cout), (cout, cout)]:
            layers += [nn.Conv2d(a, b, kernel_size=3, padding=1), nn.BatchNorm2d(b), nn.ReLU()]
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(2048, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10)]
    net = nn.Sequential(*layers)
    x, y = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
    sgd = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    convs = [(32, 3, 32), (32, 32, 32), (16, 32, 64), (16, 64, 64), (8, 64, 128), (8, 128, 128)]
    macs = sum(side * side * cout * 9 * cin for side, cin, cout in convs) + 2048 * 256 + 256 * 10
    return net, x, y, sgd, cross_entropy, 6 * 64 * macs


class LastStepLSTM(nn.Module):
    """LSTM 28 -> 128 (batch first), the last time step's hidden state -> Linear 128 -> 10."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        hidden, _ = self.lstm(x)
        return self.head(hidden[:, -1, :])


def build_lstm():
    """[64, 28, 28] (batch, time, features); Adam lr 1e-3."""
    net = LastStepLSTM()
    x, y = torch.randn(64, 28, 28), torch.randint(0, 10, (64,))
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    macs = 28 * 4 * 128 * (28 + 128) + 128 * 10
    return net, x, y, adam, cross_entropy, 6 * 64 * macs


class GPT(nn.Module):
    """Token + learned position embeddings (d 128), 2 pre-norm causal encoder blocks (4 heads, FFN 512,
    GELU, no dropout), LayerNorm, Linear 128 -> vocabulary."""

    def __init__(self, vocab=96, seq=64, d=128, heads=4, blocks=2, ffn=512):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(seq, d)
        block = nn.TransformerEncoderLayer(d, heads, dim_feedforward=ffn, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, blocks, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(seq))

    def forward(self, tokens):
        t = tokens.shape[1]
        h = self.tok(tokens) + self.pos(torch.arange(t))
        h = self.blocks(h, mask=self.causal[:t, :t], is_causal=True)
        return self.head(self.norm(h))


def build_transformer():
    """Token ids [32, 64] over 96 symbols; cross-entropy at every position; AdamW lr 3e-4, weight decay 0.01."""
    net = GPT()
    x, y = torch.randint(0, 96, (32, 64)), torch.randint(0, 96, (32, 64))
    adamw = torch.optim.AdamW(net.parameters(), lr=3e-4, weight_decay=0.01)

    def loss(logits, targets):
        return F.cross_entropy(logits.reshape(-1, 96), targets.reshape(-1))

    d, seq, ffn, blocks, batch = 128, 64, 512, 2, 32
    per_token = blocks * (4 * d * d + 2 * d * ffn) + d * 96
    attention = blocks * 2 * seq * seq * d
    return net, x, y, adamw, loss, 6 * (batch * seq * per_token + batch * attention)


MODELS = {"mlp": build_mlp, "cnn": build_cnn, "cifar": build_cifar, "lstm": build_lstm,
          "transformer": build_transformer}
GEMM_SIZES = (128, 256, 512, 1024, 2048)
TINY_OPS = 1000
ADD_COUNT = 4 << 20


def median_seconds(step, warmup, steps):
    """Median wall time of `step` over `steps` timed calls after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    samples = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def row(name, threads, batch, mode, seconds, flops, **extra):
    out = {"workload": name, "framework": "pytorch", "threads": threads, "batch": batch, "mode": mode,
           "step_ms": round(seconds * 1e3, 3), "samples_per_s": round(batch / seconds, 1),
           "gflops": round(flops / seconds / 1e9, 2)}
    out.update(extra)
    return out


def model_rows(name, threads, warmup, steps):
    torch.manual_seed(0)
    net, x, y, optimizer, loss_fn, flops = MODELS[name]()
    batch = x.shape[0]

    def train():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            net(x)

    net.train()
    yield row(name, threads, batch, "train", median_seconds(train, warmup, steps), flops)
    net.eval()
    yield row(name, threads, batch, "infer", median_seconds(infer, warmup, steps), flops / 3)


def gemm_rows(threads, warmup, steps):
    for n in GEMM_SIZES:
        a, b = torch.randn(n, n), torch.randn(n, n)
        seconds = median_seconds(lambda: torch.mm(a, b), warmup, max(3, steps // 4))
        yield row(f"gemm{n}", threads, 1, "infer", seconds, 2 * n ** 3)


def tiny_rows(threads, warmup, steps):
    torch.manual_seed(0)
    x = torch.randn(16, requires_grad=True)
    c = torch.rand(16) * 0.5 + 0.5

    def step():
        x.grad = None
        h = x
        for i in range(TINY_OPS):
            k = i % 4
            if k == 0:
                h = h + c
            elif k == 1:
                h = h * c
            elif k == 2:
                h = torch.tanh(h)
            else:
                h = h - c
        h.sum().backward()

    seconds = median_seconds(step, warmup, steps)
    yield row("tiny", threads, 1, "train", seconds, 2 * TINY_OPS * 16,
              us_per_op=round(seconds * 1e6 / TINY_OPS, 3))


def add_rows(threads, warmup, steps):
    a, b = torch.randn(ADD_COUNT), torch.randn(ADD_COUNT)

    def step():
        with torch.no_grad():
            a + b

    seconds = median_seconds(step, warmup, steps)
    yield row("add", threads, 1, "infer", seconds, ADD_COUNT, gb_per_s=round(3 * ADD_COUNT * 4 / seconds / 1e9, 2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--only", default="gemm,mlp,cnn,cifar,lstm,transformer,tiny")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", help="also write the lines to this file (overwritten)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sink = open(args.json, "w") if args.json else None
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        if name == "gemm":
            rows = gemm_rows(args.threads, args.warmup, args.steps)
        elif name.startswith("gemm") and name[4:].isdigit():
            rows = [r for r in gemm_rows(args.threads, args.warmup, args.steps) if r["workload"] == name]
        elif name == "tiny":
            rows = tiny_rows(args.threads, args.warmup, args.steps)
        elif name == "add":
            rows = add_rows(args.threads, args.warmup, args.steps)
        elif name in MODELS:
            rows = model_rows(name, args.threads, args.warmup, args.steps)
        else:
            parser.error(f"unknown workload {name!r}; known: gemm, gemmN, {', '.join(MODELS)}, tiny, add")
        for r in rows:
            line = json.dumps(r)
            print(line, flush=True)
            if sink:
                sink.write(line + "\n")
                sink.flush()


if __name__ == "__main__":
    main()
