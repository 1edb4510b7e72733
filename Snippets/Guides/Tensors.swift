// Tensors: making them, their dtypes, views that share storage, and
// broadcasting.
import Strata

// snippet.make
// float32 [2, 3], row-major
let a = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
// int64 [6]: 0, 1, …, 5
let b = Tensor.arange(0, 6)
// float64 for checking
let c = Tensor.zeros([2, 3], dtype: .float64)
// from the global generator (Strata.seed)
let d = Tensor.normal([4, 3], mean: 0, std: 0.1)
// prints [2, 3] float32 int64 float64 12
print(a.shape, a.dtype, b.dtype, c.dtype, d.count)
// prints [1.0, 2.0, …, 6.0] 21.0
print(a.toDoubles(), a.sum().item())
// snippet.end

// snippet.views
// [3, 2]: new strides, same storage
let t = a.transposed()
// prints [3, 2] [1, 3] false
print(t.shape, t.strides, t.isContiguous)
// [3]: the second row, a view
let row = a.select(0, 1)
// [2, 2]: columns 1 and 2, a view
let columns = a.slice(1, 1..<3)
// a view, since a is contiguous
let flat = a.reshaped([6])
// prints [4.0, 5.0, 6.0] [2.0, 3.0, 5.0, 6.0] [6]
print(row.toDoubles(), columns.toDoubles(), flat.shape)
// writes through the view into a
row.copy(from: Tensor([0, 0, 0] as [Float]))
// prints [1.0, 2.0, 3.0, 0.0, 0.0, 0.0]
print(a.toDoubles())
// snippet.end

// snippet.broadcast
// Shapes line up from the right; a dimension of 1 (or a missing one)
// stretches to the other's size.
let column = Tensor([10, 20] as [Float], shape: [2, 1])          // [2, 1]
let bias = Tensor([1, 2, 3] as [Float])                          // [3]
// [2, 1] + [3] → [2, 3]
let sum = column + bias
// prints [2, 3] [11.0, 12.0, 13.0, 21.0, 22.0, 23.0]
print(sum.shape, sum.toDoubles())
// [2, 3] − [2, 1]: each row minus its mean
let centred = a - a.mean(dim: 1, keepDims: true)
// prints [0.0, 0.0]
print(centred.sum(dim: 1).toDoubles())
// scalars broadcast too
let scaled = 2 * a + 1
// prints [2, 3] [2, 2]
print(scaled.shape, a.matmul(t).shape)
// snippet.end
