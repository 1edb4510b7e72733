// Loads a state dict that PyTorch saved
// (`safetensors.torch.save_file(model.state_dict(), path)`) into the same
// layers in Strata, runs both on the same batch and compares the logits.
// `PyTorchStateDict [model.safetensors io.safetensors]`; by default the
// files Tests/Golden/make_example_cnn.py wrote: the state dict, and the
// inputs with PyTorch's logits.
import Foundation
import Strata

let arguments = Array(CommandLine.arguments.dropFirst())
let root = EmbeddedData.packageRoot!
let golden = root.appendingPathComponent("Tests/Golden")
let files = arguments.count == 2
    ? arguments.map { URL(fileURLWithPath: $0) }
    : ["example_cnn.safetensors", "example_cnn_io.safetensors"]
        .map { golden.appendingPathComponent($0) }
let (modelFile, ioFile) = (files[0], files[1])

// snippet.load
// The PyTorch module, layer for layer, so that the state dict's names
// (`0.weight`, `1.running_mean`, …)
// and layouts match:
//   nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8),
// nn.ReLU(), nn.MaxPool2d(2),
//                 nn.Flatten(), nn.Linear(8 * 14 * 14, 32), nn.ReLU(),
// nn.Dropout(0.1), nn.Linear(32, 10))
let model = Sequential {
    Conv2d(1, 8, kernelSize: (3, 3), padding: (1, 1))
    BatchNorm2d(8); ReLU(); MaxPool2d((2, 2))
    Flatten(); Linear(8 * 14 * 14, 32); ReLU()
    Dropout(p: 0.1); Linear(32, 10)
}
// [String: Tensor] under PyTorch's names
let stateDict = try Safetensors.load(modelFile)
// throws naming a missing, extra or misshapen tensor
try model.loadStateDict(stateDict, strict: true)
// as model.eval(): running statistics, no dropout
model.eval()
// snippet.end

// snippet.compare
let io = try Safetensors.load(ioFile)
// [4, 1, 28, 28] and PyTorch's [4, 10]
let (inputs, expected) = (io["inputs"]!, io["logits"]!)
// nothing recorded on the tape
let logits = withNoGrad { model(inputs) }
let difference = (logits - expected).abs().max().item()
print("logits \(logits.shape), largest difference: \(difference)")
let agree = logits.argmax(dim: 1).eq(expected.argmax(dim: 1))
print("same predictions: \(agree.to(.float32).min().item() == 1)")
// snippet.end
if difference > 1e-5 {
    fatalError("the logits differ from PyTorch's by \(difference)")
}
