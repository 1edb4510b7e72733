import Foundation
import Strata
import Testing

/// Overflow-checked sizes and the memory budget (Tensor/SizeLimits.swift).
@Suite struct SizeLimitsTests {
    @Test func checkedArithmeticThrowsOnOverflowAndNamesTheThing() throws {
        #expect(throws: SizeLimitError("Reshape [3037000500, 3037000500]", .overflow)) {
            try CheckedSize.product([3_037_000_500, 3_037_000_500], "Reshape [3037000500, 3037000500]")
        }
        #expect(throws: SizeLimitError("padding", .overflow)) { try CheckedSize.add(Int.max, 1, "padding") }
        #expect(throws: SizeLimitError("kernel", .overflow)) { try CheckedSize.multiply(Int.min, -1, "kernel") }
        #expect(try CheckedSize.product([2, 3, 4], "x") == 24)
        #expect(try CheckedSize.product([], "x") == 1)
    }

    @Test func allocationsBeyondTheBudgetAreRefusedWithTheirSize() throws {
        // 2⁶⁰ float32 elements overflow the byte count; 2⁶⁰ bytes exceed any machine's half of memory.
        #expect(throws: SizeLimitError("tensor w", .overflow)) { try CheckedSize.allocation(1 << 61, of: .float32, "tensor w") }
        let budget = MemoryBudget.bytes
        #expect(throws: SizeLimitError("image", .overBudget(bytes: 1 << 60, budget: budget))) {
            try CheckedSize.allocation(bytes: 1 << 60, "image")
        }
        #expect(try CheckedSize.allocation(1024, of: .float64, "small") == 8192)
        let message = SizeLimitError("image 16777216×16777216×1", .overBudget(bytes: 1 << 48, budget: 1 << 30)).description
        #expect(message == "image 16777216×16777216×1: needs 256.0 TiB, more than the memory budget of 1.0 GiB (STRATA_MEMORY_BUDGET)")
    }

    @Test(arguments: [("1024", 1024), ("512M", 512 << 20), ("2g", 2 << 30), ("1T", 1 << 40), ("7K", 7168)])
    func budgetsParse(text: String, bytes: Int) {
        #expect(MemoryBudget.parse(text) == bytes)
    }

    @Test(arguments: ["", "0", "-5", "12X", "G", "1.5G", "99999999999999999999", "9999999999T", "１２"])
    func badBudgetsDoNotParse(text: String) {
        #expect(MemoryBudget.parse(text) == nil)
    }

    @Test func theDefaultIsHalfThePhysicalMemory() {
        #expect(MemoryBudget.defaultBytes > 0)
        #expect(MemoryBudget.defaultBytes <= Int(clamping: ProcessInfo.processInfo.physicalMemory))
    }
}
