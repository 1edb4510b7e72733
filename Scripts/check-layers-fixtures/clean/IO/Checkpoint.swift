func save(_ tensors: [String: Tensor]) {}
private struct Scratch {}
