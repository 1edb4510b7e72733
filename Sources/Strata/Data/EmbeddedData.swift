import Foundation

/// Datasets that ship inside the Strata repository.
///
/// The MNIST files (11 MB gzipped) live in `Data/mnist` at the repository root rather than in a SwiftPM
/// resource bundle, which would copy them into every build. They are found from this source file's
/// compile-time path (`#filePath`, i.e. `<root>/Sources/Strata/Data/EmbeddedData.swift`) by walking up to
/// the directory that holds `Package.swift`. So a binary finds them while the checkout it was built from
/// exists; elsewhere, set `STRATA_MNIST_DIR` to a directory holding the four files.
public enum EmbeddedData {
    /// The repository root this library was compiled from: the nearest ancestor of this file holding `Package.swift`.
    public static var packageRoot: URL? {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            directory.deleteLastPathComponent()
        }
        return nil
    }

    /// The directory holding MNIST's four gzipped IDX files and their `SHA256SUMS`: `STRATA_MNIST_DIR` if set,
    /// else `<packageRoot>/Data/mnist`.
    public static var mnistDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["STRATA_MNIST_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        let root = packageRoot ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("Data").appendingPathComponent("mnist")
    }
}
