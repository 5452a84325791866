// Logging to stderr through spdlog. Level from DEEPFUSE_LOG (trace, debug, info, warn, error,
// off; default warn so pipes stay quiet) or set_log_level (CLI --verbose / --quiet).
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace deepfuse {

spdlog::logger& logger();
void set_log_level(const std::string& level);  // InvalidArgument on an unknown name

}  // namespace deepfuse

#define DF_LOG_DEBUG(...) ::deepfuse::logger().debug(__VA_ARGS__)
#define DF_LOG_INFO(...) ::deepfuse::logger().info(__VA_ARGS__)
#define DF_LOG_WARN(...) ::deepfuse::logger().warn(__VA_ARGS__)
#define DF_LOG_ERROR(...) ::deepfuse::logger().error(__VA_ARGS__)
