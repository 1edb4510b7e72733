// A first model: a small perceptron learns which quadrants of the plane
// hold class 1.
import Strata

Strata.seed(0)
// 512 points in the plane, [512, 2]
let x = Tensor.normal([512, 2])
// class 1 in quadrants I and III, [512]
let y = (x.select(1, 0) * x.select(1, 1)).gt(0).to(.int64)
let model = Sequential {
    Linear(2, 32); ReLU(); Linear(32, 32); ReLU(); Linear(32, 2)
}
let optimizer = Adam(model.parameters(), learningRate: 0.01)
for step in 1...300 {
    // gradients add up until cleared
    optimizer.zeroGrad()
    // logits [512, 2] against labels [512]
    let loss = Loss.crossEntropy(model(x), y)
    // fills every parameter's .grad
    loss.backward()
    optimizer.step()
    if step % 100 == 0 { print("step \(step): loss \(loss.item())") }
}
let accuracy = withNoGrad {
    model(x).argmax(dim: 1).eq(y).to(.float32).mean().item()
}
print("accuracy \(accuracy)")
