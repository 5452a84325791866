// A fixed pool of worker threads for data-parallel loops, shared by concurrent callers.
//
// parallel_for splits [0, n) into chunks and runs them on the calling thread and on whichever
// workers are free, returning when all are done. Each call is its own job (on the caller's
// stack); several callers may run jobs on one pool at once (a knowledge-base search and a
// generation do not wait for each other), and the caller always works through its own chunks,
// so a job finishes even when every worker is busy elsewhere. A parallel_for issued from
// inside a chunk is a job of its own too (nested calls neither deadlock nor serialise).
// Exceptions thrown in a chunk are caught where they happen and rethrown on the caller.
//
// Idle workers spin briefly before sleeping (the decode loop runs hundreds of short parallel
// regions per token, and a futex wake-up costs tens of microseconds). The spin is bounded and
// adaptive: it grows while work keeps arriving shortly after a worker would have slept, shrinks
// when it does not, and stops at once when the machine is oversubscribed (a sched_yield that
// hands the core to another thread for a while), so a pool never burns cores that other
// processes or pools need.
//
// Which pool a computation uses: ThreadPool::current(), the execution context of the calling
// thread: the innermost Scope on it, else the pool whose worker it is, else the process pool
// (global()). Library code never resizes a pool; the process pool is sized at most once, before
// any work (init_global, the CLI's --threads). A caller who wants N threads for its requests
// makes its own pool and installs it with a Scope around them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace deepfuse {

class ThreadPool {
 public:
  // `num_threads` counts the caller: 1 means no workers (everything runs inline).
  // 0 means one per hardware thread.
  explicit ThreadPool(int num_threads = 0);
  // No parallel_for may be running on the pool (its owner outlives the work it hands to it).
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint sub-ranges covering [0, n). Each sub-range holds at least
  // `grain` items (except possibly the last); `grain` <= 0 means n / num_threads.
  // Safe to call from any number of threads at once, and from inside a chunk.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // The calling thread's pool: innermost Scope, else this thread's own pool (on a worker),
  // else global(). Compute code uses this, never global().
  static ThreadPool& current();
  // The process pool, created on first use with DEEPFUSE_THREADS threads (or one per hardware
  // thread), unless init_global sized it before.
  static ThreadPool& global();
  // Sizes the process pool (0 = hardware threads). Only before its first use: InvalidArgument
  // when it already exists with another size (it is never replaced under running work).
  static void init_global(int num_threads);

  // Makes `pool` the calling thread's current() until destroyed (scopes nest).
  class Scope {
   public:
    explicit Scope(ThreadPool& pool);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    ThreadPool* previous_;
  };

 private:
  struct Job;
  void worker_loop();
  Job* claimable_job_locked();
  // Spins up to the worker's adaptive budget for epoch_ to move past `seen`; true if it did.
  bool spin_for_work(uint64_t seen, int64_t& budget_ns);
  void wait_for_helpers(Job& job);

  std::vector<std::thread> workers_;
  std::mutex mu_;                      // guards jobs_ and stop_
  std::condition_variable work_cv_;    // workers sleep here
  std::condition_variable done_cv_;    // callers wait here for helpers to leave their job
  std::vector<Job*> jobs_;             // jobs that may still have unclaimed chunks
  std::atomic<uint64_t> epoch_{0};     // bumped on every post (and on stop) for spinners
  bool stop_ = false;
};

// Hardware threads available to this process (cgroup/affinity aware).
int hardware_threads();

}  // namespace deepfuse
