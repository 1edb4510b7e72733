// What this process runs on: threads, the kernels' instruction-set level,
// OpenBLAS, and the buffer pool.
import Strata

// snippet.inspect
// prints STRATA_THREADS, else every core
print("threads", Strata.threads)
// prints STRATA_ISA, else the widest
let levels = KernelISA.allCases.filter(\.isSupported)
print("kernels", Strata.instructionSet, "of", levels)
// prints Float32 lanes per vector: 4, 8 or 16
print("lanes", Strata.instructionSet.lanes)
// prints OpenBLAS's build, core and threads
print(Strata.blasConfiguration)
// snippet.end

// snippet.threads
// one thread: bit-identical runs, or one per MPI rank
Strata.threads = 1
let a = Tensor.normal([256, 256]), b = Tensor.normal([256, 256])
// one sgemm on one core
let product = a.matmul(b)
Strata.threads = 2
print(product.shape)
// snippet.end

// snippet.memory
// buffers kept for reuse across steps
let before = Strata.memoryStatistics
print(before)
// hands the cached buffers back to the system
Strata.releaseCachedMemory()
// snippet.end
