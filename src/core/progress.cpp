#include "core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace deepfuse {

bool Progress::terminal_output() {
  const char* ci = std::getenv("CI");
  return ::isatty(STDERR_FILENO) && !(ci && *ci);
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(terminal_output()) {
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_ - std::chrono::seconds(1);
}

Progress::~Progress() {
  finish();
}

void Progress::add(int64_t n) {
  set(done_ + n);
}

void Progress::set(int64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

void Progress::draw(bool final) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0.0;
  char buf[256];
  if (total_ > 0) {
    const double frac = static_cast<double>(done_) / static_cast<double>(total_);
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
    std::snprintf(buf, sizeof(buf), "\r%s %5.1f%% %lld/%lld %s  %.1f %s/s  ETA %.0fs   ",
                  label_.c_str(), 100.0 * frac, static_cast<long long>(done_),
                  static_cast<long long>(total_), unit_.c_str(), rate, unit_.c_str(),
                  final ? 0.0 : eta);
  } else {
    std::snprintf(buf, sizeof(buf), "\r%s %lld %s  %.1f %s/s   ", label_.c_str(),
                  static_cast<long long>(done_), unit_.c_str(), rate, unit_.c_str());
  }
  std::fputs(buf, stderr);
  if (final) std::fputs("\n", stderr);
  std::fflush(stderr);
}

}  // namespace deepfuse
