// Writes a Strata model's state dict as safetensors, for PyTorch's load_state_dict, and reads it back.
import Foundation
import Strata

// snippet.save
Strata.seed(0)
let model = Sequential { Conv2d(3, 8, kernelSize: (3, 3)); BatchNorm2d(8); ReLU(); Flatten(); Linear(8 * 30 * 30, 10) }
let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-model-\(UUID().uuidString).safetensors")
try Safetensors.save(model.stateDict(), metadata: ["format": "pt"], to: url)   // written atomically
print(model.stateDict().keys.sorted())       // 0.bias, 0.weight, 1.bias, 1.num_batches_tracked, 1.running_mean, …
// snippet.end

// snippet.read
let file = try SafetensorsFile.read(from: url)                  // the tensors and the header's metadata
print(file.metadata, file.tensors.count)                        // ["format": "pt"] 9
let copy = Sequential { Conv2d(3, 8, kernelSize: (3, 3)); BatchNorm2d(8); ReLU(); Flatten(); Linear(8 * 30 * 30, 10) }
try copy.loadStateDict(Safetensors.load(url))
// snippet.end
try FileManager.default.removeItem(at: url)
