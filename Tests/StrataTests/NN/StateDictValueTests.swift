import Foundation
import Strata
import Testing

/// `loadStateDict` refuses values the target's dtype cannot hold (found by the fuzz harness: a
/// `num_batches_tracked` of NaN or 1e300 trapped in the integer conversion, Int64.max overflowed the next count,
/// a float64 1e300 became an infinite float32 weight), and leaves the module unchanged.
@Suite struct StateDictValueTests {
    @Test(arguments: [Double.nan, 1e300, -.infinity, 9.3e18, 1.5])
    func aCountThatIsNotAWholeNumberInRangeIsRefused(_ value: Double) throws {
        let norm = BatchNorm1d(4)
        var state = norm.stateDict()
        state["num_batches_tracked"] = Tensor([value], shape: []).to(.float64)
        let error = try #require(throws: StateDictError.self) { try norm.loadStateDict(state) }
        #expect(error.badValues.map(\.name) == ["num_batches_tracked"])
        #expect(error.description.contains("num_batches_tracked"))
        #expect(norm.stateDict()["num_batches_tracked"]!.toDoubles() == [0])
    }

    @Test func anInt64CountBeyond2To53IsRefusedAndOneWithinLoads() throws {
        let norm = BatchNorm1d(4)
        var state = norm.stateDict()
        state["num_batches_tracked"] = Tensor([Int64.max], shape: [])
        #expect(throws: StateDictError.self) { try norm.loadStateDict(state) }
        state["num_batches_tracked"] = Tensor([Int64(1) << 53], shape: [])
        try norm.loadStateDict(state)
        #expect(norm.stateDict()["num_batches_tracked"]!.scalars(as: Int64.self) == [1 << 53])
        state["num_batches_tracked"] = Tensor([12.0], shape: [])
        try norm.loadStateDict(state)
        #expect(norm.stateDict()["num_batches_tracked"]!.scalars(as: Int64.self) == [12])
    }

    @Test func aFloat64ValueThatOverflowsAFloat32WeightIsRefused() throws {
        let linear = Linear(3, 2)
        var state = linear.stateDict()
        let before = linear.weight.toDoubles()
        state["weight"] = Tensor([1, 2, 3, 4, 5, 1e300], shape: [2, 3]).to(.float64)
        let error = try #require(throws: StateDictError.self) { try linear.loadStateDict(state) }
        #expect(error.description.contains("weight") && error.description.contains("overflows float32"))
        #expect(linear.weight.toDoubles() == before)
        state["weight"] = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).to(.float64)
        try linear.loadStateDict(state)
        #expect(linear.weight.toDoubles() == [1, 2, 3, 4, 5, 6])
    }
}
