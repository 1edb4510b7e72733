// Strata's one thread pool: every parallel loop of the kernels and every gemm large enough to split runs on it,
// so two pools never fight over the cores (OpenBLAS runs single-threaded under it; see Kernels/Parallel.swift).
#ifndef STRATA_POOL_H
#define STRATA_POOL_H

/// One chunk of a job: `context` is the caller's, `chunk` in 0..<chunks.
typedef void (*strata_pool_task)(void *context, long chunk);

/// Runs `task(context, c)` for every `c` in 0..<chunks on up to `threads` threads (the caller's among them) and
/// returns when all are done. Runs them on the calling thread alone when `threads` or `chunks` is 1, when called
/// from inside a chunk, or while another thread's job holds the pool. Each chunk runs exactly once.
void strata_pool_run(long chunks, int threads, strata_pool_task task, void *context);

#endif
