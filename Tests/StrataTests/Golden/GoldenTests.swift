import Foundation
import Strata
import Testing

// Every layer against PyTorch 2.x: the same constructor arguments as in Tests/Golden/make_goldens.py, the
// PyTorch state dict loaded strictly, outputs and gradients within atol 1e-5 + rtol 1e-4·|expected| (Float32).
// Regenerate the files with `python3 Tests/Golden/make_goldens.py`.

@Suite("Golden: layers against PyTorch")
struct GoldenLayerTests {
    @Test func linear() throws {
        try checkGolden("linear_bias", layer: Linear(7, 5))
        try checkGolden("linear_nobias", layer: Linear(7, 5, bias: false))
    }

    @Test func convolutions() throws {
        try checkGolden("conv1d", layer: Conv1d(4, 6, kernelSize: 3, stride: 2, padding: 1))
        try checkGolden("conv2d", layer: Conv2d(4, 6, kernelSize: 3, stride: 2, padding: 1, dilation: 2, groups: 2, bias: true))
        try checkGolden("conv_transpose2d", layer: ConvTranspose2d(4, 6, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1))
        try checkGolden("conv_transpose2d_groups",
                        layer: ConvTranspose2d(4, 6, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, groups: 2, dilation: 2))
        try checkGolden("conv1d_dilation_groups", layer: Conv1d(4, 6, kernelSize: 3, padding: 2, dilation: 2, groups: 2, bias: false))
        try checkGolden("conv2d_rect", layer: Conv2d(3, 4, kernelSize: (3, 2), stride: (2, 1), padding: (1, 0)))
    }

    @Test func pooling() throws {
        try checkGolden("maxpool2d", layer: MaxPool2d(3, stride: 2, padding: 1))
        try checkGolden("avgpool2d_include_pad", layer: AvgPool2d(3, stride: 2, padding: 1, countIncludePad: true))
        try checkGolden("avgpool2d_exclude_pad", layer: AvgPool2d(3, stride: 2, padding: 1, countIncludePad: false))
        try checkGolden("adaptive_avgpool2d", layer: AdaptiveAvgPool2d(3))
        try checkGolden("adaptive_avgpool2d_rect", layer: AdaptiveAvgPool2d((3, 2)))
        try checkGolden("maxpool2d_rect", layer: MaxPool2d((2, 3), stride: (1, 2), padding: (1, 1)))
    }

    /// Training mode also compares `running_mean`, `running_var` and `num_batches_tracked` after the forward.
    @Test func batchNorm() throws {
        try checkGolden("batchnorm1d_train_2d", layer: BatchNorm1d(5))
        try checkGolden("batchnorm1d_train_3d", layer: BatchNorm1d(5))
        try checkGolden("batchnorm2d_train", layer: BatchNorm2d(3))
        try checkGolden("batchnorm2d_train_cumulative", layer: BatchNorm2d(3, momentum: nil))
        try checkGolden("batchnorm1d_eval", layer: BatchNorm1d(5), training: false)
        try checkGolden("batchnorm2d_eval", layer: BatchNorm2d(3), training: false)
    }

    @Test func layerAndGroupNorm() throws {
        try checkGolden("layernorm_2d_shape", layer: LayerNorm([4, 5]))
        try checkGolden("layernorm_last", layer: LayerNorm(6))
        try checkGolden("layernorm_nobias", layer: LayerNorm(6, bias: false))
        try checkGolden("groupnorm", layer: GroupNorm(3, 6))
    }

    @Test func embeddingAndDropout() throws {
        try checkGolden("embedding_padding", layer: Embedding(10, 4, paddingIdx: 0))
        try checkGolden("embedding_negative_padding", layer: Embedding(10, 4, paddingIdx: -1))
        try checkGolden("dropout_eval", layer: Dropout(p: 0.5), training: false)
    }

    /// 2 layers, bidirectional, batch-first, with initial states: output, h_n (and c_n), then the gradients of
    /// the input, the initial states and every weight.
    @Test func recurrent() throws {
        let rnn = RNN(5, 4, numLayers: 2, batchFirst: true, bidirectional: true)
        try checkGolden("rnn", module: rnn) { x in
            let r = rnn(x[0], h0: x[1])
            return [r.output, r.hN]
        }
        let lstm = LSTM(5, 4, numLayers: 2, batchFirst: true, bidirectional: true)
        try checkGolden("lstm", module: lstm) { x in
            let r = lstm(x[0], h0: x[1], c0: x[2])
            return [r.output, r.hN, r.cN]
        }
        let gru = GRU(5, 4, numLayers: 2, batchFirst: true, bidirectional: true)
        try checkGolden("gru", module: gru) { x in
            let r = gru(x[0], h0: x[1])
            return [r.output, r.hN]
        }
    }

    /// Sequence-first, default (zero) initial states, one direction.
    @Test func recurrentSimple() throws {
        let lstm = LSTM(3, 4, bias: false)
        try checkGolden("lstm_nobias", module: lstm) { x in
            let r = lstm(x[0])
            return [r.output, r.hN, r.cN]
        }
        let gru = GRU(3, 4, numLayers: 2)
        try checkGolden("gru_unidirectional", module: gru) { x in
            let r = gru(x[0])
            return [r.output, r.hN]
        }
        let rnn = RNN(3, 4)
        try checkGolden("rnn_unidirectional", module: rnn) { x in
            let r = rnn(x[0])
            return [r.output, r.hN]
        }
    }

    @Test func activations() throws {
        let cases: [(String, any Layer)] = [
            ("relu", ReLU()), ("leaky_relu", LeakyReLU(negativeSlope: 0.2)), ("gelu", GELU()),
            ("gelu_tanh", GELU(approximate: .tanh)), ("silu", SiLU()), ("tanh", Tanh()), ("sigmoid", Sigmoid()),
            ("softmax", Softmax(dim: 1)), ("log_softmax", LogSoftmax(dim: -1)),
        ]
        for (name, layer) in cases { try checkGolden(name, layer: layer) }
    }
}

@Suite("Golden: losses against PyTorch")
struct GoldenLossTests {
    /// Inputs: logits, targets (the 3s ignored), class weights.
    @Test func crossEntropy() throws {
        for (name, reduction) in [("loss_cross_entropy", Reduction.mean), ("loss_cross_entropy_sum", .sum),
                                  ("loss_cross_entropy_none", .none)] {
            try checkGolden(name, module: nil) { x in
                [Loss.crossEntropy(x[0], x[1], weight: x[2], ignoreIndex: 3, labelSmoothing: 0.1, reduction: reduction)]
            }
        }
        try checkGolden("loss_cross_entropy_plain", module: nil) { x in [Loss.crossEntropy(x[0], x[1])] }
        try checkGolden("loss_cross_entropy_default_ignore", module: nil) { x in [Loss.crossEntropy(x[0], x[1])] }
    }

    @Test func nll() throws {
        try checkGolden("loss_nll", module: nil) { x in [Loss.nll(x[0], x[1], weight: x[2], ignoreIndex: 3)] }
    }

    @Test func regression() throws {
        try checkGolden("loss_mse", module: nil) { x in [Loss.mse(x[0], x[1])] }
        try checkGolden("loss_l1", module: nil) { x in [Loss.l1(x[0], x[1])] }
        try checkGolden("loss_smooth_l1", module: nil) { x in [Loss.smoothL1(x[0], x[1], beta: 0.5)] }
        try checkGolden("loss_huber", module: nil) { x in [Loss.huber(x[0], x[1], delta: 0.7)] }
    }

    @Test func binaryCrossEntropyWithLogits() throws {
        try checkGolden("loss_bce_with_logits", module: nil) { x in
            [Loss.binaryCrossEntropyWithLogits(x[0], x[1], positiveWeight: x[2])]
        }
    }
}

/// One model, one batch, PyTorch's optimizer steps: `Sequential(Linear(20, 16), ReLU(), Linear(16, 5))` with
/// cross-entropy, weights compared after 1 and 3 steps within atol 1e-6.
@Suite("Golden: optimizer steps against PyTorch")
struct GoldenOptimizerTests {
    private func run(_ name: String, makeOptimizer: ([Tensor]) -> Optimizer) throws {
        let golden = try Golden(name)
        let model = Sequential {
            Linear(20, 16); ReLU()
            Linear(16, 5)
        }
        try model.loadStateDict(golden.group("init"), strict: true)
        let optimizer = makeOptimizer(model.parameters())
        for step in 1...3 {
            optimizer.zeroGrad()
            Loss.crossEntropy(model(golden["x"]), golden["y"]).backward()
            optimizer.step()
            guard step == 1 || step == 3 else { continue }
            let state = model.stateDict()
            for (key, want) in golden.group("step\(step)") {
                expectGoldenClose(state[key]!, want, "\(name) \(key) after step \(step)", atol: 1e-6, rtol: 0)
            }
        }
    }

    @Test func sgdWithMomentumAndWeightDecay() throws {
        try run("optim_sgd") { SGD($0, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: false) }
    }

    @Test func adamW() throws {
        try run("optim_adamw") { AdamW($0, learningRate: 1e-2, weightDecay: 0.01) }
    }
}
