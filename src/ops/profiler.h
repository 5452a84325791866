// Per-op timing table, read like torch.profiler's key_averages(): op name, calls, self time
// (total and mean, ms) and share of all recorded time.
//
// Every op front-end opens a ScopedOp; when the profiler is disabled (the default) that costs
// one relaxed atomic load. When enabled, scopes nest per thread and each records its *self*
// time (its duration minus that of scopes opened inside it), so a layer-level scope around ops
// shows only the time not already attributed to an op. Recording takes a mutex: enable it for
// diagnosis (`--profile`), not in production serving.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace deepfuse {

class Profiler {
 public:
  struct Row {
    std::string name;
    int64_t calls = 0;
    double total_ms = 0;  // self time
    double mean_ms = 0;
    double share = 0;  // total_ms / sum of all rows' total_ms
  };

  static Profiler& global();

  void set_enabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void reset();
  void record(const char* name, double self_ms);
  // Rows sorted by total time, largest first.
  std::vector<Row> rows() const;
  // Sum of all self times (the "step" the shares refer to), in ms.
  double total_ms() const;
  // Fixed-width text table (header, one line per op, a total line), for --profile.
  std::string table(int max_rows = 50) const;

 private:
  struct Acc {
    int64_t calls = 0;
    double ms = 0;
  };
  std::atomic<bool> enabled_{false};
  mutable std::mutex mu_;
  std::unordered_map<std::string, Acc> acc_;
};

// Times the enclosing scope into Profiler::global() under `name` (a string literal or any
// string that outlives the scope).
class ScopedOp {
 public:
  explicit ScopedOp(const char* name);
  ~ScopedOp();
  ScopedOp(const ScopedOp&) = delete;
  ScopedOp& operator=(const ScopedOp&) = delete;

 private:
  const char* name_;  // nullptr when the profiler was disabled at entry
  ScopedOp* parent_ = nullptr;
  double child_ms_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace deepfuse

#define DF_PROFILE_CONCAT2(a, b) a##b
#define DF_PROFILE_CONCAT(a, b) DF_PROFILE_CONCAT2(a, b)
// DF_PROFILE_OP("linear"); times the rest of the enclosing scope.
#define DF_PROFILE_OP(name) ::deepfuse::ScopedOp DF_PROFILE_CONCAT(df_scoped_op_, __LINE__)(name)
