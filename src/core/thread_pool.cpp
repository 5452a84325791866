#include "core/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.h"

namespace deepfuse {

namespace {
thread_local bool tls_in_pool_task = false;
std::mutex g_global_mu;
std::unique_ptr<ThreadPool> g_global;
constexpr int kSpinIterations = 20000;  // ~tens of microseconds before sleeping
}  // namespace

int hardware_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) num_threads = hardware_threads();
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
  const bool was_in_task = tls_in_pool_task;
  tls_in_pool_task = true;
  for (;;) {
    const int64_t c = next_chunk_.fetch_add(1, std::memory_order_acq_rel);
    if (c >= num_chunks_) break;
    const int64_t begin = c * chunk_;
    const int64_t end = std::min(n_, begin + chunk_);
    try {
      (*fn_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(err_mu_);
      if (!error_) error_ = std::current_exception();
    }
    done_chunks_.fetch_add(1, std::memory_order_acq_rel);
  }
  tls_in_pool_task = was_in_task;
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_) return;
    active_workers_.fetch_add(1, std::memory_order_acq_rel);
    run_chunks();
    active_workers_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int threads = num_threads();
  if (grain <= 0) grain = (n + threads - 1) / threads;
  if (workers_.empty() || tls_in_pool_task || n <= grain) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mu_);
  fn_ = &fn;
  n_ = n;
  chunk_ = grain;
  num_chunks_ = (n + grain - 1) / grain;
  error_ = nullptr;
  done_chunks_.store(0, std::memory_order_relaxed);
  // Release: a worker that claims a chunk through next_chunk_ sees the job fields above, even
  // one that woke late from the previous generation.
  next_chunk_.store(0, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  run_chunks();
  // Wait for chunks still running on workers, then for workers to leave run_chunks so the job
  // fields can be reused by the next call.
  while (done_chunks_.load(std::memory_order_acquire) < num_chunks_) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  while (active_workers_.load(std::memory_order_acquire) != 0) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  fn_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

ThreadPool& ThreadPool::global() {
  std::lock_guard<std::mutex> lock(g_global_mu);
  if (!g_global) {
    int n = 0;
    if (const char* env = std::getenv("DEEPFUSE_THREADS")) n = std::atoi(env);
    g_global = std::make_unique<ThreadPool>(n);
  }
  return *g_global;
}

void ThreadPool::set_global_threads(int num_threads) {
  DF_CHECK(num_threads >= 0, InvalidArgument,
           "threads must be >= 0 (0 = all hardware threads), got " << num_threads);
  std::lock_guard<std::mutex> lock(g_global_mu);
  g_global = std::make_unique<ThreadPool>(num_threads);
}

}  // namespace deepfuse
