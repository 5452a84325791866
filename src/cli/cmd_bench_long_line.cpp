#include "cli/bench_long_line.h"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_util.h"
#include "core/error.h"
#include "deepfuse/tokenizer.h"
#include "safety/pii.h"

namespace deepfuse::cli {
namespace {

using Clock = std::chrono::steady_clock;

// A field of /proc/self/status in bytes ("VmHWM:  1234 kB"); 0 when unreadable.
size_t proc_status_bytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0) return std::stoull(line.substr(key.size())) * 1024;
  return 0;
}

// Resets the peak RSS (VmHWM) to the current RSS (Linux: "5" to clear_refs), so each
// measurement sees only its own peak. False when the kernel refuses.
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

std::string make_line(const std::vector<std::string>& docs, size_t bytes) {
  std::string line;
  line.reserve(bytes + 4096);
  for (size_t i = 0; line.size() < bytes; i = (i + 1) % docs.size()) {
    if (!line.empty()) line.push_back(' ');
    line += docs[i];
  }
  line.resize(bytes);
  // Cut on a character boundary so the line stays valid UTF-8.
  while (!line.empty() && (static_cast<unsigned char>(line.back()) & 0xC0) == 0x80) line.pop_back();
  if (!line.empty() && static_cast<unsigned char>(line.back()) >= 0xC0) line.pop_back();
  return line;
}

// Runs `f` and fills r with seconds, peak RSS above the RSS before it, and that peak per input
// byte.
template <typename F>
void measure(nlohmann::json& r, size_t bytes, F&& f) {
  const bool reset = reset_peak_rss();
  const size_t before = proc_status_bytes("VmRSS");
  const auto t0 = Clock::now();
  f();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const size_t peak = proc_status_bytes("VmHWM");
  r["seconds"] = s;
  r["mb_per_s"] = bytes / 1e6 / s;
  r["peak_rss_above_baseline_bytes"] = peak > before ? peak - before : 0;
  r["peak_rss_per_input_byte"] = peak > before ? double(peak - before) / double(bytes) : 0.0;
  if (!reset) r["note"] = "peak RSS reset refused by the kernel: the peak includes earlier work";
}

}  // namespace

void run_long_line_bench(const std::vector<std::string>& models, const std::vector<double>& sizes,
                         const std::vector<std::string>& docs, bool with_mask) {
  DF_CHECK(!docs.empty(), InvalidArgument, "bench tokenizer --long-line-mb: the corpus is empty");
  for (double mb : sizes) {
    const size_t want = static_cast<size_t>(mb * 1e6);
    for (const auto& dir : models) {
      auto tok = AutoTokenizer::from_pretrained(dir);
      nlohmann::json r = {{"bench", "tokenizer_long_line"}, {"model", dir}};
      size_t tokens = 0, bytes = 0;
      {
        const std::string line = make_line(docs, want);
        bytes = line.size();
        measure(r, bytes, [&] { tokens = tok->encode(line, false).size(); });
      }
      r["line_bytes"] = bytes;
      r["tokens"] = tokens;
      print_json_line(r);
    }
    if (with_mask) {
      nlohmann::json r = {{"bench", "mask_long_line"}};
      size_t bytes = 0, spans = 0;
      {
        const std::string line = make_line(docs, want);
        bytes = line.size();
        measure(r, bytes, [&] { spans = mask_pii(line, PiiOptions{}).spans.size(); });
      }
      r["line_bytes"] = bytes;
      r["spans"] = spans;
      print_json_line(r);
    }
  }
}

}  // namespace deepfuse::cli
