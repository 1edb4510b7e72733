import Strata
import Testing

/// The environment variables the library reads, refused with `EnvironmentError` by their `requested…` functions
/// (what `dltrain` calls to exit 64) when the value cannot be used.
@Suite struct EnvironmentTests {
    @Test(arguments: ["99999999999", "0", "-3", "lots", "1025", "٣", "9223372036854775808", " 2"])
    func threadCountsOutOfRangeAreRefusedNamingTheValue(value: String) {
        #expect(throws: EnvironmentError(variable: "STRATA_THREADS", value: value, expected: "an integer from 1 to 1024")) {
            try Strata.requestedThreads(environment: ["STRATA_THREADS": value])
        }
    }

    @Test func threadCountsInRangeAreTaken() throws {
        #expect(try Strata.requestedThreads(environment: ["STRATA_THREADS": "3"]) == 3)
        #expect(try Strata.requestedThreads(environment: ["STRATA_THREADS": "1024"]) == Strata.maximumThreads)
        #expect(try Strata.requestedThreads(environment: [:]) == nil)
        #expect(try Strata.requestedThreads(environment: ["STRATA_THREADS": ""]) == nil)
        #expect((1...Strata.maximumThreads).contains(Strata.threads))
    }

    @Test(arguments: ["-1", "0", "abc", "12Q", "9223372036854775807T", "M"])
    func budgetsThatCannotBeUsedAreRefused(value: String) {
        #expect(throws: EnvironmentError(variable: "STRATA_MEMORY_BUDGET", value: value, expected: "a positive byte count (e.g. 512M, 2G)")) {
            try MemoryBudget.requested(environment: ["STRATA_MEMORY_BUDGET": value])
        }
        #expect("\(EnvironmentError(variable: "STRATA_MEMORY_BUDGET", value: value, expected: "a positive byte count"))"
                == "STRATA_MEMORY_BUDGET=\(value) is not a positive byte count")
    }

    @Test func budgetsInRangeAreTaken() throws {
        #expect(try MemoryBudget.requested(environment: ["STRATA_MEMORY_BUDGET": "2G"]) == 2 << 30)
        #expect(try MemoryBudget.requested(environment: [:]) == nil)
    }
}
