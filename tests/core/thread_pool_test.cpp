// ThreadPool under concurrent callers: overlapping jobs on one pool, nesting, execution
// context (current() and Scope), errors going to the caller that caused them, and the
// process pool that is sized once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"

namespace deepfuse {
namespace {

using namespace std::chrono_literals;

// Waits (without a pool) until `flag` is set or `limit` passes; returns the flag.
bool wait_for(const std::atomic<bool>& flag, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!flag.load() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
  return flag.load();
}

TEST(ThreadPoolConcurrency, TwoCallersRunAtOnce) {
  // Caller A's job cannot finish until caller B's job has started on the same pool: with one
  // parallel_for at a time per pool, B would wait for A and A would give up after 10 s.
  ThreadPool pool(2);
  std::atomic<bool> a_started{false}, b_started{false}, a_saw_b{false};
  std::thread a([&] {
    pool.parallel_for(2, 1, [&](int64_t b, int64_t) {
      if (b != 0) return;
      a_started = true;
      a_saw_b = wait_for(b_started, 10'000ms);
    });
  });
  std::thread b([&] {
    ASSERT_TRUE(wait_for(a_started, 10'000ms));
    pool.parallel_for(2, 1, [&](int64_t, int64_t) { b_started = true; });
  });
  a.join();
  b.join();
  EXPECT_TRUE(a_saw_b.load());
}

TEST(ThreadPoolConcurrency, ManyCallersGetExactResults) {
  ThreadPool pool(3);
  constexpr int kCallers = 4, kRounds = 300;
  std::vector<int64_t> sums(kCallers, 0);
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      for (int r = 0; r < kRounds; ++r) {
        const int64_t n = 17 + (r * 7 + c) % 50;
        std::vector<int64_t> v(static_cast<size_t>(n), 0);
        pool.parallel_for(n, 3, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) v[static_cast<size_t>(i)] += i + c;
        });
        sums[static_cast<size_t>(c)] += std::accumulate(v.begin(), v.end(), int64_t{0});
      }
    });
  for (auto& t : callers) t.join();
  for (int c = 0; c < kCallers; ++c) {
    int64_t want = 0;
    for (int r = 0; r < kRounds; ++r) {
      const int64_t n = 17 + (r * 7 + c) % 50;
      want += n * (n - 1) / 2 + n * c;
    }
    EXPECT_EQ(sums[static_cast<size_t>(c)], want) << "caller " << c;
  }
}

TEST(ThreadPoolConcurrency, DeepNestingFromSeveralCallers) {
  ThreadPool pool(3);
  std::atomic<int64_t> leaves{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 2; ++c)
    callers.emplace_back([&] {
      pool.parallel_for(4, 1, [&](int64_t, int64_t) {
        ThreadPool::current().parallel_for(3, 1, [&](int64_t, int64_t) {
          ThreadPool::current().parallel_for(5, 1, [&](int64_t b, int64_t e) { leaves += e - b; });
        });
      });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(leaves.load(), 2 * 4 * 3 * 5);
}

TEST(ThreadPoolConcurrency, ErrorsReachTheirOwnCaller) {
  ThreadPool pool(3);
  std::atomic<int> thrown{0}, clean{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      for (int r = 0; r < 50; ++r) {
        try {
          pool.parallel_for(8, 1, [&](int64_t b, int64_t) {
            if (c % 2 == 1 && b == 5) throw FormatError("caller " + std::to_string(c));
          });
          ++clean;
        } catch (const FormatError& e) {
          EXPECT_EQ(std::string(e.what()).find("caller " + std::to_string(c)) != std::string::npos,
                    true)
              << e.what();
          ++thrown;
        }
      }
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(thrown.load(), 2 * 50);
  EXPECT_EQ(clean.load(), 2 * 50);
}

TEST(ThreadPoolContext, ScopeSetsCurrentOnCallerAndWorkers) {
  ThreadPool mine(3);
  ThreadPool other(2);
  EXPECT_EQ(&ThreadPool::current(), &ThreadPool::global());
  {
    ThreadPool::Scope scope(mine);
    EXPECT_EQ(&ThreadPool::current(), &mine);
    std::atomic<int> wrong{0};
    ThreadPool::current().parallel_for(64, 1, [&](int64_t, int64_t) {
      if (&ThreadPool::current() != &mine) ++wrong;
    });
    EXPECT_EQ(wrong.load(), 0);
    // A chunk of another pool sees that pool, on whichever thread runs it.
    other.parallel_for(16, 1, [&](int64_t, int64_t) {
      if (&ThreadPool::current() != &other) ++wrong;
    });
    EXPECT_EQ(wrong.load(), 0);
    {
      ThreadPool::Scope inner(other);
      EXPECT_EQ(&ThreadPool::current(), &other);
    }
    EXPECT_EQ(&ThreadPool::current(), &mine);
  }
  EXPECT_EQ(&ThreadPool::current(), &ThreadPool::global());
}

TEST(ThreadPoolContext, ProcessPoolIsNeverResized) {
  ThreadPool& g = ThreadPool::global();
  const int n = g.num_threads();
  EXPECT_NO_THROW(ThreadPool::init_global(n));  // the size it has: nothing to do
  EXPECT_THROW(ThreadPool::init_global(n + 1), InvalidArgument);
  EXPECT_THROW(ThreadPool::init_global(-1), InvalidArgument);
  EXPECT_EQ(&ThreadPool::global(), &g);
  EXPECT_THROW(ThreadPool pool(-2), InvalidArgument);
}

TEST(ThreadPoolContext, OneThreadPoolRunsInline) {
  ThreadPool pool(1);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  pool.parallel_for(100, 1, [&](int64_t, int64_t) {
    if (std::this_thread::get_id() != caller) ++elsewhere;
  });
  EXPECT_EQ(elsewhere.load(), 0);
}

}  // namespace
}  // namespace deepfuse
