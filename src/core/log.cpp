#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "core/error.h"

namespace deepfuse {

namespace {
spdlog::level::level_enum parse_level(const std::string& s) {
  if (s == "trace") return spdlog::level::trace;
  if (s == "debug") return spdlog::level::debug;
  if (s == "info") return spdlog::level::info;
  if (s == "warn" || s == "warning") return spdlog::level::warn;
  if (s == "error") return spdlog::level::err;
  if (s == "off") return spdlog::level::off;
  throw InvalidArgument("log level '" + s + "' (expected trace, debug, info, warn, error or off)");
}

std::shared_ptr<spdlog::logger> make_logger() {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto lg = std::make_shared<spdlog::logger>("deepfuse", sink);
  lg->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::level::level_enum level = spdlog::level::warn;
  if (const char* env = std::getenv("DEEPFUSE_LOG")) {
    try {
      level = parse_level(env);
    } catch (const InvalidArgument&) {
      level = spdlog::level::warn;
    }
  }
  lg->set_level(level);
  return lg;
}
}  // namespace

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> lg = make_logger();
  return *lg;
}

void set_log_level(const std::string& level) {
  logger().set_level(parse_level(level));
}

}  // namespace deepfuse
