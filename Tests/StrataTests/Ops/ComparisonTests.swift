import Strata
import Testing

@Suite struct ComparisonTests {
    @Test func comparisonsGiveBroadcastBoolMasks() {
        let a = Tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0] as [Float], shape: [2, 3])
        let b = Tensor([2.0, 5.0], shape: [2, 1]).to(.float32)
        // Row 0 against 2, row 1 against 5.
        let lt = a.lt(b)
        #expect(lt.dtype == .bool && lt.shape == [2, 3])
        #expect(lt.scalars(as: Bool.self) == [true, false, false, true, false, false])
        #expect(a.le(b).scalars(as: Bool.self) == [true, true, false, true, true, false])
        #expect(a.gt(b).scalars(as: Bool.self) == [false, false, true, false, false, true])
        #expect(a.ge(b).scalars(as: Bool.self) == [false, true, true, false, true, true])
        #expect(a.eq(b).scalars(as: Bool.self) == [false, true, false, false, true, false])
        #expect(a.ne(b).scalars(as: Bool.self) == [true, false, true, true, false, true])
    }

    @Test func comparisonsWithScalars() {
        let x = Tensor([-1.0, 0.0, 2.5])
        #expect(x.gt(0).scalars(as: Bool.self) == [false, false, true])
        #expect(x.le(0).scalars(as: Bool.self) == [true, true, false])
        #expect(x.eq(2.5).scalars(as: Bool.self) == [false, false, true])
        #expect(x.ne(0).scalars(as: Bool.self) == [true, false, true])
        #expect(x.lt(-1).scalars(as: Bool.self) == [false, false, false])
        #expect(x.ge(-1).scalars(as: Bool.self) == [true, true, true])
        // A float32 tensor compares in float32: Float(0.1) == 0.1 rounded to Float.
        #expect(Tensor([0.1] as [Float]).eq(0.1).scalars(as: Bool.self) == [true])
    }

    @Test func int64PredictionsAgainstLabels() {
        // Accuracy as argmax predictions == labels, then mean of the mask as float.
        let predictions = Tensor([Int64(3), 1, 4, 1, 5])
        let labels = Tensor([Int64(3), 2, 4, 0, 5])
        let correct = predictions.eq(labels)
        #expect(correct.scalars(as: Bool.self) == [true, false, true, false, true])
        expectClose(correct.to(.float32), [1, 0, 1, 0, 1])
        #expect(correct.to(.float32).sum().item() == 3)
        // Non-integral scalars compare exactly instead of truncating: 1 < 1.5 but 3 > 1.5.
        #expect(predictions.lt(1.5).scalars(as: Bool.self) == [false, true, false, true, false])
        #expect(predictions.ge(4).scalars(as: Bool.self) == [false, false, true, false, true])
        // int64 against float promotes to the float: 3 == 3.0, 1 < 1.5.
        let floats = Tensor([3.0, 1.5, 4.0, 1.0, 4.5] as [Float])
        #expect(predictions.eq(floats).scalars(as: Bool.self) == [true, false, true, true, false])
        #expect(predictions.lt(floats).scalars(as: Bool.self) == [false, true, false, false, false])
    }

    @Test func nanComparesFalseExceptNotEqual() {
        let x = Tensor([Double.nan, 1.0])
        let y = Tensor([Double.nan, Double.nan])
        #expect(x.eq(y).scalars(as: Bool.self) == [false, false])
        #expect(x.ne(y).scalars(as: Bool.self) == [true, true])
        #expect(x.lt(y).scalars(as: Bool.self) == [false, false])
        #expect(x.ge(y).scalars(as: Bool.self) == [false, false])
    }

    @Test func logicalOps() {
        let mask = Tensor([true, false, true, false])
        #expect(mask.logicalNot().scalars(as: Bool.self) == [false, true, false, true])
        // Non-bool inputs count non-zero as true, as torch.logical_not.
        #expect(Tensor([0.0, 2.0, -1.0]).logicalNot().scalars(as: Bool.self) == [true, false, false])
        #expect(Tensor([Int64(0), 7]).logicalNot().scalars(as: Bool.self) == [true, false])
        let other = Tensor([true, true, false, false])
        #expect(mask.logicalAnd(other).scalars(as: Bool.self) == [true, false, false, false])
        #expect(mask.logicalOr(other).scalars(as: Bool.self) == [true, true, true, false])
        // Broadcast: a [2, 1] mask with a [3] one.
        let column = Tensor([true, false], shape: [2, 1]), row = Tensor([true, false, true])
        #expect(column.logicalAnd(row).scalars(as: Bool.self) == [true, false, true, false, false, false])
        #expect(column.logicalOr(row).shape == [2, 3])
        // Masks compare with each other and convert to floats.
        #expect(mask.eq(other).scalars(as: Bool.self) == [true, false, false, true])
        expectClose(mask.to(.float64), [1, 0, 1, 0])
    }

    @Test func masksAreNotTrackedAndWorkOnViewsAndEmptyTensors() {
        let x = Tensor([1.0, -2.0, 3.0, -4.0, 5.0, -6.0], shape: [2, 3])
        x.requiresGrad = true
        let positive = x.gt(0)
        #expect(!positive.isTracked)
        // A transposed view is read through its strides: xᵀ = [[1, −4], [−2, 5], [3, −6]].
        #expect(x.transposed().gt(0).scalars(as: Bool.self) == [true, false, false, true, true, false])
        let empty = Tensor.zeros([0, 3]).lt(Tensor.zeros([3]))
        #expect(empty.shape == [0, 3] && empty.dtype == .bool)
        let scalar = Tensor(scalar: 2, dtype: .float64).eq(2)
        #expect(scalar.shape == [] && scalar.scalars(as: Bool.self) == [true])
    }

    @Test func masksDriveWhereAndMultiplication() {
        // relu written with a mask: x · 1[x > 0], and the same with where.
        let x = Tensor([-1.0, 2.0, -3.0, 4.0])
        expectClose(x * x.gt(0).to(.float64), [0, 2, 0, 4])
        expectClose(Tensor.where(x.gt(0), x, Tensor(scalar: 0, dtype: .float64)), [0, 2, 0, 4])
    }
}
