// Helpers shared by the fuzz targets.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace deepfuse::fuzz {

// A per-process scratch file (in /dev/shm when present) rewritten with `bytes` on each call;
// for APIs that only take a path.
inline std::string scratch_file(std::string_view bytes, const std::string& ext) {
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string path = dir + "/deepfuse_fuzz_" + std::to_string(getpid()) + ext;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    __builtin_trap();
  }
  std::fclose(f);
  return path;
}

inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace deepfuse::fuzz
