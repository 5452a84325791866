#include "ops/profiler.h"

#include <algorithm>
#include <cstdio>

namespace deepfuse {

namespace {
thread_local ScopedOp* tls_current = nullptr;
}

Profiler& Profiler::global() {
  static Profiler p;
  return p;
}

void Profiler::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  acc_.clear();
}

void Profiler::record(const char* name, double self_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Acc& a = acc_[name];
  a.calls += 1;
  a.ms += self_ms;
}

double Profiler::total_ms() const {
  std::lock_guard<std::mutex> lock(mu_);
  double t = 0;
  for (const auto& [name, a] : acc_) t += a.ms;
  return t;
}

std::vector<Profiler::Row> Profiler::rows() const {
  std::vector<Row> out;
  double total = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, a] : acc_) {
      Row r;
      r.name = name;
      r.calls = a.calls;
      r.total_ms = a.ms;
      r.mean_ms = a.calls ? a.ms / static_cast<double>(a.calls) : 0;
      total += a.ms;
      out.push_back(std::move(r));
    }
  }
  for (Row& r : out) r.share = total > 0 ? r.total_ms / total : 0;
  std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
    return a.total_ms != b.total_ms ? a.total_ms > b.total_ms : a.name < b.name;
  });
  return out;
}

std::string Profiler::table(int max_rows) const {
  const std::vector<Row> rs = rows();
  double total = 0;
  int64_t calls = 0;
  for (const Row& r : rs) {
    total += r.total_ms;
    calls += r.calls;
  }
  std::string s;
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %10s %14s %12s %8s\n", "Name", "Calls", "Self total ms",
                "Mean ms", "Share");
  s += line;
  s += std::string(76, '-') + "\n";
  int shown = 0;
  for (const Row& r : rs) {
    if (shown++ >= max_rows) break;
    std::snprintf(line, sizeof line, "%-28.28s %10lld %14.3f %12.4f %7.2f%%\n", r.name.c_str(),
                  static_cast<long long>(r.calls), r.total_ms, r.mean_ms, 100.0 * r.share);
    s += line;
  }
  s += std::string(76, '-') + "\n";
  std::snprintf(line, sizeof line, "%-28s %10lld %14.3f\n", "Self time total",
                static_cast<long long>(calls), total);
  s += line;
  return s;
}

ScopedOp::ScopedOp(const char* name) : name_(Profiler::global().enabled() ? name : nullptr) {
  if (!name_) return;
  parent_ = tls_current;
  tls_current = this;
  start_ = std::chrono::steady_clock::now();
}

ScopedOp::~ScopedOp() {
  if (!name_) return;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  tls_current = parent_;
  if (parent_) parent_->child_ms_ += ms;
  Profiler::global().record(name_, std::max(0.0, ms - child_ms_));
}

}  // namespace deepfuse
