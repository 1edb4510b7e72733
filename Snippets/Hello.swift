// A first tensor.
import Strata

// snippet.make
let x = Tensor.zeros([2, 3])
// snippet.show
print(x.shape)
