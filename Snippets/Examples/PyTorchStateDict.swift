// Loads a state dict that PyTorch saved (`safetensors.torch.save_file(model.state_dict(), path)`) into the
// same layers in Strata, runs both on the same batch and compares the logits.
// `PyTorchStateDict [model.safetensors io.safetensors]`; by default the files Tests/Golden/make_example_cnn.py
// wrote: the state dict, and the inputs with PyTorch's logits.
import Foundation
import Strata

let arguments = Array(CommandLine.arguments.dropFirst())
let golden = EmbeddedData.packageRoot!.appendingPathComponent("Tests/Golden")
let modelFile = arguments.count > 0 ? URL(fileURLWithPath: arguments[0]) : golden.appendingPathComponent("example_cnn.safetensors")
let ioFile = arguments.count > 1 ? URL(fileURLWithPath: arguments[1]) : golden.appendingPathComponent("example_cnn_io.safetensors")

// snippet.load
// The PyTorch module, layer for layer, so that the state dict's names (`0.weight`, `1.running_mean`, …)
// and layouts match:
//   nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
//                 nn.Flatten(), nn.Linear(8 * 14 * 14, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 10))
let model = Sequential {
    Conv2d(1, 8, kernelSize: (3, 3), padding: (1, 1)); BatchNorm2d(8); ReLU(); MaxPool2d((2, 2))
    Flatten(); Linear(8 * 14 * 14, 32); ReLU(); Dropout(p: 0.1); Linear(32, 10)
}
let stateDict = try Safetensors.load(modelFile)                  // [String: Tensor] under PyTorch's names
try model.loadStateDict(stateDict, strict: true)                 // throws naming a missing, extra or misshapen tensor
model.eval()                                                     // as model.eval(): running statistics, no dropout
// snippet.end

// snippet.compare
let io = try Safetensors.load(ioFile)
let (inputs, expected) = (io["inputs"]!, io["logits"]!)          // [4, 1, 28, 28] and PyTorch's [4, 10]
let logits = withNoGrad { model(inputs) }                        // nothing recorded on the tape
let difference = (logits - expected).abs().max().item()
print("logits \(logits.shape), largest difference from PyTorch's: \(difference)")
print("same predictions: \(logits.argmax(dim: 1).eq(expected.argmax(dim: 1)).to(.float32).min().item() == 1)")
// snippet.end
if difference > 1e-5 { fatalError("the logits differ from PyTorch's by \(difference)") }
