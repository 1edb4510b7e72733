// Layers: composing them, writing a module of your own, the parameter names
// PyTorch gives, and modes.
import Strata

// snippet.module
/// A residual block: `x + linear2(relu(linear1(x)))`, with a layer norm
/// first.
final class ResidualBlock: Layer {
    // found by reflection, named "norm"
    let norm: LayerNorm
    // "linear1", "linear2"
    let linear1: Linear, linear2: Linear
    init(_ width: Int, hidden: Int) {
        norm = LayerNorm(width)
        (linear1, linear2) = (Linear(width, hidden), Linear(hidden, width))
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        x + linear2(linear1(norm(x)).relu())
    }
}

let model = Sequential {
    Linear(8, 16)
    ResidualBlock(16, hidden: 64)
    Dropout(p: 0.1)
    Linear(16, 4)
}
for (name, tensor) in model.namedParameters() { print(name, tensor.shape) }
// 0.weight [16, 8], 0.bias [16], 1.norm.weight [16], 1.norm.bias [16],
// 1.linear1.weight [64, 16], …
// snippet.end

// snippet.recurrent
let lstm = LSTM(8, 16, batchFirst: true)
let x = Tensor.normal([2, 5, 8])                          // [B, T, I]
// the full call, as PyTorch's lstm(x)
let (output, hN, cN) = lstm(x)
// the Layer call: the output sequence only
let sequence: Tensor = lstm(x)
// prints [2, 5, 16] [1, 2, 16] [1, 2, 16] [2, 5, 16]
print(output.shape, hN.shape, cN.shape, sequence.shape)
// prints weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
print(lstm.namedParameters().map(\.name))
// snippet.end

// snippet.modes
// dropout off, batch norm on running statistics
model.eval()
let logits = withNoGrad { model(Tensor.normal([3, 8])) }
model.train()
// requiresGrad = false on every parameter
model.freeze()
print(logits.shape, model.trainableParameters().count)    // [3, 4] 0
// snippet.end
