// Progress line with rate and ETA for long work (loading, ingesting, benchmarks).
// It draws on stderr only when stderr is a terminal and CI is unset, at most 10 times a second,
// so pipes and logs stay quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace deepfuse {

class Progress {
 public:
  // `total` <= 0 means unknown (no percentage or ETA). `unit` names what is counted ("docs").
  Progress(std::string label, int64_t total, std::string unit);
  ~Progress();  // finishes the line if still open
  void add(int64_t n = 1);
  void set(int64_t done);
  void finish();
  bool enabled() const { return enabled_; }
  // Whether progress lines would be drawn at all in this process.
  static bool terminal_output();

 private:
  void draw(bool final);
  std::string label_;
  std::string unit_;
  int64_t total_;
  int64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace deepfuse
