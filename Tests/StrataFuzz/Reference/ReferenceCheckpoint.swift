import Foundation

// The rules of a dltrain checkpoint (Docs/Checkpoints.md), judged from the bytes: a valid safetensors file
// whose metadata holds the position and dltrain's entries in range, whose tensors are finite, whose model
// tensors are the model's state dict (names and shapes; values that convert to the model's dtypes without
// leaving them), and whose optimizer state fits the parameters. The model a case must fit is the one its seed
// was written for (`CheckpointSchema`, read from the seed by the same reference reader).

/// The largest count a checkpoint may hold (epoch, batch, global step, seen, metric counts, optimizer steps,
/// integer buffers): 2^53, the largest integer a Double holds exactly.
let referenceMaxCount = 1 << 53

/// What a checkpoint of one run must fit, read from a valid checkpoint of it.
struct CheckpointSchema {
    /// Model tensor name → shape and dtype.
    var model: [String: (shape: [Int], dtype: String)]
    /// The shape of each optimizer parameter, by index.
    var parameterShapes: [[Int]]
    /// The optimizer's buffers per parameter.
    var bufferNames: Set<String>
    var groupCount: Int
    /// `strata.config` as written.
    var configuration: String
    var batchSize: Int
    /// Training examples per epoch.
    var examples: Int
    var modelName: String, datasetName: String

    /// The schema of `seed`, a checkpoint the library wrote (nil when it is not one).
    init?(seed bytes: [UInt8], examples: Int) {
        guard case .success(let file) = RefSafetensors.read(bytes), let configuration = file.metadata["strata.config"],
              let config = RefJSON.parse(Array(configuration.utf8))?.members else { return nil }
        func field(_ name: String) -> RefJSON? { config.first { $0.key == name }?.value }
        guard case .number(let batch)? = field("batchSize"), let batchSize = Int(batch),
              case .string(let optimizer)? = field("optimizer") else { return nil }
        var momentum = 0.0
        if case .number(let m)? = field("momentum") { momentum = Double(m) ?? 0 }
        switch optimizer {
        case "sgd": bufferNames = momentum != 0 ? ["momentum_buffer"] : []
        case "adam", "adamw": bufferNames = ["exp_avg", "exp_avg_sq"]
        default: return nil
        }
        if case .string(let model)? = field("model") { modelName = model } else { modelName = "mlp" }
        if case .string(let dataset)? = field("dataset") { datasetName = dataset } else { datasetName = "mnist" }
        (self.configuration, self.batchSize, self.examples) = (configuration, batchSize, examples)
        model = [:]
        var shapes: [Int: [Int]] = [:]
        groupCount = 0
        for (name, tensor) in file.tensors {
            guard name.hasPrefix("__optimizer__.") else {
                model[name] = (tensor.shape, tensor.dtype)
                continue
            }
            let parts = name.dropFirst("__optimizer__.".count).split(separator: ".")
            if parts.count == 3, parts[0] == "state", let index = Int(parts[1]), parts[2] != "step" { shapes[index] = tensor.shape }
            if parts.count == 3, parts[0] == "param_groups", let index = Int(parts[1]) { groupCount = max(groupCount, index + 1) }
        }
        parameterShapes = (0..<shapes.count).compactMap { shapes[$0] }
        guard parameterShapes.count == shapes.count else { return nil }
    }

    var batchesPerEpoch: Int { (examples + batchSize - 1) / batchSize }
}

/// The reference's verdicts on a checkpoint: `inspect` (a safetensors file: `dltrain info`), `load` (a
/// checkpoint of the schema's model: `eval`, `predict`) and `resume` (and a position this run can continue:
/// `train --resume`).
func judgeCheckpoint(_ bytes: [UInt8], schema: CheckpointSchema, path: String) -> [String: Verdict] {
    func invalid(_ reason: String) -> Verdict { .invalid(reason: reason, mustName: path) }
    let file: RefSafetensors
    switch RefSafetensors.read(bytes) {
    case .success(let read): file = read
    case .failure(let error): return ["inspect": invalid(error.description), "load": invalid(error.description), "resume": invalid(error.description)]
    }
    let inspect = Verdict.valid(summary: file.summary)
    let position: Position
    switch checkLoad(file, schema: schema) {
    case .success(let p): position = p
    case .failure(let error): return ["inspect": inspect, "load": invalid(error.description), "resume": invalid(error.description)]
    }
    let resume = checkResume(position, schema: schema).map(invalid) ?? .valid(summary: nil)
    return ["inspect": inspect, "load": .valid(summary: nil), "resume": resume]
}

/// The position fields, once they are known to be in range.
struct Position {
    var epoch: Int, batch: Int, seen: Int, worldSize: Int
    var metricNames: Set<String>
}

private func checkLoad(_ file: RefSafetensors, schema: CheckpointSchema) -> Result<Position, RefError> {
    func fail(_ reason: String) -> Result<Position, RefError> { .failure(RefError(reason)) }
    let meta = file.metadata
    guard meta["strata.format"] == "dltrain-checkpoint-1" else { return fail("strata.format is not dltrain-checkpoint-1") }
    func count(_ text: String?) -> Int? {
        guard let text, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text),
              value <= referenceMaxCount else { return nil }
        return value
    }
    var values: [String: Int] = [:]
    for key in ["strata.epoch", "strata.batch", "strata.global_step", "strata.seen"] {
        guard let value = count(meta[key]) else { return fail("\(key) = \(meta[key] ?? "(missing)") is not a count in 0...2^53") }
        values[key] = value
    }
    var worldSize = 1
    if let text = meta["strata.world_size"] {
        guard let value = count(text), value >= 1 else { return fail("strata.world_size = \(text) is not in 1...2^53") }
        worldSize = value
    }
    guard let lossText = meta["strata.loss_sum"], let loss = Double(lossText), loss.isFinite else {
        return fail("strata.loss_sum = \(meta["strata.loss_sum"] ?? "(missing)") is not a finite number")
    }
    let words = (meta["strata.rng"] ?? "").split(separator: ",", omittingEmptySubsequences: false)
    guard words.count == 4, words.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && UInt64($0) != nil }),
          words.contains(where: { UInt64($0) != 0 }) else {
        return fail("strata.rng = \(meta["strata.rng"] ?? "(missing)") is not four 64-bit words, not all zero")
    }
    var metricNames = Set<String>()
    for (key, value) in meta where key.hasPrefix("strata.metric.") {
        let name = String(key.dropFirst("strata.metric.".count))
        let parts = value.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
        guard !name.isEmpty, parts.count == 2, let sum = parts[0], let total = parts[1], sum.isFinite, total.isFinite,
              total >= 0, total <= Double(referenceMaxCount) else {
            return fail("\(key) = \(value) is not SUM,COUNT with a finite sum and a count in 0...2^53")
        }
        metricNames.insert(name)
    }
    if let text = meta["strata.correct"] {
        guard let correct = count(text), correct <= values["strata.seen"]! else {
            return fail("strata.correct = \(text) is not a count of at most strata.seen")
        }
        metricNames.insert("accuracy")
    }
    let batch = values["strata.batch"]!
    if batch == 0 {
        let totals = meta.filter { $0.key.hasPrefix("strata.metric.") }.values
        guard values["strata.seen"] == 0, loss == 0, totals.allSatisfy({ $0.split(separator: ",").allSatisfy { Double($0) == 0 } }),
              (meta["strata.correct"].flatMap { Int($0) } ?? 0) == 0 else {
            return fail("an epoch-boundary position (batch 0) holds running totals")
        }
    }
    // dltrain's entries.
    guard meta["strata.config"] == schema.configuration else { return fail("strata.config is not the run's") }
    if let model = meta["strata.model"], model != schema.modelName { return fail("strata.model = \(model) is not the configuration's") }
    if let dataset = meta["strata.dataset"], dataset != schema.datasetName { return fail("strata.dataset = \(dataset) is not the configuration's") }
    guard meta["strata.input_shape"] == "1,28,28" else { return fail("strata.input_shape = \(meta["strata.input_shape"] ?? "(missing)") is not the dataset's 1,28,28") }
    guard meta["strata.class_count"] == "10" else { return fail("strata.class_count = \(meta["strata.class_count"] ?? "(missing)") is not the dataset's 10") }

    // Tensors: finite; the model's names and shapes; values that fit the model's dtypes.
    for (name, tensor) in file.tensors where tensor.dtype == "F32" || tensor.dtype == "F64" {
        if tensor.values.contains(where: { !$0.isFinite }) { return fail("tensor \(name) holds NaN or infinity") }
    }
    func fits(_ tensor: RefTensor, as dtype: String) -> Bool {
        switch dtype {
        case "I64":
            if tensor.dtype == "I64" { return tensor.integers.allSatisfy { $0.magnitude <= UInt64(referenceMaxCount) } }
            return tensor.values.allSatisfy { $0.rounded() == $0 && abs($0) <= Double(referenceMaxCount) }
        case "F32": return tensor.values.allSatisfy { Float($0).isFinite }
        default: return true
        }
    }
    var modelNames = Set<String>()
    for (name, tensor) in file.tensors where !name.hasPrefix("__optimizer__.") {
        guard let expected = schema.model[name] else { return fail("tensor \(name) is not in the model") }
        guard tensor.shape == expected.shape else { return fail("tensor \(name) has shape \(tensor.shape), the model \(expected.shape)") }
        guard fits(tensor, as: expected.dtype) else { return fail("tensor \(name) has values a \(expected.dtype) cannot hold") }
        modelNames.insert(name)
    }
    guard modelNames.count == schema.model.count else { return fail("model tensors are missing") }

    var state: [Int: Set<String>] = [:]
    for (name, tensor) in file.tensors where name.hasPrefix("__optimizer__.") {
        let parts = name.dropFirst("__optimizer__.".count).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func index(_ text: String, below bound: Int) -> Int? {
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text == "0" || !text.hasPrefix("0"),
                  let value = Int(text), value < bound else { return nil }
            return value
        }
        if parts.count == 3, parts[0] == "param_groups", parts[2] == "lr" {
            guard index(parts[1], below: schema.groupCount) != nil else { return fail("\(name): no such parameter group") }
            guard tensor.shape == [], let rate = tensor.values.first, rate >= 0 else { return fail("\(name) is not one non-negative rate") }
            continue
        }
        guard parts.count == 3, parts[0] == "state", let i = index(parts[1], below: schema.parameterShapes.count) else {
            return fail("\(name) is not an optimizer entry of this model")
        }
        state[i, default: []].insert(parts[2])
        if parts[2] == "step" {
            let step = tensor.values.first ?? .nan
            let exact = tensor.dtype != "I64" || (tensor.integers.first.map { $0 >= 0 && $0 <= Int64(referenceMaxCount) } ?? false)
            guard tensor.shape == [], exact, step.rounded() == step, step >= 0, step <= Double(referenceMaxCount) else {
                return fail("\(name) is not one step count in 0...2^53")
            }
        } else {
            guard schema.bufferNames.contains(parts[2]) else { return fail("\(name): the optimizer keeps no such buffer") }
            guard tensor.shape == schema.parameterShapes[i] else { return fail("\(name) has shape \(tensor.shape), the parameter \(schema.parameterShapes[i])") }
            guard fits(tensor, as: "F32") else { return fail("\(name) has values a F32 cannot hold") }
        }
    }
    for (i, names) in state where names != schema.bufferNames.union(["step"]) {
        return fail("the optimizer state of parameter \(i) is \(names.sorted()), not \(schema.bufferNames.union(["step"]).sorted())")
    }
    return .success(Position(epoch: values["strata.epoch"]!, batch: batch, seen: values["strata.seen"]!, worldSize: worldSize,
                             metricNames: metricNames))
}

/// Why the run cannot continue from `position` (one process, the schema's loader and the Accuracy metric), or nil.
private func checkResume(_ position: Position, schema: CheckpointSchema) -> String? {
    guard position.batch > 0 else { return nil }
    guard position.batch <= schema.batchesPerEpoch else { return "batch \(position.batch) is past the epoch's \(schema.batchesPerEpoch) batches" }
    guard position.worldSize == 1 else { return "a mid-epoch position of \(position.worldSize) processes resumed by one" }
    guard position.metricNames == ["accuracy"] else { return "running totals of \(position.metricNames.sorted()), not of the run's metrics" }
    let seen = min(position.batch * schema.batchSize, schema.examples)
    guard position.seen == seen else { return "strata.seen = \(position.seen), but \(position.batch) batches hold \(seen) examples" }
    return nil
}
