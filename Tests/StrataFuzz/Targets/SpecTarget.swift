import DLTrainKit
import Foundation
import Strata

/// JSON model specs through `ModelSpec.load`, `build` for MNIST's `[1, 28, 28]` and one forward pass of two
/// examples, and through `dltrain info --model-file` and a one-step `train --model-file`.
///
/// The harness has no shape oracle of its own for a spec (that would be a second spec builder), so a case may be
/// accepted or refused (`Verdict.either`); a refusal must name the file, and a crash or hang is a finding. What
/// `info` accepts, `train` must train or refuse the same way.
struct SpecTarget: FuzzTarget {
    let name = "spec"
    let checks = ["build"]
    static let file = "model.json"

    func seeds(_ random: inout FuzzRandom) throws -> [FuzzCase] {
        let specs: [(String, String)] = [
            ("linear", CheckpointTarget.linearSpec),
            ("batchnorm", CheckpointTarget.batchNormSpec),
            ("conv", #"{"nodes":[{"op":"conv2d","in_channels":1,"out_channels":4,"kernel_size":3,"padding":1},{"op":"relu"},{"op":"maxpool2d","kernel_size":2},{"op":"flatten"},{"op":"linear","in_features":784,"out_features":10}]}"#),
            ("pooled conv", #"{"nodes":[{"op":"conv2d","in_channels":1,"out_channels":2,"kernel_size":5,"stride":2,"dilation":1},{"op":"adaptiveavgpool2d","output_size":3},{"op":"flatten"},{"op":"dropout","p":0.5},{"op":"linear","in_features":18,"out_features":10}]}"#),
            ("reshape", #"{"nodes":[{"op":"reshape","shape":[28,28]},{"op":"linear","in_features":28,"out_features":4},{"op":"flatten"},{"op":"layernorm","normalized_shape":[112]},{"op":"linear","in_features":112,"out_features":10}]}"#),
        ]
        return specs.map { FuzzCase([Self.file: Array($0.1.utf8)], origin: "seed: \($0.0)") }
    }

    func hostileCases(from seeds: [FuzzCase], _ random: inout FuzzRandom) throws -> [FuzzCase] {
        let big = ["1000000000000", "9223372036854775807", "9223372036854775808", "4611686018427387904", "2147483648", "-1", "0", "1e300", "1.5"]
        var cases: [FuzzCase] = []
        func spec(_ nodes: String) -> [UInt8] { Array(#"{"nodes":[\#(nodes)]}"#.utf8) }
        for value in big {
            cases.append(FuzzCase([Self.file: spec(#"{"op":"flatten"},{"op":"linear","in_features":784,"out_features":\#(value)}"#)], origin: "hostile: linear out_features \(value)"))
            for field in ["kernel_size", "padding", "dilation", "stride"] {
                cases.append(FuzzCase([Self.file: spec(#"{"op":"conv2d","in_channels":1,"out_channels":2,"kernel_size":3,"\#(field)":\#(value)},{"op":"flatten"},{"op":"linear","in_features":1352,"out_features":10}"#)], origin: "hostile: conv2d \(field) \(value)"))
                cases.append(FuzzCase([Self.file: spec(#"{"op":"maxpool2d","kernel_size":2,"\#(field)":\#(value)},{"op":"flatten"},{"op":"linear","in_features":196,"out_features":10}"#)], origin: "hostile: maxpool2d \(field) \(value)"))
            }
            cases.append(FuzzCase([Self.file: spec(#"{"op":"reshape","shape":[\#(value),\#(value)]},{"op":"flatten"},{"op":"linear","in_features":784,"out_features":10}"#)], origin: "hostile: reshape [\(value), \(value)]"))
            cases.append(FuzzCase([Self.file: spec(#"{"op":"adaptiveavgpool2d","output_size":\#(value)},{"op":"flatten"},{"op":"linear","in_features":1,"out_features":10}"#)], origin: "hostile: adaptive pool \(value)"))
            cases.append(FuzzCase([Self.file: spec(#"{"op":"flatten"},{"op":"embedding","num_embeddings":\#(value),"embedding_dim":4},{"op":"flatten"},{"op":"linear","in_features":3136,"out_features":10}"#)], origin: "hostile: embedding \(value) on pixels"))
        }
        cases.append(FuzzCase([Self.file: spec(#"{"op":"flatten"},{"op":"linear","in_features":784,"out_features":10,"bias":false},{"op":"relu"}"#)], origin: "hostile: no bias, still trainable"))
        cases.append(FuzzCase([Self.file: spec(#"{"op":"avgpool2d","kernel_size":7},{"op":"flatten"},{"op":"reshape","shape":[10,-1]},{"op":"flatten"},{"op":"softmax"}"#)], origin: "hostile: no parameters"))
        return cases
    }

    func mutationScopes(_ fuzzCase: FuzzCase) -> [MutationScope] {
        [MutationScope(file: Self.file, headerLength: fuzzCase.files[Self.file]?.count ?? 0)]
    }

    func judge(_ fuzzCase: FuzzCase, in directory: URL) -> [String: Verdict] {
        ["build": .either(mustName: directory.appendingPathComponent(Self.file).path)]
    }

    func run(_ check: String, in directory: URL) throws -> String? {
        let spec = try ModelSpec.load(from: directory.appendingPathComponent(Self.file))
        let model = try spec.build(inputShape: [1, 28, 28])
        _ = withNoGrad { model(Tensor.zeros([2, 1, 28, 28])) }
        return nil
    }

    func commands(in directory: URL) -> [FuzzCommand] {
        let path = directory.appendingPathComponent(Self.file).path
        return [
            FuzzCommand(check: "build", arguments: ["info", "--model-file", path]),
            FuzzCommand(check: "build", arguments: ["train", "--model-file", path, "--limit", "4", "--batch-size", "2", "--epochs", "1", "--log-every", "0"],
                        tolerated: ["loss became"]),
        ]
    }
}
