/// The output size of a sliding window, written once, for the ops and the layers' shape rules (`ShapeInferring`
/// in NN). The sizes may come from an untrusted file (a model spec), so nothing here traps: every failure is
/// thrown, and the sums and products are `CheckedSize`'s.
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

    /// The output length of a convolution or pooling window along one axis, as PyTorch computes it
    /// (floor mode): `⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1`, at least 1.
    static func windowOutputSize(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1) throws(Failure) -> Int {
        guard size >= 0 && kernel >= 1 && stride >= 1 && padding >= 0 && dilation >= 1 else { throw .invalidWindow }
        let span: Int
        do {
            let padded = try CheckedSize.add(size, CheckedSize.multiply(2, padding, "padding"), "padded size")
            span = padded - (try CheckedSize.add(CheckedSize.multiply(dilation, kernel - 1, "kernel"), 1, "kernel"))   // both non-negative
        } catch { throw .overflow }
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
        let length: Int
        do {
            let grown = try CheckedSize.add(CheckedSize.multiply(size - 1, stride, "size"),
                                            CheckedSize.add(CheckedSize.multiply(dilation, kernel - 1, "kernel"),
                                                            CheckedSize.add(outputPadding, 1, "output padding"), "kernel"),
                                            "size")
            length = grown - (try CheckedSize.multiply(2, padding, "padding"))   // both non-negative
        } catch { throw .overflow }
        guard length >= 1 else { throw .windowDoesNotFit }
        return length
    }
}
