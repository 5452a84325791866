#include "core/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <memory>

#include "core/error.h"

namespace deepfuse {

namespace {

using Clock = std::chrono::steady_clock;

thread_local ThreadPool* tls_current = nullptr;
std::mutex g_global_mu;
std::unique_ptr<ThreadPool> g_global;

// Spin budgets. The ceiling keeps an idle worker's burn short (a decode step's parallel regions
// are microseconds apart; the gap between tokens is much longer and ends in a sleep). The floor
// is where a budget that grows again restarts after it has dropped to zero.
constexpr int64_t kMaxSpinNs = 200'000;
constexpr int64_t kMinSpinNs = 2'000;
// A sched_yield that returns this much later handed the core to another runnable thread: the
// machine has more runnable threads than cores, and spinning would take time from them.
constexpr int64_t kPreemptedNs = 30'000;
constexpr unsigned kPausesPerYield = 64;

int64_t ns_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}

void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

enum class SpinResult { kReady, kTimeout, kPreempted };

// Polls `ready` for up to `budget_ns`, yielding the core every few polls so that a runnable
// thread of another pool or process gets it; a long yield ends the spin (kPreempted).
template <class Ready>
SpinResult spin_until(const Ready& ready, int64_t budget_ns) {
  if (budget_ns <= 0) return ready() ? SpinResult::kReady : SpinResult::kTimeout;
  const auto start = Clock::now();
  for (unsigned i = 1;; ++i) {
    if (ready()) return SpinResult::kReady;
    cpu_relax();
    if (i % kPausesPerYield == 0) {
      const auto before = Clock::now();
      if (std::chrono::duration_cast<std::chrono::nanoseconds>(before - start).count() >=
          budget_ns)
        return SpinResult::kTimeout;
      sched_yield();
      if (ns_since(before) >= kPreemptedNs)
        return ready() ? SpinResult::kReady : SpinResult::kPreempted;
    }
  }
}

int64_t grow(int64_t budget) { return std::min(kMaxSpinNs, std::max(kMinSpinNs, budget * 2)); }
int64_t shrink(int64_t budget) { return budget / 2 < kMinSpinNs ? 0 : budget / 2; }

}  // namespace

// One parallel_for call. Lives on the caller's stack; the caller returns only after it has
// taken the job out of jobs_ (no new helper can join) and every helper has left it.
struct ThreadPool::Job {
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0;
  int64_t chunk = 1;
  int64_t num_chunks = 0;
  std::atomic<int64_t> next{0};  // next unclaimed chunk
  std::atomic<int> helpers{0};   // workers inside run_chunks of this job
  std::mutex err_mu;
  std::exception_ptr error;
};

namespace {

// Claims and runs chunks until none is left. Chunks see `pool` as current() on any thread.
template <class JobT>
void run_chunks(ThreadPool& pool, JobT& job) {
  ThreadPool::Scope scope(pool);
  for (;;) {
    const int64_t c = job.next.fetch_add(1, std::memory_order_relaxed);
    if (c >= job.num_chunks) break;
    const int64_t begin = c * job.chunk;
    const int64_t end = std::min(job.n, begin + job.chunk);
    try {
      (*job.fn)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.err_mu);
      if (!job.error) job.error = std::current_exception();
    }
  }
}

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
  DF_CHECK(num_threads >= 0, InvalidArgument,
           "threads must be >= 0 (0 = all hardware threads), got " << num_threads);
  if (num_threads == 0) num_threads = hardware_threads();
  workers_.reserve(static_cast<size_t>(num_threads - 1));
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    epoch_.fetch_add(1, std::memory_order_release);
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

ThreadPool::Job* ThreadPool::claimable_job_locked() {
  // Oldest first: a caller that posted earlier gets its helpers first.
  for (Job* j : jobs_)
    if (j->next.load(std::memory_order_relaxed) < j->num_chunks) return j;
  return nullptr;
}

bool ThreadPool::spin_for_work(uint64_t seen, int64_t& budget_ns) {
  const auto start = Clock::now();
  const SpinResult r = spin_until(
      [&] { return epoch_.load(std::memory_order_acquire) != seen; }, budget_ns);
  if (r == SpinResult::kReady) {
    budget_ns = grow(budget_ns);
    return true;
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    work_cv_.wait(lock, [&] { return stop_ || epoch_.load(std::memory_order_relaxed) != seen; });
  }
  // Adapt: work that came soon after giving up means a longer spin would have paid; a long
  // sleep, or a spin cut short by another thread taking the core, means it would not.
  if (r == SpinResult::kTimeout && ns_since(start) <= kMaxSpinNs)
    budget_ns = grow(budget_ns);
  else
    budget_ns = shrink(budget_ns);
  return false;
}

void ThreadPool::worker_loop() {
  tls_current = this;
  int64_t budget_ns = kMaxSpinNs;
  for (;;) {
    Job* job = nullptr;
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      job = claimable_job_locked();
      // Joining under mu_: the caller removes its job under mu_ too, so after that no helper
      // can join, and it only has to wait for the ones counted here.
      if (job) job->helpers.fetch_add(1, std::memory_order_relaxed);
      seen = epoch_.load(std::memory_order_relaxed);
    }
    if (!job) {
      spin_for_work(seen, budget_ns);
      continue;
    }
    run_chunks(*this, *job);
    // The last access to *job: once helpers reaches 0 the caller may return and free it.
    if (job->helpers.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_all();
    }
  }
}

void ThreadPool::wait_for_helpers(Job& job) {
  // Helpers are usually finishing their last chunk: spin briefly before sleeping.
  const auto done = [&] { return job.helpers.load(std::memory_order_acquire) == 0; };
  if (spin_until(done, kMaxSpinNs) == SpinResult::kReady) return;
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, done);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int threads = num_threads();
  if (grain <= 0) grain = (n + threads - 1) / threads;
  if (workers_.empty() || n <= grain) {
    Scope scope(*this);
    fn(0, n);
    return;
  }
  Job job;
  job.fn = &fn;
  job.n = n;
  job.chunk = grain;
  job.num_chunks = (n + grain - 1) / grain;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(&job);
    epoch_.fetch_add(1, std::memory_order_release);
  }
  // Wake only as many sleepers as there are chunks for them (the caller takes one).
  const int64_t wanted =
      std::min<int64_t>(job.num_chunks - 1, static_cast<int64_t>(workers_.size()));
  if (wanted >= static_cast<int64_t>(workers_.size()))
    work_cv_.notify_all();
  else
    for (int64_t i = 0; i < wanted; ++i) work_cv_.notify_one();

  run_chunks(*this, job);
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
  }
  if (job.helpers.load(std::memory_order_acquire) != 0) wait_for_helpers(job);
  if (job.error) std::rethrow_exception(job.error);
}

ThreadPool& ThreadPool::current() { return tls_current ? *tls_current : global(); }

ThreadPool& ThreadPool::global() {
  std::lock_guard<std::mutex> lock(g_global_mu);
  if (!g_global) {
    int n = 0;
    if (const char* env = std::getenv("DEEPFUSE_THREADS")) n = std::max(0, std::atoi(env));
    g_global = std::make_unique<ThreadPool>(n);
  }
  return *g_global;
}

void ThreadPool::init_global(int num_threads) {
  DF_CHECK(num_threads >= 0, InvalidArgument,
           "threads must be >= 0 (0 = all hardware threads), got " << num_threads);
  const int want = num_threads == 0 ? hardware_threads() : num_threads;
  std::lock_guard<std::mutex> lock(g_global_mu);
  if (g_global) {
    DF_CHECK(g_global->num_threads() == want, InvalidArgument,
             "the process thread pool already runs " << g_global->num_threads()
                 << " threads and cannot be resized to " << want
                 << " (size it before any work, or give the work its own ThreadPool)");
    return;
  }
  g_global = std::make_unique<ThreadPool>(want);
}

ThreadPool::Scope::Scope(ThreadPool& pool) : previous_(tls_current) { tls_current = &pool; }
ThreadPool::Scope::~Scope() { tls_current = previous_; }

}  // namespace deepfuse
