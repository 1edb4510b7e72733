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

/// Attention and transformer layers (batch-first, dropout 0, training mode so PyTorch takes its reference
/// path). Masks are bool, true = not attended, except the additive float `attn_mask` of the self-attention case.
@Suite("Golden: attention against PyTorch")
struct GoldenAttentionTests {
    /// Inputs: query `[2, 4, 8]`, key and value `[2, 5, 8]`, key padding `[2, 5]`, attn mask `[4, 5]`;
    /// outputs: the attention output and the head-averaged weights.
    @Test func multiheadAttention() throws {
        let mha = MultiheadAttention(embedDim: 8, numHeads: 2, batchFirst: true)
        try checkGolden("mha", module: mha) { x in
            let r = mha(query: x[0], key: x[1], value: x[2], keyPaddingMask: x[3], attnMask: x[4], needWeights: true)
            return [r.output, r.weights!]
        }
    }

    /// One tensor as query, key and value (the fused in-projection), the fused attention path, a float mask.
    @Test func selfAttentionWithoutWeights() throws {
        let mha = MultiheadAttention(embedDim: 8, numHeads: 2, batchFirst: true)
        try checkGolden("mha_self_no_weights", module: mha) { x in
            [mha(query: x[0], key: x[0], value: x[0], keyPaddingMask: x[1], attnMask: x[2]).output]
        }
    }

    /// Inputs: src `[2, 4, 8]`, a causal `[4, 4]` mask, key padding `[2, 4]`.
    @Test(arguments: [false, true]) func encoderLayer(normFirst: Bool) throws {
        let layer = TransformerEncoderLayer(dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0, activation: .gelu,
                                            batchFirst: true, normFirst: normFirst)
        try checkGolden("transformer_encoder_norm_first_\(normFirst)", module: layer) { x in
            [layer(x[0], srcMask: x[1], srcKeyPaddingMask: x[2])]
        }
    }

    /// Inputs: tgt `[2, 4, 8]`, memory `[2, 5, 8]`, a causal `[4, 4]` target mask, memory key padding `[2, 5]`.
    @Test(arguments: [false, true]) func decoderLayer(normFirst: Bool) throws {
        let layer = TransformerDecoderLayer(dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0, activation: .gelu,
                                            batchFirst: true, normFirst: normFirst)
        try checkGolden(normFirst ? "transformer_decoder_norm_first" : "transformer_decoder", module: layer) { x in
            [layer(x[0], memory: x[1], tgtMask: x[2], memoryKeyPaddingMask: x[3])]
        }
    }
}

/// The float attention mask's gradient, which `mha_self_no_weights` found missing (the fused attention op
/// treated the mask as a constant; PyTorch differentiates through it, e.g. for learned position biases).
@Suite("Attention mask gradient")
struct AttentionMaskGradientTests {
    /// Float64 gradcheck through query, key, value and a float mask `[L, S]` broadcast over the batch,
    /// with a scale other than `1/√E` and a causal limit.
    @Test func scaledDotProductAttentionMask() {
        let inputs = [randomInput([2, 3, 4], seed: 31), randomInput([2, 5, 4], seed: 32), randomInput([2, 5, 3], seed: 33),
                      randomInput([3, 5], seed: 34)]
        expectGradcheck(inputs, "sdpa float mask") { x in
            Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: x[3], scale: 0.7)
        }
        expectGradcheck(inputs, "sdpa float mask, causal") { x in
            Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: x[3], isCausal: true)
        }
        // A size-1 batch dim of the mask [1, 3, 5] broadcast to the batch of 2.
        expectGradcheck(Array(inputs.prefix(3)) + [randomInput([1, 3, 5], seed: 35)], "sdpa float mask [1, L, S]") { x in
            Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: x[3])
        }
    }

    /// The same through both `MultiheadAttention` paths (fused, and separate ops when the weights are asked for).
    @Test func multiheadAttentionMask() {
        let mha = MultiheadAttention(embedDim: 4, numHeads: 2, batchFirst: true, dtype: .float64)
        let inputs = [randomInput([2, 3, 4], seed: 41), randomInput([3, 3], seed: 42)]
        for needWeights in [false, true] {
            expectGradcheck(inputs, "MultiheadAttention float mask, needWeights \(needWeights)") { x in
                mha(query: x[0], key: x[0], value: x[0], attnMask: x[1], needWeights: needWeights).output
            }
        }
    }
}
