// Strata's thread pool (strata_pool.h). Workers are created on first use, up to the threads a job asks for,
// and live for the process. Between jobs a worker spins for a short while (SPIN_NANOSECONDS), so a job that
// follows another soon (the next op of a step) starts without a wake-up; then it sleeps on a condition variable.
// Every spin loop, the worker's and the caller's wait for the last chunk, yields the CPU every 64 pauses: when
// the scheduler has put a spinning thread on the CPU of the thread it waits for, a pure spin would hold that
// CPU for a whole time slice. That happens after a sleep: Linux wakes a thread beside its waker (wake-affine),
// and a worker that then spins stays runnable there, so the load balancer rarely moves it (3 migrations in a
// `dlbench --threads 2 --only gemm256` run, whose split products all ran on one CPU at the 1-thread speed). So
// a worker woken on its caller's CPU moves itself off it (leave_cpu).
//
// A job is published as one 64-bit word, its generation in the high half and the next unclaimed chunk in the
// low half. A thread claims a chunk with a compare-and-swap on that word. When the last chunk is done the word is
// closed (next = UINT32_MAX) before the fields of any later job are written, so a worker late from an earlier
// job, which may have read a later job's fields, fails its claim and never runs a chunk twice. Every access is
// sequentially consistent.
#define _GNU_SOURCE   // sched_getcpu, pthread_setaffinity_np
#include "strata_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
static inline void relax(void) { _mm_pause(); }
#else
static inline void relax(void) {}
#endif

enum { MAX_WORKERS = 1023 };
// 20 ms: longer than any gap between the parallel loops of a training step, so a worker sleeps only when the
// work has stopped. A worker that slept is woken beside its waker (the kernel's wake-affine placement) and
// shares one CPU with it until the load balancer moves it: with a 0.2 ms spin that happened between most jobs,
// and `dlbench --threads 2 --only gemm256` ran at the 1-thread speed in most runs.
static const int64_t SPIN_NANOSECONDS = 20000000;

static struct {
    pthread_mutex_t submit;            // held by the thread whose job is running
    pthread_mutex_t sleep;             // guards the condition variable
    pthread_cond_t wake;
    int workers;                       // created so far (under `submit`)
    _Atomic uint64_t word;             // generation << 32 | next chunk
    _Atomic long chunks;
    _Atomic int participants;          // workers that may join this job: threads − 1
    _Atomic(strata_pool_task) task;
    void *_Atomic context;
    _Atomic long done;                 // chunks finished
    _Atomic int sleepers;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static _Thread_local int inside_job;
static _Atomic int caller_cpu = -1;    // the CPU of the caller that last woke sleeping workers

/// Moves the calling thread off `cpu` onto another CPU it may run on (none: it stays): excluding `cpu` from
/// its affinity migrates it at once, and restoring the mask leaves it where it went.
static void leave_cpu(int cpu) {
#if defined(__linux__)
    cpu_set_t allowed, others;
    if (cpu < 0 || pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0) return;
    others = allowed;
    CPU_CLR(cpu, &others);
    if (CPU_COUNT(&others) == 0) return;
    if (pthread_setaffinity_np(pthread_self(), sizeof others, &others) == 0) {
        pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
    }
#else
    (void)cpu;
#endif
}

static int current_cpu(void) {
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/// Claims and runs chunks of generation `generation` until none is left.
static void run_chunks(uint32_t generation) {
    uint64_t word = pool.word;
    if ((uint32_t)(word >> 32) != generation) return;
    const long chunks = pool.chunks;
    const strata_pool_task task = pool.task;
    void *const context = pool.context;
    for (;;) {
        if ((uint32_t)(word >> 32) != generation || (long)(uint32_t)word >= chunks) break;
        if (!atomic_compare_exchange_strong(&pool.word, &word, word + 1)) continue;
        task(context, (long)(uint32_t)word);
        word++;
        pool.done += 1;
    }
}

static void *worker_main(void *argument) {
    const int index = (int)(intptr_t)argument;
    inside_job = 1;   // a parallel loop inside a chunk runs serially
    uint32_t seen = (uint32_t)(pool.word >> 32);
    for (;;) {
        uint32_t generation = (uint32_t)(pool.word >> 32);
        const int64_t deadline = now_ns() + SPIN_NANOSECONDS;
        for (int spins = 1; generation == seen; spins++) {
            relax();
            if (spins % 64 == 0) {
                sched_yield();
                if (now_ns() > deadline) {
                    pthread_mutex_lock(&pool.sleep);
                    pool.sleepers += 1;
                    while ((generation = (uint32_t)(pool.word >> 32)) == seen) pthread_cond_wait(&pool.wake, &pool.sleep);
                    pool.sleepers -= 1;
                    pthread_mutex_unlock(&pool.sleep);
                    const int waker = caller_cpu;
                    if (waker >= 0 && current_cpu() == waker) leave_cpu(waker);
                    break;
                }
            }
            generation = (uint32_t)(pool.word >> 32);
        }
        seen = generation;
        if (index < pool.participants) run_chunks(generation);
    }
    return 0;
}

/// Starts workers until there are `count` (under `submit`); returns how many there are.
static int ensure_workers(int count) {
    while (pool.workers < count) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        const int failed = pthread_create(&thread, &attributes, worker_main, (void *)(intptr_t)pool.workers);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        pool.workers += 1;
    }
    return pool.workers;
}

static void run_serially(long chunks, strata_pool_task task, void *context) {
    const int outer = inside_job;
    inside_job = 1;
    for (long c = 0; c < chunks; c++) task(context, c);
    inside_job = outer;
}

void strata_pool_run(long chunks, int threads, strata_pool_task task, void *context) {
    if (chunks <= 0) return;
    if (threads <= 1 || chunks == 1 || chunks >= UINT32_MAX || inside_job || pthread_mutex_trylock(&pool.submit) != 0) {
        run_serially(chunks, task, context);
        return;
    }
    const int workers = ensure_workers(threads - 1 < MAX_WORKERS ? threads - 1 : MAX_WORKERS);
    if (workers == 0) {
        pthread_mutex_unlock(&pool.submit);
        run_serially(chunks, task, context);
        return;
    }
    pool.chunks = chunks;
    pool.task = task;
    pool.context = context;
    pool.participants = workers < threads - 1 ? workers : threads - 1;
    pool.done = 0;
    const uint32_t generation = (uint32_t)(pool.word >> 32) + 1;
    pool.word = (uint64_t)generation << 32;   // sequentially consistent: ordered before the sleepers load
    if (pool.sleepers > 0) {
        caller_cpu = current_cpu();
        pthread_mutex_lock(&pool.sleep);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep);
    }
    inside_job = 1;
    run_chunks(generation);
    for (int spins = 1; pool.done < chunks; spins++) {
        relax();
        if (spins % 64 == 0) sched_yield();
    }
    pool.word = (uint64_t)generation << 32 | UINT32_MAX;   // closed, before a later job's fields are written
    inside_job = 0;
    pthread_mutex_unlock(&pool.submit);
}
