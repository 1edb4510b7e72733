#!/usr/bin/env python3
"""PyTorch's side of `make bench-e2e`: one `dltrain train --model cnn|lstm` run, rewritten in PyTorch.

The recipe is dltrain's defaults for the preset (Sources/dltrain/DLTrain.swift, Sources/DLTrainKit/Configuration.swift,
Sources/DLTrainKit/Presets.swift, Sources/StrataTraining/Trainer.swift), read from the source:
- data: the embedded MNIST IDX files (Data/mnist, gzipped; raw files are read too, told apart by the gzip
  magic bytes as Strata does), pixels / 255, then normalised per batch with mean 0.1307 and std 0.3081;
  all 60,000 training images, batches of 64 in a fresh random order each epoch, the last batch short (32);
- cnn: Conv2d(1, 32, 5, padding=2), ReLU, MaxPool2d(2), Conv2d(32, 64, 5, padding=2), ReLU, MaxPool2d(2),
  Flatten, Linear(3136, 512), ReLU, Linear(512, 10); SGD lr 0.05, momentum 0.9, no weight decay;
- lstm: [B, 1, 28, 28] → [B, 28, 28] (rows as time steps), rnn = LSTM(28, 128, batch_first=True), the last
  step's output → fc = Linear(128, 10); Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay;
- PyTorch's default initialisation, which Strata's layers reproduce (Kaiming uniform a = √5, uniform biases,
  LSTM weights U(−1/√128, 1/√128)); seed 1, but the two frameworks' generators differ, so the draws do too;
- mean cross-entropy; the cosine schedule stepped after every batch, lr(t) = lr·(1 + cos(π·t/T))/2 over
  T = max(2, batches · epochs) steps, as Strata's CosineSchedule;
- every step, as Strata's Trainer.trainEpoch: zero the gradients, forward, loss, the batch's arg-max accuracy
  and loss.item(), backward, optimizer step, schedule step;
- after training: the 10,000 test images in eval mode without gradients, batches of 500.

Timing, the same way as Trainer.trainEpoch: the clock starts just before the epoch's shuffle and stops after
the last step, so it covers batching, normalisation and every training step; start-up, reading and
decompressing the files, building the model and the test evaluation are outside it. One difference: Strata's
DataLoader prepares the next two batches on a background thread, where this script gathers each batch on
the main thread by indexing the preloaded image tensor (tens of microseconds a batch).

Prints one JSON line: {"framework": "pytorch", "model", "threads", "epochs", "epoch_seconds" (per epoch),
"samples_per_s", "train_loss", "train_accuracy", "test_loss", "test_accuracy"}.

Usage: python3 bench/torch_e2e.py --model cnn|lstm [--threads N] [--data Data/mnist] [--epochs 1] [--seed 1]
"""
import argparse
import gzip
import json
import math
import os
import struct
import time

import torch
from torch import nn
from torch.nn import functional as F

MEAN, STD = 0.1307, 0.3081
BATCH = 64
TEST_BATCH = 500


def read_idx(directory, name):
    """An unsigned-byte IDX file (`name` or `name.gz`, gzip told by its magic bytes) as a uint8 tensor."""
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        path += ".gz"
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"torch_e2e.py: {path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    shape = struct.unpack(f">{rank}I", data[4:4 + 4 * rank])
    header = 4 + 4 * rank
    if len(data) - header != math.prod(shape):
        raise SystemExit(f"torch_e2e.py: {path}: {len(data) - header} data bytes, header says {math.prod(shape)}")
    return torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8).reshape(shape)


def load_split(directory, prefix):
    """Images [n, 1, 28, 28] float32 in [0, 1] and labels [n] int64."""
    images = read_idx(directory, f"{prefix}-images-idx3-ubyte").unsqueeze(1).float().div_(255)
    labels = read_idx(directory, f"{prefix}-labels-idx1-ubyte").long()
    return images, labels


def normalise(x):
    return (x - MEAN) / STD


def build_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 512), nn.ReLU(), nn.Linear(512, 10))


class RowRecurrentClassifier(nn.Module):
    """Strata's RowRecurrentClassifier with an LSTM: rows as time steps, the last step's output → fc."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):  # [B, 1, 28, 28]
        output, _ = self.rnn(x.reshape(x.shape[0], 28, 28))  # [B, 28, 128]
        return self.fc(output[:, -1, :])  # [B, 10]


def build(name):
    """The model and its optimizer, as dltrain's defaults for the preset."""
    if name == "cnn":
        model = build_cnn()
        return model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0)
    model = RowRecurrentClassifier()
    return model, torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0)


def evaluate(model, images, labels):
    """Mean cross-entropy and accuracy on (images, labels), in eval mode without gradients."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(labels), TEST_BATCH):
            x, y = normalise(images[start:start + TEST_BATCH]), labels[start:start + TEST_BATCH]
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    return loss_sum / len(labels), correct / len(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["cnn", "lstm"], required=True)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Data", "mnist"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.threads < 1 or args.epochs < 1:
        parser.error("--threads and --epochs must be at least 1")
    torch.set_num_threads(args.threads)
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "t10k")
    torch.manual_seed(args.seed)
    model, optimizer = build(args.model)
    n = len(train_y)
    batches = (n + BATCH - 1) // BATCH
    total = max(2, batches * args.epochs)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: (1 + math.cos(math.pi * min(t, total) / total)) / 2)
    shuffle = torch.Generator().manual_seed(args.seed)
    print(f"torch_e2e: {args.model} on mnist: {n} training / {len(test_y)} test examples, {args.epochs} epochs, "
          f"batch {BATCH}, {type(optimizer).__name__} lr {optimizer.param_groups[0]['lr']} (cosine), "
          f"{torch.get_num_threads()} threads", flush=True)

    seconds = []
    for epoch in range(args.epochs):
        model.train()
        loss_sum, correct = 0.0, 0
        start = time.perf_counter()
        order = torch.randperm(n, generator=shuffle)
        for b in range(batches):
            index = order[b * BATCH:(b + 1) * BATCH]
            x, y = normalise(train_x[index]), train_y[index]
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            correct += (logits.detach().argmax(1) == y).sum().item()
            loss_sum += loss.item() * len(y)
            loss.backward()
            optimizer.step()
            schedule.step()
        seconds.append(time.perf_counter() - start)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / n:.4f}  acc {100 * correct / n:.2f}%  "
              f"{seconds[-1]:.1f}s  {int(n / seconds[-1])} samples/s", flush=True)
    test_loss, test_accuracy = evaluate(model, test_x, test_y)
    print(f"test: loss {test_loss:.4f}  accuracy {100 * test_accuracy:.2f}% ({len(test_y)} images)")
    print(json.dumps({
        "framework": "pytorch", "model": args.model, "threads": args.threads, "epochs": args.epochs,
        "epoch_seconds": [round(s, 3) for s in seconds], "samples_per_s": round(n / seconds[-1], 1),
        "train_loss": round(loss_sum / n, 4), "train_accuracy": round(correct / n, 4),
        "test_loss": round(test_loss, 4), "test_accuracy": round(test_accuracy, 4)}), flush=True)


if __name__ == "__main__":
    main()
