// A differentiable op of your own, softplus(x) = log(1 + eˣ), with its pullback, checked by `gradcheck`
// against finite differences in Float64 and then used in a model.
import Strata

// snippet.op
extension Tensor {
    /// `log(1 + eˣ)` elementwise, computed stably as `max(x, 0) + log(1 + e^−|x|)`.
    func softplus() -> Tensor {
        let x = detached()                                   // the value the pullback captures, not the graph node
        let y = withNoGrad { x.relu() + ((-x.abs()).exp() + 1).log() }
        return Tensor.differentiable("softplus", inputs: [self], output: y) { g in
            [g * x.sigmoid()]                                // d/dx softplus(x) = σ(x); multiply by the upstream g
        }
    }
}
// snippet.end

// snippet.check
Strata.seed(0)
let x = Tensor.normal([4, 5], dtype: .float64)              // gradcheck perturbs Float64 inputs
let result = gradcheck([x]) { inputs in inputs[0].softplus() }
print("gradcheck passed: \(result.passed)")
print(result)
// snippet.end

// snippet.use
let model = Sequential { Linear(5, 3) }
let y = model(Tensor.normal([8, 5])).softplus().mean()
y.backward()
print("loss \(y.item()), weight gradient \(model.parameters()[0].grad!.shape)")
// snippet.end
if !result.passed { fatalError("softplus's pullback disagrees with finite differences") }
