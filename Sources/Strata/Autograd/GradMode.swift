/// Whether ops record onto the tape. Scoped per task with `@TaskLocal`, never a loose global.
public enum GradMode {
    /// Whether ops record now: `true` unless inside `withNoGrad(_:)`.
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording any op on the tape: results have no `gradFn` and do not require grad.
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false, operation: body)
}
