/// Stops the program with `message` when `condition` is false, in every build configuration.
///
/// Strata checks programmer errors (a shape mismatch, an index out of range) with this instead of
/// `precondition`, because optimised builds drop `precondition`'s message, and the message — naming the op
/// and the shapes involved — is the point.
@inline(__always)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
