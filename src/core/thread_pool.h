// A fixed pool of worker threads for data-parallel loops.
//
// parallel_for splits [0, n) into chunks and runs them on the workers and the calling thread,
// returning when all are done. It is built for the decode loop: hundreds of short parallel
// regions per token, so idle workers spin briefly before sleeping to keep wake-up latency low.
// Exceptions thrown in a chunk are caught on the worker and rethrown on the caller (no
// exception crosses a thread). A parallel_for issued from inside a chunk runs serially.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
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
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint sub-ranges covering [0, n). Each sub-range holds at least
  // `grain` items (except possibly the last); `grain` <= 0 means n / num_threads.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // Process-wide pool used by kernels unless they are handed another. Sized by
  // set_global_threads (CLI --threads) or the DEEPFUSE_THREADS environment variable.
  static ThreadPool& global();
  static void set_global_threads(int num_threads);

 private:
  void worker_loop();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::mutex run_mu_;  // one parallel_for at a time per pool
  bool stop_ = false;
  std::atomic<uint64_t> generation_{0};

  // The current job.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_ = 1;
  int64_t num_chunks_ = 0;
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<int64_t> done_chunks_{0};
  std::atomic<int> active_workers_{0};
  std::mutex err_mu_;
  std::exception_ptr error_;
};

// Hardware threads available to this process (cgroup/affinity aware).
int hardware_threads();

}  // namespace deepfuse
