import Strata
import Testing

/// The README's example, verbatim between the markers, so that it always compiles and works.
@Suite struct ReadmeExampleTests {
    @Test func theReadmeExampleTrains() {
        // README example begins
        Strata.seed(0)
        let x = Tensor.normal([512, 2])                             // 512 points in the plane
        let y = (x.select(1, 0) * x.select(1, 1)).gt(0).to(.int64)  // class 1 in quadrants I and III
        let model = Sequential { Linear(2, 32); ReLU(); Linear(32, 32); ReLU(); Linear(32, 2) }
        let optimizer = Adam(model.parameters(), learningRate: 0.01)
        for step in 1...300 {
            optimizer.zeroGrad()
            let loss = Loss.crossEntropy(model(x), y)
            loss.backward()
            optimizer.step()
            if step % 100 == 0 { print("step \(step): loss \(loss.item())") }
        }
        let accuracy = withNoGrad { model(x).argmax(dim: 1).eq(y).to(.float32).mean().item() }
        print("accuracy \(accuracy)")
        // README example ends
        #expect(accuracy > 0.95)
    }
}
