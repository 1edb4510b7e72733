// Reverse-mode autodiff: leaves that require grad, backward, gradients that
// add up, and no-grad scopes.
import Strata

// snippet.basics
let w = Tensor([2, -1] as [Double], shape: [2])
// a leaf: backward fills w.grad
w.requiresGrad = true
let x = Tensor([3, 4] as [Double], shape: [2])
let y = (w * x).sum() + (w * w).sum()              // y = Σ wᵢxᵢ + Σ wᵢ²
y.backward()                                          // dy/dw = x + 2w
print(w.grad!.toDoubles())                            // [7.0, 2.0]
// snippet.end

// snippet.accumulate
let z = (w * 3).sum()
// adds 3 to every w.grad element: gradients accumulate
z.backward()
print(w.grad!.toDoubles())                            // [10.0, 5.0]
// what optimizer.zeroGrad() does for each parameter
w.zeroGrad()
print(w.grad == nil)                                  // true
// snippet.end

// snippet.nograd
// nothing recorded: no gradFn, no requiresGrad
let frozen = withNoGrad { w * 2 }
// the same values, cut from the graph
let cut = (w * 2).detached()
// prints false false true
print(frozen.isTracked, cut.isTracked, GradMode.isEnabled)
// snippet.end
