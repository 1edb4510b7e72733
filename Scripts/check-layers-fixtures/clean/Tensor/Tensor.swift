public final class Tensor {
    let lanes = Lanes()
    /// A TensorView-like name is another word, so `TensorPool` below does not match `Tensor` by prefix.
    let pool = TensorPool()
}
struct TensorPool {}
