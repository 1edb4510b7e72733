#!/usr/bin/env python3
"""Moves dltrain checkpoints to and from PyTorch, both directions, with load_state_dict(strict=True).

    pytorch_interop.py to-torch   CKPT MNIST_DIR   # load a dltrain checkpoint into the equivalent nn.Module,
                                                    # print its test accuracy on the first 1000 MNIST test images
    pytorch_interop.py from-torch OUT  MODEL MNIST_DIR  # save a fresh PyTorch model (mlp|cnn|lstm|gru, seed 0)
                                                    # as a checkpoint that `dltrain predict` reads, and print
                                                    # its class probabilities for test image 0

Needs only torch (the safetensors format is read and written here by hand: an 8-byte little-endian header
length, a JSON header, then the raw tensor bytes). Run by Tests/DLTrainTests when torch is installed.
"""
import gzip, json, os, struct, sys

import torch
import torch.nn as nn

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = bytearray(data[base + begin:base + end])
        t = torch.frombuffer(raw, dtype=DTYPES[entry["dtype"]]) if raw else torch.empty(0, dtype=DTYPES[entry["dtype"]])
        tensors[name] = t.reshape(entry["shape"]).clone()
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


class RowRecurrent(nn.Module):
    """dltrain's lstm/gru presets: image rows as time steps, the last step's output → fc."""

    def __init__(self, cell, width=28, classes=10):
        super().__init__()
        self.rnn = cell(width, 128, batch_first=True)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        b, c, h, w = x.shape
        out, _ = self.rnn(x.permute(0, 2, 1, 3).reshape(b, h, c * w))
        return self.fc(out[:, -1])


def make_model(preset, classes=10):
    if preset == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, classes))
    if preset == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, classes))
    if preset in ("lstm", "gru"):
        return RowRecurrent(nn.LSTM if preset == "lstm" else nn.GRU, classes=classes)
    raise SystemExit(f"unsupported preset {preset}")


def mnist_test(directory, count):
    def idx(name):
        path = os.path.join(directory, name)
        opener = gzip.open if os.path.exists(path + ".gz") else open
        with opener(path + ".gz" if os.path.exists(path + ".gz") else path, "rb") as f:
            return f.read()
    images = torch.frombuffer(bytearray(idx("t10k-images-idx3-ubyte")[16:]), dtype=torch.uint8)
    labels = torch.frombuffer(bytearray(idx("t10k-labels-idx1-ubyte")[8:]), dtype=torch.uint8)
    x = images.reshape(-1, 1, 28, 28)[:count].float() / 255
    return (x - 0.1307) / 0.3081, labels[:count].long()


def to_torch(checkpoint, directory):
    tensors, metadata = read_safetensors(checkpoint)
    model = make_model(metadata["strata.model"], int(metadata["strata.class_count"]))
    state = {k: v for k, v in tensors.items() if not k.startswith("__")}
    model.load_state_dict(state, strict=True)
    model.eval()
    x, y = mnist_test(directory, 1000)
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"torch accuracy {accuracy:.4f}")


def from_torch(out, preset, directory):
    torch.manual_seed(0)
    model = make_model(preset)
    config = {"batchSize": 64, "dataset": "mnist", "epochs": 1, "learningRate": 0.05, "logEvery": 100, "model": preset,
              "momentum": 0.9, "optimizer": "sgd", "schedule": "none", "seed": 1, "validationSplit": 0, "weightDecay": 0}
    metadata = {"strata.format": "dltrain-checkpoint-1", "strata.config": json.dumps(config), "strata.model": preset,
                "strata.dataset": "mnist", "strata.input_shape": "1,28,28", "strata.class_count": "10",
                "strata.epoch": "1", "strata.batch": "0", "strata.global_step": "0", "strata.loss_sum": "0",
                "strata.correct": "0", "strata.seen": "0", "strata.rng": "1,2,3,4"}
    write_safetensors(out, model.state_dict(), metadata)
    model.eval()
    x, _ = mnist_test(directory, 1)
    with torch.no_grad():
        p = model(x).softmax(1)[0]
    print("torch probabilities [" + " ".join(f"{v:.4f}" for v in p.tolist()) + "]")


if __name__ == "__main__":
    if sys.argv[1:2] == ["to-torch"] and len(sys.argv) == 4:
        to_torch(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["from-torch"] and len(sys.argv) == 5:
        from_torch(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)
