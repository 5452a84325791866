#include "cli/shipped_models.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace deepfuse::cli {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> candidates(const std::string& name) {
  std::vector<fs::path> out;
  if (const char* env = std::getenv("DEEPFUSE_MODELS_DIR"); env && *env)
    out.push_back(fs::path(env) / name);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path().parent_path() / "assets" / "models" / name);
    out.push_back(exe.parent_path().parent_path() / "share" / "deepfuse" / "models" / name);
  }
#ifdef DEEPFUSE_ASSETS_DIR
  out.push_back(fs::path(DEEPFUSE_ASSETS_DIR) / "models" / name);
#endif
  return out;
}

}  // namespace

std::string find_shipped_model(const std::string& name) {
  for (const auto& p : candidates(name)) {
    std::error_code ec;
    if (fs::is_regular_file(p / "config.json", ec)) return p.lexically_normal().string();
  }
  return "";
}

std::string require_shipped_model(const std::string& name, const std::string& flag) {
  std::string dir = find_shipped_model(name);
  if (!dir.empty()) return dir;
  std::string searched;
  for (const auto& p : candidates(name)) searched += (searched.empty() ? "" : ", ") + p.string();
  throw NotFound("shipped model " + name + " not found (searched " + searched + "): pass " + flag +
                 " DIR or set DEEPFUSE_MODELS_DIR");
}

}  // namespace deepfuse::cli
