import Strata

/// The model workloads of shared/bench/WORKLOADS.md (mlp, cnn, cifar, lstm, transformer) and the
/// framework-overhead workload `tiny`. Models, optimizers and FLOP counts follow `reference_torch.py`.
extension Workloads {
    /// A model workload: random inputs `x`, random class ids `y`, a train step (zero grads, forward, loss,
    /// backward, optimizer step in training mode) and an inference step (eval mode, no gradient recording).
    /// `flops` is a train step's count; inference counts a third of it, as `reference_torch.py`.
    static func model(name: String, model: some Module, forward: @escaping (Tensor) -> Tensor,
                      x: Tensor, y: Tensor, optimizer: Optimizer, flops: Double,
                      loss: @escaping (Tensor, Tensor) -> Tensor = { Loss.crossEntropy($0, $1) }) -> Workload {
        let sync = GradientSync(model.trainableParameters())
        return Workload(name: name, batch: x.shape[0], steps: [
            Step(mode: .train, flops: flops, setUp: { model.train() }, run: {
                optimizer.zeroGrad()
                loss(forward(x), y).backward()
                sync.run()
                optimizer.step()
            }, gradientSync: sync),
            Step(mode: .infer, flops: flops / 3, setUp: { model.eval() }, run: {
                withNoGrad { _ = forward(x) }
            }),
        ])
    }

    /// `mlp`: [128, 784] → Linear 784→512, ReLU, Linear 512→512, ReLU, Linear 512→10; SGD lr 0.01, momentum 0.9.
    static func mlp() -> Workload {
        let net = Sequential {
            Linear(784, 512); ReLU()
            Linear(512, 512); ReLU()
            Linear(512, 10)
        }
        let x = Tensor.normal([128, 784]), y = Tensor.randint(0, 10, shape: [128])
        let flops = 6.0 * 128 * Double(784 * 512 + 512 * 512 + 512 * 10)
        return model(name: "mlp", model: net, forward: { net($0) }, x: x, y: y,
                     optimizer: SGD(net.parameters(), learningRate: 0.01, momentum: 0.9), flops: flops)
    }

    /// `cnn`: [64, 1, 28, 28] → two (Conv k5 pad 2, ReLU, MaxPool 2) with 32 and 64 channels, Flatten,
    /// Linear 3136→512, ReLU, Linear 512→10; SGD lr 0.01, momentum 0.9.
    static func cnn() -> Workload {
        let net = Sequential {
            Conv2d(1, 32, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
            Conv2d(32, 64, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
            Flatten()
            Linear(64 * 7 * 7, 512); ReLU()
            Linear(512, 10)
        }
        let x = Tensor.normal([64, 1, 28, 28]), y = Tensor.randint(0, 10, shape: [64])
        let macs = 28 * 28 * 32 * 25 * 1 + 14 * 14 * 64 * 25 * 32 + 3136 * 512 + 512 * 10
        return model(name: "cnn", model: net, forward: { net($0) }, x: x, y: y,
                     optimizer: SGD(net.parameters(), learningRate: 0.01, momentum: 0.9), flops: 6.0 * 64 * Double(macs))
    }

    /// `cifar`: [64, 3, 32, 32] → three blocks of (Conv k3 pad 1, BatchNorm, ReLU) ×2 + MaxPool 2 with 32, 64,
    /// 128 channels, Flatten, Linear 2048→256, ReLU, Dropout 0.5, Linear 256→10;
    /// SGD lr 0.05, momentum 0.9, weight decay 5e-4.
    static func cifar() -> Workload {
        func block(_ cin: Int, _ cout: Int) -> [any Layer] {
            [Conv2d(cin, cout, kernelSize: 3, padding: 1), BatchNorm2d(cout), ReLU(),
             Conv2d(cout, cout, kernelSize: 3, padding: 1), BatchNorm2d(cout), ReLU(),
             MaxPool2d(2)]
        }
        let net = Sequential(block(3, 32) + block(32, 64) + block(64, 128)
                             + [Flatten(), Linear(128 * 4 * 4, 256), ReLU(), Dropout(p: 0.5), Linear(256, 10)])
        let x = Tensor.normal([64, 3, 32, 32]), y = Tensor.randint(0, 10, shape: [64])
        var macs = 2048 * 256 + 256 * 10
        for (hw, cin, cout) in [(32, 3, 32), (32, 32, 32), (16, 32, 64), (16, 64, 64), (8, 64, 128), (8, 128, 128)] {
            macs += hw * hw * cout * 9 * cin
        }
        return model(name: "cifar", model: net, forward: { net($0) }, x: x, y: y,
                     optimizer: SGD(net.parameters(), learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4),
                     flops: 6.0 * 64 * Double(macs))
    }

    /// `lstm`: [64, 28, 28] (batch first) → LSTM 28→128, last time step → Linear 128→10; Adam lr 1e-3.
    static func lstm() -> Workload {
        final class LSTMClassifier: Module {
            let lstm = LSTM(28, 128, batchFirst: true)
            let head = Linear(128, 10)
            func callAsFunction(_ x: Tensor) -> Tensor {
                let out = lstm(x).output                                   // [B, T, H]
                return head(out.select(1, out.shape[1] - 1))               // [B, H] → [B, 10]
            }
        }
        let net = LSTMClassifier()
        let x = Tensor.normal([64, 28, 28]), y = Tensor.randint(0, 10, shape: [64])
        let macs = 28 * 4 * 128 * (28 + 128) + 128 * 10
        return model(name: "lstm", model: net, forward: { net($0) }, x: x, y: y,
                     optimizer: Adam(net.parameters(), learningRate: 1e-3), flops: 6.0 * 64 * Double(macs))
    }

    /// `transformer`: token ids [32, 64] over 96 symbols → `TinyGPT` (d 128, 2 pre-norm blocks, 4 heads, causal,
    /// FFN 512 GELU) → logits [32, 64, 96]; cross-entropy over every position; AdamW lr 3e-4, weight decay 0.01.
    static func transformer() -> Workload {
        let net = TinyGPT()
        let x = Tensor.randint(0, 96, shape: [32, 64]), y = Tensor.randint(0, 96, shape: [32, 64])
        let (d, seq, ffn, layers) = (128, 64, 512, 2)
        let perToken = layers * (4 * d * d + 2 * d * ffn) + d * 96
        let attention = layers * 2 * seq * seq * d
        let flops = 6.0 * Double(32 * seq * perToken + 32 * attention)
        return model(name: "transformer", model: net, forward: { net($0) }, x: x, y: y,
                     optimizer: AdamW(net.parameters(), learningRate: 3e-4, weightDecay: 0.01), flops: flops,
                     loss: { logits, t in Loss.crossEntropy(logits.reshaped([-1, 96]), t.reshaped([-1])) })
    }

    /// Ops in the `tiny` chain.
    static let tinyOps = 1_000

    /// `tiny`: framework overhead. A chain of 1,000 elementwise ops on 16-element Float32 tensors, cycling
    /// `h + c`, `h · c`, `tanh h`, `h − c` from a leaf `h₀` that requires grad, then `sum` and `backward`.
    /// `us_per_op` is the step time (forward + backward) / 1,000.
    static func tiny() -> Workload {
        let x = Tensor.normal([16]), c = Tensor.uniform([16], low: 0.5, high: 1.0)
        x.requiresGrad = true
        return Workload(name: "tiny", batch: 1, steps: [
            Step(mode: .train, flops: Double(2 * tinyOps * 16), run: {
                x.zeroGrad()
                var h = x
                for i in 0..<tinyOps {
                    switch i % 4 {
                    case 0: h = h + c
                    case 1: h = h * c
                    case 2: h = h.tanh()
                    default: h = h - c
                    }
                }
                h.sum().backward()
            }, extras: { seconds in [("us_per_op", .double(rounded(seconds * 1e6 / Double(tinyOps), 3)))] }),
        ])
    }
}
