// A differentiable op of your own, softplus(x) = log(1 + eˣ), with its
// pullback, checked by `gradcheck` against finite differences in Float64
// and then used in a model.
import Strata

// snippet.op
extension Tensor {
    /// `log(1 + eˣ)` elementwise, computed stably as `max(x, 0) + log(1 +
    /// e^−|x|)`.
    func softplus() -> Tensor {
        // the value the pullback captures, not the graph node
        let x = detached()
        let y = withNoGrad { x.relu() + ((-x.abs()).exp() + 1).log() }
        return Tensor.differentiable("softplus", inputs: [self],
                                     output: y) { g in
            // d/dx softplus(x) = σ(x); multiply by the upstream g
            [g * x.sigmoid()]
        }
    }
}
// snippet.end

// snippet.check
Strata.seed(0)
// gradcheck perturbs Float64 inputs
let x = Tensor.normal([4, 5], dtype: .float64)
let result = gradcheck([x]) { inputs in inputs[0].softplus() }
print("gradcheck passed: \(result.passed)")
print(result)
// snippet.end

// snippet.use
let model = Sequential { Linear(5, 3) }
let y = model(Tensor.normal([8, 5])).softplus().mean()
y.backward()
let weight = model.parameters()[0]
print("loss \(y.item()), weight gradient \(weight.grad!.shape)")
// snippet.end
if !result.passed {
    fatalError("softplus's pullback disagrees with finite differences")
}
