import Foundation
import DLTrainKit
import Strata
import Testing

@Suite struct ConfigurationTests {
    @Test func aConfigurationRoundTripsThroughItsJSON() throws {
        var c = TrainingConfiguration()
        #expect(try TrainingConfiguration(json: c.json) == c)
        (c.dataset, c.dataDirectory, c.model, c.modelSpec) = (.cifar10, "/data/cifar", .cnn, "{\"nodes\": []}\n")
        (c.epochs, c.batchSize, c.optimizer, c.learningRate, c.momentum, c.weightDecay) = (9, 16, .adamw, 3e-4, 0.5, 0.05)
        (c.schedule, c.validationSplit, c.seed, c.limit, c.logEvery) = (.onecycle, 0.125, .max, 500, 7)
        let text = c.json.serialized()
        #expect(try TrainingConfiguration(json: JSONValue.parse(Array(text.utf8))) == c)
        // Fields in name order, so equal configurations are equal bytes.
        #expect(text.hasPrefix(#"{"batchSize":16,"dataDirectory":"/data/cifar","dataset":"cifar10","epochs":9,"#))
        #expect(text.contains(#""seed":18446744073709551615"#))
    }

    @Test func theJSONOfEarlierDltrainVersionsReads() throws {
        // What JSONEncoder wrote before (every optimizer field present), and what pytorch_interop.py writes.
        let old = #"{"batchSize":64,"dataset":"mnist","epochs":3,"learningRate":0.05,"logEvery":100,"model":"mlp","momentum":0.9,"optimizer":"sgd","schedule":"cosine","seed":1,"validationSplit":0,"weightDecay":0}"#
        let c = try TrainingConfiguration(json: JSONValue.parse(Array(old.utf8)))
        #expect(c.optimizer == .sgd && c.learningRate == 0.05 && c.momentum == 0.9 && c.weightDecay == 0 && c.limit == nil)
        #expect(c.validationSplit == 0 && c.epochs == 3)
    }

    @Test(arguments: [
        (#"{"epochs": "3"}"#, "epochs", "must be an integer"), (#"{"epochs": 2.5}"#, "epochs", "must be an integer"),
        (#"{"learningRate": true}"#, "learningRate", "must be a number"), (#"{"model": "resnet"}"#, "model", "must be one of mlp, cnn"),
        (#"{"seed": -1}"#, "seed", "non-negative"), (#"{"lr": 0.1}"#, "lr", "is not a configuration field"),
        (#"{"epochs": 1, "epochs": 2}"#, "epochs", "appears twice"), (#"[1]"#, "configuration", "must be a JSON object"),
    ])
    func aBadConfigurationNamesItsField(text: String, field: String, phrase: String) throws {
        do {
            _ = try TrainingConfiguration(json: JSONValue.parse(Array(text.utf8)))
            Issue.record("accepted \(text)")
        } catch DLTrainError.invalidSetting(let name, let message) {
            #expect(name == field && message.contains(phrase), "\(text): \(name) \(message)")
        }
    }
}
