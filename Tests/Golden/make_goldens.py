#!/usr/bin/env python3
"""Makes the PyTorch golden files that Tests/StrataTests/Golden/GoldenTests.swift checks Strata against.

Rerun (from the repository root, with PyTorch installed; CPU only):

    python3 Tests/Golden/make_goldens.py

It rewrites Tests/Golden/*.safetensors. Every case seeds torch with a fixed seed derived from its name
(crc32), so the files are deterministic and adding a case does not change the others. All floats are Float32.

One file per case, `<case>.safetensors`, holding (names as the Swift side expects them):
    state.<name>       the module's state_dict before the forward (PyTorch names, e.g. state.weight_ih_l0)
    input.<i>          the inputs, in call order (float32, int64 indices or bool masks)
    output.<i>         the outputs, in return order (e.g. RNN: output, h_n; LSTM: output, h_n, c_n)
    upstream.<i>       random gradients of the outputs; the backward pass is of sum_i (output_i * upstream_i).sum()
    grad.input.<i>     the gradient of that sum with respect to float input i (absent for inputs without one)
    grad.param.<name>  the gradient with respect to parameter <name>
    after.<name>       the state_dict after the forward (BatchNorm in training: running stats, num_batches_tracked)
The header's __metadata__ holds the module's repr and the mode (train/eval), for reading the files by eye.

Optimizer files (optim_sgd, optim_adamw) hold x, y, init.<name>, step1.<name>, step3.<name> for a
Sequential(Linear(20, 16), ReLU(), Linear(16, 5)) trained with cross_entropy on one fixed batch.
"""

import json
import os
import struct
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.dirname(os.path.abspath(__file__))
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.bool: "BOOL"}


def write_safetensors(path, tensors, metadata):
    """A minimal safetensors writer (the format of huggingface/safetensors): 8-byte little-endian header
    length, a JSON header padded with spaces to a multiple of 8, then the little-endian row-major data."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def seed(name):
    torch.manual_seed(zlib.crc32(name.encode()))


def randomize_parameters(module):
    """Replaces ones/zeros initialisations (norm affine weights) with random values so they are exercised."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("weight") and p.dim() == 1 or name.endswith("bias") and p.dim() == 1:
                p.copy_(torch.randn_like(p) * 0.5 + (1.0 if name.endswith("weight") else 0.0))


def case(name, module, inputs, train=True, call=None, grads=True):
    """Runs `module` on `inputs` and writes the case file; `call(module, *inputs)` returns a tensor or a tuple."""
    module.train(train)
    tensors = {f"state.{k}": v.clone() for k, v in module.state_dict().items()}
    leaves = []
    for i, x in enumerate(inputs):
        x = x.clone()
        if grads and x.is_floating_point():
            x.requires_grad_(True)
        leaves.append(x)
        tensors[f"input.{i}"] = x.detach().clone()
    out = (call or (lambda m, *xs: m(*xs)))(module, *leaves)
    outs = list(out) if isinstance(out, tuple) else [out]
    outs = [o for o in outs if o is not None]
    for i, o in enumerate(outs):
        tensors[f"output.{i}"] = o.detach().clone()
    if grads:
        total = 0
        for i, o in enumerate(outs):
            u = torch.randn_like(o)
            tensors[f"upstream.{i}"] = u
            total = total + (o * u).sum()
        total.backward()
        for i, x in enumerate(leaves):
            if x.grad is not None:
                tensors[f"grad.input.{i}"] = x.grad.clone()
        for k, p in module.named_parameters():
            if p.grad is not None:
                tensors[f"grad.param.{k}"] = p.grad.clone()
    if train:
        for k, v in module.state_dict().items():
            if "running" in k or "num_batches" in k:
                tensors[f"after.{k}"] = v.clone()
    write_safetensors(os.path.join(OUT, f"{name}.safetensors"), tensors,
                      {"module": repr(module), "mode": "train" if train else "eval", "torch": torch.__version__})
    return tensors


def module_case(name, make, shapes, train=True, call=None, grads=True, prepare=None):
    seed(name)
    m = make()
    if prepare:
        prepare(m)
    inputs = [s if isinstance(s, torch.Tensor) else torch.randn(*s) for s in shapes]
    case(name, m, inputs, train=train, call=call, grads=grads)


def loss_case(name, fn, inputs, grad_inputs=(0,)):
    """A functional loss: inputs in order; the gradient is taken for the inputs at `grad_inputs`."""
    seed(name)
    tensors = {}
    leaves = []
    for i, x in enumerate(inputs):
        x = x.clone()
        if i in grad_inputs:
            x.requires_grad_(True)
        leaves.append(x)
        tensors[f"input.{i}"] = x.detach().clone()
    out = fn(*leaves)
    tensors["output.0"] = out.detach().clone()
    u = torch.randn_like(out)
    tensors["upstream.0"] = u
    (out * u).sum().backward()
    for i in grad_inputs:
        tensors[f"grad.input.{i}"] = leaves[i].grad.clone()
    write_safetensors(os.path.join(OUT, f"{name}.safetensors"), tensors, {"module": name, "mode": "functional"})


def make_layers():
    # Linear
    module_case("linear_bias", lambda: nn.Linear(7, 5), [(2, 3, 7)])
    module_case("linear_nobias", lambda: nn.Linear(7, 5, bias=False), [(2, 3, 7)])

    # Convolutions
    module_case("conv1d", lambda: nn.Conv1d(4, 6, 3, stride=2, padding=1), [(2, 4, 9)])
    module_case("conv2d", lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, bias=True), [(2, 4, 9, 9)])
    module_case("conv_transpose2d", lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), [(2, 4, 5, 5)])
    module_case("conv_transpose2d_groups",
                lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2),
                [(2, 4, 4, 5)])

    module_case("conv1d_dilation_groups", lambda: nn.Conv1d(4, 6, 3, padding=2, dilation=2, groups=2, bias=False), [(2, 4, 9)])
    module_case("conv2d_rect", lambda: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0)), [(2, 3, 7, 6)])

    # Pooling
    module_case("maxpool2d", lambda: nn.MaxPool2d(3, stride=2, padding=1), [(2, 3, 7, 7)])
    module_case("avgpool2d_include_pad", lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True), [(2, 3, 7, 7)])
    module_case("avgpool2d_exclude_pad", lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), [(2, 3, 7, 7)])
    module_case("adaptive_avgpool2d", lambda: nn.AdaptiveAvgPool2d(3), [(2, 3, 5, 5)])
    module_case("adaptive_avgpool2d_rect", lambda: nn.AdaptiveAvgPool2d((3, 2)), [(1, 2, 7, 5)])
    module_case("maxpool2d_rect", lambda: nn.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 1)), [(2, 2, 5, 7)])

    # Normalisation
    module_case("batchnorm1d_train_2d", lambda: nn.BatchNorm1d(5), [(8, 5)], prepare=randomize_parameters)
    module_case("batchnorm1d_train_3d", lambda: nn.BatchNorm1d(5), [(4, 5, 6)], prepare=randomize_parameters)
    module_case("batchnorm2d_train", lambda: nn.BatchNorm2d(3), [(4, 3, 5, 5)], prepare=randomize_parameters)
    module_case("batchnorm2d_train_cumulative", lambda: nn.BatchNorm2d(3, momentum=None), [(4, 3, 5, 5)],
                prepare=randomize_parameters)

    def random_running_stats(m):
        randomize_parameters(m)
        with torch.no_grad():
            m.running_mean.copy_(torch.randn_like(m.running_mean) * 0.3)
            m.running_var.copy_(torch.rand_like(m.running_var) + 0.5)
            m.num_batches_tracked.fill_(7)

    module_case("batchnorm1d_eval", lambda: nn.BatchNorm1d(5), [(4, 5, 6)], train=False, prepare=random_running_stats)
    module_case("batchnorm2d_eval", lambda: nn.BatchNorm2d(3), [(4, 3, 5, 5)], train=False, prepare=random_running_stats)
    module_case("layernorm_2d_shape", lambda: nn.LayerNorm([4, 5]), [(2, 3, 4, 5)], prepare=randomize_parameters)
    module_case("layernorm_last", lambda: nn.LayerNorm(6), [(3, 4, 6)], prepare=randomize_parameters)
    module_case("layernorm_nobias", lambda: nn.LayerNorm(6, bias=False), [(3, 4, 6)], prepare=randomize_parameters)
    module_case("groupnorm", lambda: nn.GroupNorm(3, 6), [(2, 6, 4, 4)], prepare=randomize_parameters)

    # Embedding and dropout
    indices = torch.tensor([[0, 2, 5, 2], [3, 0, 9, 7]], dtype=torch.int64)
    module_case("embedding_padding", lambda: nn.Embedding(10, 4, padding_idx=0), [indices])
    module_case("embedding_negative_padding", lambda: nn.Embedding(10, 4, padding_idx=-1), [indices])
    module_case("dropout_eval", lambda: nn.Dropout(0.5), [(3, 4, 5)], train=False)

    # Recurrent: 2 layers, bidirectional, batch_first, initial states. Input [B=3, T=6, I=5], H=4, L·D = 4.
    for kind, cls in [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)]:
        make = lambda cls=cls: cls(5, 4, num_layers=2, bidirectional=True, batch_first=True)
        if kind == "lstm":
            call = lambda m, x, h0, c0: (lambda out, hc: (out, hc[0], hc[1]))(*m(x, (h0, c0)))
            shapes = [(3, 6, 5), (4, 3, 4), (4, 3, 4)]
        else:
            call = lambda m, x, h0: m(x, h0)
            shapes = [(3, 6, 5), (4, 3, 4)]
        module_case(kind, make, shapes, call=call)

    # Recurrent, sequence-first, no initial states.
    module_case("lstm_nobias", lambda: nn.LSTM(3, 4, bias=False), [(5, 2, 3)],
                call=lambda m, x: (lambda out, hc: (out, hc[0], hc[1]))(*m(x)))
    module_case("gru_unidirectional", lambda: nn.GRU(3, 4, num_layers=2), [(5, 2, 3)])
    module_case("rnn_unidirectional", lambda: nn.RNN(3, 4), [(5, 2, 3)])

    # Activations
    for name, make in [("relu", nn.ReLU), ("leaky_relu", lambda: nn.LeakyReLU(0.2)), ("gelu", nn.GELU),
                       ("gelu_tanh", lambda: nn.GELU(approximate="tanh")), ("silu", nn.SiLU), ("tanh", nn.Tanh),
                       ("sigmoid", nn.Sigmoid), ("softmax", lambda: nn.Softmax(dim=1)),
                       ("log_softmax", lambda: nn.LogSoftmax(dim=-1))]:
        module_case(name, make, [(3, 4, 5)])


def make_losses():
    seed("loss_inputs")
    logits = torch.randn(6, 5) * 2
    targets = torch.tensor([1, 3, 0, 4, 3, 2])        # the 3s are ignored (ignore_index=3)
    class_weight = torch.rand(5) + 0.5
    loss_case("loss_cross_entropy", lambda z, y, w: F.cross_entropy(z, y, weight=w, ignore_index=3, label_smoothing=0.1),
              [logits, targets, class_weight])
    loss_case("loss_cross_entropy_sum",
              lambda z, y, w: F.cross_entropy(z, y, weight=w, ignore_index=3, label_smoothing=0.1, reduction="sum"),
              [logits, targets, class_weight])
    loss_case("loss_cross_entropy_none",
              lambda z, y, w: F.cross_entropy(z, y, weight=w, ignore_index=3, label_smoothing=0.1, reduction="none"),
              [logits, targets, class_weight])
    loss_case("loss_cross_entropy_plain", lambda z, y: F.cross_entropy(z, y), [logits, torch.tensor([1, 3, 0, 4, 3, 2])])
    loss_case("loss_cross_entropy_default_ignore", lambda z, y: F.cross_entropy(z, y),
              [logits, torch.tensor([1, -100, 0, 4, 3, 2])])
    loss_case("loss_nll", lambda lp, y, w: F.nll_loss(lp, y, weight=w, ignore_index=3),
              [F.log_softmax(logits, dim=1), targets, class_weight])
    x, t = torch.randn(4, 3), torch.randn(4, 3)
    loss_case("loss_mse", F.mse_loss, [x, t])
    loss_case("loss_l1", F.l1_loss, [x, t])
    loss_case("loss_smooth_l1", lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), [x, t])
    loss_case("loss_huber", lambda a, b: F.huber_loss(a, b, delta=0.7), [x, t])
    probabilities = torch.rand(4, 3)
    pos_weight = torch.rand(3) + 0.5
    loss_case("loss_bce_with_logits", lambda z, y, p: F.binary_cross_entropy_with_logits(z, y, pos_weight=p),
              [x * 2, probabilities, pos_weight])


def make_attention():
    """Attention goldens (the Swift classes are written separately). Masks are bool, True = not attended."""
    q_len, kv_len, batch, d = 4, 5, 2, 8
    key_padding = torch.tensor([[False, False, False, True, True], [False, False, False, False, False]])
    attn_mask = torch.zeros(q_len, kv_len, dtype=torch.bool)
    attn_mask[0, 4] = True
    attn_mask[2, 1] = True
    module_case("mha", lambda: nn.MultiheadAttention(d, 2, batch_first=True),
                [(batch, q_len, d), (batch, kv_len, d), (batch, kv_len, d), key_padding, attn_mask],
                call=lambda m, q, k, v, kpm, am: m(q, k, v, key_padding_mask=kpm, attn_mask=am))
    # Self-attention (one tensor as query, key and value), no weights returned, an additive float mask.
    module_case("mha_self_no_weights", lambda: nn.MultiheadAttention(d, 2, batch_first=True),
                [(batch, q_len, d), key_padding[:, :q_len].clone(), torch.randn(q_len, q_len)],
                call=lambda m, x, kpm, am: m(x, x, x, key_padding_mask=kpm, attn_mask=am, need_weights=False),
                prepare=randomize_parameters)
    causal = torch.triu(torch.ones(q_len, q_len, dtype=torch.bool), diagonal=1)
    src_padding = torch.tensor([[False, False, False, True], [False, False, False, False]])
    for norm_first in (False, True):
        module_case(f"transformer_encoder_norm_first_{str(norm_first).lower()}",
                    lambda nf=norm_first: nn.TransformerEncoderLayer(d, 2, dim_feedforward=16, dropout=0.0,
                                                                     activation="gelu", batch_first=True, norm_first=nf),
                    [(batch, q_len, d), causal, src_padding],
                    call=lambda m, src, mask, kpm: m(src, src_mask=mask, src_key_padding_mask=kpm),
                    prepare=randomize_parameters)
    for norm_first, suffix in ((False, ""), (True, "_norm_first")):
        module_case(f"transformer_decoder{suffix}",
                    lambda nf=norm_first: nn.TransformerDecoderLayer(d, 2, dim_feedforward=16, dropout=0.0,
                                                                     activation="gelu", batch_first=True, norm_first=nf),
                    [(batch, q_len, d), (batch, kv_len, d), causal, key_padding],
                    call=lambda m, tgt, mem, mask, mkpm: m(tgt, mem, tgt_mask=mask, memory_key_padding_mask=mkpm),
                    prepare=randomize_parameters)


def make_optimizers():
    for name, make_opt in [("optim_sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-4,
                                                                     nesterov=False)),
                           ("optim_adamw", lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.01))]:
        seed("optim")   # the same model and batch for both optimizers
        model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5))
        x, y = torch.randn(8, 20), torch.randint(0, 5, (8,))
        tensors = {"x": x, "y": y}
        tensors.update({f"init.{k}": v.clone() for k, v in model.state_dict().items()})
        opt = make_opt(model.parameters())
        for step in range(1, 4):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            if step in (1, 3):
                tensors.update({f"step{step}.{k}": v.detach().clone() for k, v in model.state_dict().items()})
        write_safetensors(os.path.join(OUT, f"{name}.safetensors"), tensors, {"module": repr(model), "optimizer": repr(opt)})


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    make_layers()
    make_losses()
    make_attention()
    make_optimizers()
    files = sorted(f for f in os.listdir(OUT) if f.endswith(".safetensors"))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in files)
    print(f"{len(files)} files, {total} bytes in {OUT}")
