// Layers: composing them, writing a module of your own, the parameter names PyTorch gives, and modes.
import Strata

// snippet.module
/// A residual block: `x + linear2(relu(linear1(x)))`, with a layer norm first.
final class ResidualBlock: Layer {
    let norm: LayerNorm                                   // found by reflection, named "norm"
    let linear1: Linear, linear2: Linear                  // "linear1", "linear2"
    init(_ width: Int, hidden: Int) {
        (norm, linear1, linear2) = (LayerNorm(width), Linear(width, hidden), Linear(hidden, width))
    }
    func callAsFunction(_ x: Tensor) -> Tensor { x + linear2(linear1(norm(x)).relu()) }
}

let model = Sequential {
    Linear(8, 16)
    ResidualBlock(16, hidden: 64)
    Dropout(p: 0.1)
    Linear(16, 4)
}
for (name, tensor) in model.namedParameters() { print(name, tensor.shape) }
// 0.weight [16, 8], 0.bias [16], 1.norm.weight [16], 1.norm.bias [16], 1.linear1.weight [64, 16], …
// snippet.end

// snippet.recurrent
let lstm = LSTM(8, 16, batchFirst: true)
let x = Tensor.normal([2, 5, 8])                          // [B, T, I]
let (output, hN, cN) = lstm(x)                            // the full call, as PyTorch's lstm(x)
let sequence: Tensor = lstm(x)                            // the Layer call: the output sequence only
print(output.shape, hN.shape, cN.shape, sequence.shape)   // [2, 5, 16] [1, 2, 16] [1, 2, 16] [2, 5, 16]
print(lstm.namedParameters().map(\.name))                 // weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
// snippet.end

// snippet.modes
model.eval()                                              // dropout off, batch norm on running statistics
let logits = withNoGrad { model(Tensor.normal([3, 8])) }
model.train()
model.freeze()                                            // requiresGrad = false on every parameter
print(logits.shape, model.trainableParameters().count)    // [3, 4] 0
// snippet.end
