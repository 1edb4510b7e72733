// Writes a Strata model's state dict as safetensors, for PyTorch's
// load_state_dict, and reads it back.
import Foundation
import Strata

// snippet.save
Strata.seed(0)
/// A small CNN for 32×32 RGB images.
func makeModel() -> Sequential {
    Sequential {
        Conv2d(3, 8, kernelSize: (3, 3)); BatchNorm2d(8); ReLU()
        Flatten(); Linear(8 * 30 * 30, 10)
    }
}
let model = makeModel()
let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("strata-model-\(UUID().uuidString).safetensors")
// written atomically
try Safetensors.save(model.stateDict(), metadata: ["format": "pt"], to: url)
// prints 0.bias, 0.weight, 1.bias, 1.num_batches_tracked, …
print(model.stateDict().keys.sorted())
// snippet.end

// snippet.read
// the tensors and the header's metadata
let file = try SafetensorsFile.read(from: url)
// prints ["format": "pt"] 9
print(file.metadata, file.tensors.count)
let copy = makeModel()
try copy.loadStateDict(Safetensors.load(url))
// snippet.end
try FileManager.default.removeItem(at: url)
