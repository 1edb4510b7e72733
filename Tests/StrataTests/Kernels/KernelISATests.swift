@testable import Strata
import Testing

@Suite("Instruction-set levels and STRATA_ISA")
struct KernelISATests {
    @Test func theLevelInUseIsTheRequestedOneOrTheBest() throws {
        #expect(KernelISA.baseline.isSupported)
        #expect(KernelISA.best.isSupported)
        // Under `make test` this runs once per level (STRATA_ISA=baseline, avx2, avx512 where supported).
        #expect(Strata.instructionSet == (try KernelISA.requested() ?? KernelISA.best))
        #expect(ElementwiseKernels.selected.isa == Strata.instructionSet)
    }

    @Test func requestedLevelIsValidated() throws {
        #expect(try KernelISA.requested(environment: [:]) == nil)
        #expect(try KernelISA.requested(environment: ["STRATA_ISA": ""]) == nil)
        #expect(try KernelISA.requested(environment: ["STRATA_ISA": "baseline"]) == .baseline)
        #expect(throws: KernelISAError.unknownLevel("sse9")) { try KernelISA.requested(environment: ["STRATA_ISA": "sse9"]) }
        #expect(throws: KernelISAError.unknownLevel("AVX2")) { try KernelISA.requested(environment: ["STRATA_ISA": "AVX2"]) }
        for level in KernelISA.allCases {
            let environment = ["STRATA_ISA": level.rawValue]
            if level.isSupported {
                #expect(try KernelISA.requested(environment: environment) == level)
                #expect(ElementwiseKernels(for: level)?.isa == level)
            } else {
                #expect(throws: KernelISAError.unsupportedLevel(level, best: .best)) {
                    try KernelISA.requested(environment: environment)
                }
                #expect(ElementwiseKernels(for: level) == nil)
            }
        }
        #expect("\(KernelISAError.unknownLevel("sse9"))" == "STRATA_ISA=sse9 is not one of baseline, avx2, avx512")
    }

    /// A function type's kernel must be declared with its optional type to be the protocol's witness; these
    /// would silently run the Swift loop on Float32 otherwise.
    @Test func mapFunctionsNameTheirKernels() {
        let unary: [(UnaryKernel?, UnaryKernel)] = [
            (NegFunction.kernel, .neg), (ReLUFunction.kernel, .relu), (LeakyReLUFunction.kernel, .leakyRelu),
            (ExpFunction.kernel, .exp), (LogFunction.kernel, .log), (SqrtFunction.kernel, .sqrt),
            (TanhFunction.kernel, .tanh), (SigmoidFunction.kernel, .sigmoid), (ErfFunction.kernel, .erf),
            (GELUFunction.kernel, .gelu), (GELUTanhFunction.kernel, .geluTanh), (SiLUFunction.kernel, .silu),
        ]
        for (declared, expected) in unary { #expect(declared == expected) }
        let binary: [(BinaryKernel?, BinaryKernel)] = [
            (AddFunction.kernel, .add), (SubFunction.kernel, .sub), (MulFunction.kernel, .mul), (DivFunction.kernel, .div),
            (ReLUGradFunction.kernel, .reluGradX), (LeakyReLUGradFunction.kernel, .leakyReluGradX),
            (TanhGradFunction.kernel, .tanhGradY), (SigmoidGradFunction.kernel, .sigmoidGradY),
            (SiLUGradFunction.kernel, .siluGradX), (GELUGradFunction.kernel, .geluGradX),
            (GELUTanhGradFunction.kernel, .geluTanhGradX),
        ]
        for (declared, expected) in binary { #expect(declared == expected) }
        #expect(unary.count == UnaryKernel.allCases.count && binary.count == BinaryKernel.allCases.count)
    }
}
