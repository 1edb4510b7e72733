extension Tensor {
    /// Records `output` as the result of a differentiable op on the tape.
    ///
    /// This is the one mechanism every op in Strata uses, and it is public so that users can add their own
    /// differentiable ops. Compute the forward value with any code (tape recording is off for the pullback,
    /// and the forward may use `withNoGrad` or raw buffers), then call this with a pullback that maps the
    /// gradient of `output` (same shape) to one gradient per input, each of that input's shape, or `nil`
    /// where an input needs none. The pullback must capture values it needs, never `output` itself.
    ///
    /// ```swift
    /// // y = x³, dy/dx = 3x²
    /// func cube(_ x: Tensor) -> Tensor {
    ///     let y = withNoGrad { x * x * x }
    ///     return Tensor.differentiable("cube", inputs: [x], output: y) { g in
    ///         [g * 3 * x * x]
    ///     }
    /// }
    /// ```
    /// When grad mode is off or no input is tracked, `output` is returned untouched and nothing is recorded.
    public static func differentiable(_ op: String, inputs: [Tensor], output: Tensor,
                                      pullback: @escaping (_ gradient: Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: \.isTracked) else { return output }
        require(output.gradFn == nil && !output.requiresGrad,
                     "\(op): the output passed to differentiable(_:inputs:output:pullback:) is already on the tape")
        output.gradFn = GradNode(op: op, inputs: inputs, pullback: pullback)
        return output
    }

    /// Back-propagates from this tensor, adding into `grad` of every leaf that requires grad.
    ///
    /// - Parameters:
    ///   - seed: the gradient of this tensor; omitted, this tensor must have one element and the seed is 1.
    ///   - retainGraph: keep the graph so that backward can run through it again.
    ///
    /// The graph is walked in reverse topological order with an explicit stack, so a graph thousands of
    /// ops deep does not overflow the call stack. Gradients of a tensor used several times are summed.
    public func backward(seed: Tensor? = nil, retainGraph: Bool = false) {
        require(isTracked, "backward: the tensor does not require grad and was not computed from one that does")
        let seed = seed ?? {
            require(count == 1, "backward: a seed gradient is needed for a non-scalar output of shape \(shape)")
            return Tensor.ones(shape, dtype: dtype)
        }()
        require(seed.shape == shape && seed.dtype == dtype,
                "backward: seed \(seed.shape) (\(seed.dtype)) differs from output \(shape) (\(dtype)) in shape or dtype")

        let order = topologicalOrder()
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        withNoGrad {
            for tensor in order.reversed() {
                guard let gradient = pending.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
                guard let node = tensor.gradFn else {
                    if tensor.requiresGrad {
                        tensor.grad = tensor.grad.map { gradientSum($0, gradient) } ?? gradient.contiguousData()
                    }
                    continue
                }
                let grads = node(gradient)
                for (index, input) in node.inputs.enumerated() where node.wants[index] {
                    guard let g = grads[index] else { continue }
                    require(g.shape == input.shape && g.dtype == input.dtype,
                                 "\(node.op): pullback gave a gradient of shape \(g.shape) (\(g.dtype)) for an input of shape \(input.shape) (\(input.dtype))")
                    let key = ObjectIdentifier(input)
                    pending[key] = pending[key].map { gradientSum($0, g) } ?? g
                }
                if !retainGraph { node.free() }
            }
        }
    }

    /// `a + b` for two gradients of one tensor (the same shape and float dtype), as a fresh contiguous tensor: a
    /// copy of `a` with `b` added by axpy, `y ← 1·x + y`, which rounds as `a + b` does.
    private func gradientSum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = a.copyValues(), x = b.contiguousData()
        func run<T: FloatElement>(_: T.Type) {
            T.axpy(count: out.count, alpha: 1, x: x.pointer(T.self), incx: 1, y: out.pointer(T.self), incy: 1)
        }
        switch out.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported("backward", out.dtype)
        }
        return out
    }

    /// Every tracked tensor reachable from this one, each after all the tensors it was computed from.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
        var stack: [(tensor: Tensor, next: Int)] = [(self, 0)]
        while let (tensor, next) = stack.last {
            let inputs = tensor.gradFn?.inputs ?? []
            if next < inputs.count {
                stack[stack.count - 1].next += 1
                let input = inputs[next]
                if input.isTracked, visited.insert(ObjectIdentifier(input)).inserted {
                    stack.append((input, 0))
                }
            } else {
                order.append(tensor)
                stack.removeLast()
            }
        }
        return order
    }

    /// The same values, cut off from the tape: no gradient flows back through the result.
    public func detached() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset, dtype: dtype)
    }

    /// Sets `grad` to `nil`.
    public func zeroGrad() { grad = nil }
}
