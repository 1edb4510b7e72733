// What this process runs on: threads, the kernels' instruction-set level, OpenBLAS, and the buffer pool.
import Strata

// snippet.inspect
print("threads", Strata.threads)                        // STRATA_THREADS, else every core
print("kernels", Strata.instructionSet, "of", KernelISA.allCases.filter(\.isSupported))  // STRATA_ISA, else the widest
print("lanes", Strata.instructionSet.lanes)             // Float32 lanes per vector: 4, 8 or 16
print(Strata.blasConfiguration)                         // OpenBLAS's build, core and threads
// snippet.end

// snippet.threads
Strata.threads = 1                                      // one thread: bit-identical runs, or one per MPI rank
let a = Tensor.normal([256, 256]), b = Tensor.normal([256, 256])
let product = a.matmul(b)                               // one sgemm on one core
Strata.threads = 2
print(product.shape)
// snippet.end

// snippet.memory
let before = Strata.memoryStatistics                    // buffers kept for reuse across steps
print(before)
Strata.releaseCachedMemory()                            // hands the cached buffers back to the system
// snippet.end
