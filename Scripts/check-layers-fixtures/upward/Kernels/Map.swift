// A kernel that reads a tensor's shape: an upward use.
func unaryMap(_ x: Tensor) -> Int { 0 }
