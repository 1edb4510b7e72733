// A character-level transformer language model trained on a text file, then
// sampled from. `CharTransformer [file] [steps] [characters]` trains on
// `file` (this repository's README by default) for `steps` optimizer steps
// (300) and prints `characters` sampled characters (200).
import Foundation
import Strata

let arguments = Array(CommandLine.arguments.dropFirst())
let file = arguments.first.map { URL(fileURLWithPath: $0) }
    ?? EmbeddedData.packageRoot!.appendingPathComponent("README.md")
let steps = arguments.count > 1 ? Int(arguments[1])! : 300
let sampleLength = arguments.count > 2 ? Int(arguments[2])! : 200

// snippet.data
let text = try String(contentsOf: file, encoding: .utf8)
// every character of the file, once
let vocabulary = Array(Set(text)).sorted()
let index = Dictionary(
    uniqueKeysWithValues: vocabulary.enumerated().map { ($1, Int64($0)) })
// the file as token ids
let ids = text.map { index[$0]! }
// B windows of T characters per step
let (batchSize, context) = (16, 64)
var generator = RandomGenerator(seed: 0)

/// B random windows: inputs `[B, T]` and the next character of each
/// position, `[B, T]`.
func randomWindows(_ generator: inout RandomGenerator)
    -> (inputs: Tensor, targets: Tensor) {
    var inputs: [Int64] = [], targets: [Int64] = []
    for _ in 0..<batchSize {
        let starts = UInt64(ids.count - context - 1)
        let start = Int(generator.next(upperBound: starts))
        inputs += ids[start..<start + context]
        targets += ids[start + 1...start + context]
    }
    return (Tensor(inputs, shape: [batchSize, context]),
            Tensor(targets, shape: [batchSize, context]))
}
// snippet.end

// snippet.train
Strata.seed(0)
let model = TinyGPT(vocab: vocabulary.count, seq: context, d: 64, heads: 4,
                    layers: 2, ffn: 256)
let optimizer = AdamW(model.parameters(), learningRate: 3e-3)
let schedule = CosineSchedule(optimizer, period: steps)
for step in 1...steps {
    let (inputs, targets) = randomWindows(&generator)
    optimizer.zeroGrad()
    let logits = model(inputs)                                 // [B, T, V]
    let loss = Loss.crossEntropy(
        logits.reshaped([batchSize * context, vocabulary.count]),
                                 targets.reshaped([batchSize * context]))
    loss.backward()
    // returns the norm before clipping
    _ = GradientClipping.clipByNorm(model.parameters(), maxNorm: 1)
    optimizer.step()
    schedule.step()
    if step == 1 || step % 50 == 0 || step == steps {
        print("step \(step): loss \(loss.item())")
    }
}
// snippet.end

// snippet.sample
model.eval()
var sampled = [ids[0]]
for _ in 0..<sampleLength {
    let window = Array(sampled.suffix(context))
    // [1, t, V]
    let logits = withNoGrad {
        model(Tensor(window, shape: [1, window.count]))
    }
    // temperature 0.8
    let last = logits.select(1, window.count - 1)               // [1, V]
    let next = (last / 0.8).softmax(dim: -1).toDoubles()
    var u = generator.nextUnit(), choice = next.count - 1
    for (i, p) in next.enumerated() {
        u -= p
        if u < 0 { choice = i; break }
    }
    sampled.append(Int64(choice))
}
print("sample: " + String(sampled.map { vocabulary[Int($0)] }))
// snippet.end
