/// Shape arithmetic shared by the ops and the layers' shape rules (`ShapeInferring` in NN): the output size
/// of a sliding window, written once, and overflow-checked sums and products. The sizes may come from an
/// untrusted file (a model spec), so nothing here traps: every failure is thrown.
enum ShapeArithmetic {
    /// Why a size cannot be computed.
    enum Failure: Error, Equatable {
        /// An intermediate or the result does not fit in `Int`.
        case overflow
        /// A window setting is out of range: kernel, stride or dilation below 1, or padding or size below 0.
        case invalidWindow
        /// The dilated kernel is longer than the padded input, so the output would be empty.
        case windowDoesNotFit
    }

    static func add(_ a: Int, _ b: Int) throws(Failure) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw .overflow }
        return sum
    }

    static func multiply(_ a: Int, _ b: Int) throws(Failure) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw .overflow }
        return product
    }

    /// The product of `values` (1 for none).
    static func product(_ values: some Sequence<Int>) throws(Failure) -> Int {
        var result = 1
        for value in values { result = try multiply(result, value) }
        return result
    }

    /// The output length of a convolution or pooling window along one axis, as PyTorch computes it
    /// (floor mode): `⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1`, at least 1.
    static func windowOutputSize(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1) throws(Failure) -> Int {
        guard size >= 0 && kernel >= 1 && stride >= 1 && padding >= 0 && dilation >= 1 else { throw .invalidWindow }
        let padded = try add(size, multiply(2, padding))
        let span = padded - (try add(multiply(dilation, kernel - 1), 1))   // both non-negative, so no overflow
        guard span >= 0 else { throw .windowDoesNotFit }
        return span / stride + 1
    }

    /// The output length of a transposed convolution along one axis, as PyTorch computes it:
    /// `(size − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1`, at least 1.
    static func transposedWindowOutputSize(_ size: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int,
                                           dilation: Int = 1) throws(Failure) -> Int {
        guard size >= 1 && kernel >= 1 && stride >= 1 && padding >= 0 && outputPadding >= 0 && dilation >= 1 else {
            throw .invalidWindow
        }
        let grown = try add(add(multiply(size - 1, stride), multiply(dilation, kernel - 1)), add(outputPadding, 1))
        let length = grown - (try multiply(2, padding))   // both non-negative, so no overflow
        guard length >= 1 else { throw .windowDoesNotFit }
        return length
    }
}
