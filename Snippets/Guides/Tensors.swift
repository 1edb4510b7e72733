// Tensors: making them, their dtypes, views that share storage, and broadcasting.
import Strata

// snippet.make
let a = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])   // float32 [2, 3], row-major
let b = Tensor.arange(0, 6)                                      // int64 [6]: 0, 1, …, 5
let c = Tensor.zeros([2, 3], dtype: .float64)                    // float64 for checking
let d = Tensor.normal([4, 3], mean: 0, std: 0.1)                 // from the global generator (Strata.seed)
print(a.shape, a.dtype, b.dtype, c.dtype, d.count)               // [2, 3] float32 int64 float64 12
print(a.toDoubles(), a.sum().item())                             // [1.0, 2.0, …, 6.0] 21.0
// snippet.end

// snippet.views
let t = a.transposed()                                           // [3, 2]: new strides, same storage
print(t.shape, t.strides, t.isContiguous)                        // [3, 2] [1, 3] false
let row = a.select(0, 1)                                         // [3]: the second row, a view
let columns = a.slice(1, 1..<3)                                  // [2, 2]: columns 1 and 2, a view
let flat = a.reshaped([6])                                       // a view, since a is contiguous
print(row.toDoubles(), columns.toDoubles(), flat.shape)          // [4.0, 5.0, 6.0] [2.0, 3.0, 5.0, 6.0] [6]
row.copy(from: Tensor([0, 0, 0] as [Float]))                     // writes through the view into a
print(a.toDoubles())                                             // [1.0, 2.0, 3.0, 0.0, 0.0, 0.0]
// snippet.end

// snippet.broadcast
// Shapes line up from the right; a dimension of 1 (or a missing one) stretches to the other's size.
let column = Tensor([10, 20] as [Float], shape: [2, 1])          // [2, 1]
let bias = Tensor([1, 2, 3] as [Float])                          // [3]
let sum = column + bias                                          // [2, 1] + [3] → [2, 3]
print(sum.shape, sum.toDoubles())                                // [2, 3] [11.0, 12.0, 13.0, 21.0, 22.0, 23.0]
let centred = a - a.mean(dim: 1, keepDims: true)                 // [2, 3] − [2, 1]: each row minus its mean
print(centred.sum(dim: 1).toDoubles())                           // [0.0, 0.0]
let scaled = 2 * a + 1                                           // scalars broadcast too
print(scaled.shape, a.matmul(t).shape)                           // [2, 3] [2, 2]
// snippet.end
