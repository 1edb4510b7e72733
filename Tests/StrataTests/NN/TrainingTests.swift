import Foundation
import Strata
import Testing

@Suite struct TrainingTests {
    /// Two interleaved classes on concentric rings: not linearly separable, easy for a small MLP.
    private func rings(_ count: Int, generator: inout RandomGenerator) -> (Tensor, Tensor) {
        var points: [Float] = [], labels: [Int64] = []
        for i in 0..<count {
            let label = Int64(i % 2)
            let radius = (label == 0 ? 0.5 : 1.5) + 0.2 * generator.nextNormal()
            let angle = 2 * Double.pi * generator.nextUnit()
            points += [Float(radius * cos(angle)), Float(radius * sin(angle))]
            labels.append(label)
        }
        return (Tensor(points, shape: [count, 2]), Tensor(labels))
    }

    @Test func anMLPLearnsASyntheticTask() {
        Strata.seed(7)
        var generator = RandomGenerator(seed: 11)
        let (x, y) = rings(256, generator: &generator)
        let model = Sequential { Linear(2, 32); ReLU(); Linear(32, 32); ReLU(); Linear(32, 2) }
        let optimizer = SGD(model.parameters(), learningRate: 0.1, momentum: 0.9)
        var loss = Double.infinity
        for _ in 0..<200 {
            optimizer.zeroGrad()
            let l = Loss.crossEntropy(model(x), y)
            l.backward()
            optimizer.step()
            loss = l.item()
        }
        // The initial loss is about ln 2 ≈ 0.69; a model that separates the rings gets far below.
        #expect(loss < 0.1, "final loss \(loss)")
    }
}

