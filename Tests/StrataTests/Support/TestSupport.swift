// The expectation helpers (Tests/TestSupport) are shared by every test target; re-exported here so each
// file of this target reaches them through `import Strata` alone.
@_exported import TestSupport
