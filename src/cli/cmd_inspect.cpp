// `deepfuse inspect --model DIR [--json]`: what a model folder holds, without running it.
// Architecture, parameter count (tied embeddings once), dtypes and bytes per dtype, tensors
// missing or unexpected for the architecture, memory for weights and per-token KV cache.
#include <map>
#include <set>
#include <sstream>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "formats/model_folder.h"
#include "models/model_util.h"
#include "models/registry.h"

namespace deepfuse::cli {
namespace {

std::string grouped(int64_t n) {
  std::string s = std::to_string(n), out;
  int c = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (c && c % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++c;
  }
  return out;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  std::ostringstream os;
  os.precision(u == 0 ? 0 : 2);
  os << std::fixed << b << " " << units[u];
  return os.str();
}

nlohmann::json inspect(const std::string& dir) {
  const ModelFolder folder = ModelFolder::open(dir);
  const WeightStore weights = folder.open_weights();
  const HFConfig& cfg = folder.config();
  const ModelEntry* entry = ModelRegistry::instance().find(cfg.architecture);

  nlohmann::json j;
  j["model"] = dir;
  j["architecture"] = cfg.architecture;
  j["model_type"] = cfg.model_type;
  j["supported"] = entry != nullptr;
  j["weights"] = weights.source();
  std::vector<std::string> tied;
  std::vector<std::string> missing, unexpected, wrong_shape;
  if (entry) {
    j["kind"] = model_kind_name(entry->kind);
    tied = entry->tied_tensors(cfg);
    std::set<std::string> known;
    for (const TensorSpec& s : entry->expected(cfg, weights)) {
      known.insert(s.name);
      if (!weights.contains(s.name)) {
        if (!s.optional) missing.push_back(s.name + " " + Shape(s.shape).str());
      } else if (weights.shape(s.name) != Shape(s.shape)) {
        wrong_shape.push_back(s.name + " " + weights.shape(s.name).str() + " (expected " +
                              Shape(s.shape).str() + ")");
      }
    }
    for (const auto& n : weights.names())
      if (!known.count(n)) unexpected.push_back(n);
    const auto kv = entry->kv_layout(cfg, DType::F32);
    size_t per_token = 0;
    for (const auto& l : kv) per_token += static_cast<size_t>(l.width) * dtype_size(l.dtype);
    j["kv_cache_dtype"] = "float32";
    j["kv_bytes_per_token"] = per_token;
    j["kv_layers"] = kv.size();
  }
  const std::set<std::string> skip(tied.begin(), tied.end());
  std::map<std::string, std::array<int64_t, 3>> by;  // dtype -> tensors, params, bytes
  int64_t params = 0, bytes = 0;
  for (const auto& n : weights.names()) {
    if (skip.count(n)) continue;
    const Shape s = weights.shape(n);
    const DType d = weights.dtype(n);
    auto& a = by[dtype_name(d)];
    a[0] += 1;
    a[1] += s.numel();
    a[2] += s.numel() * static_cast<int64_t>(dtype_size(d));
    params += s.numel();
    bytes += s.numel() * static_cast<int64_t>(dtype_size(d));
  }
  j["parameters"] = params;
  j["tensors"] = weights.names().size();
  j["weight_bytes"] = bytes;
  j["dtypes"] = nlohmann::json::object();
  for (const auto& [d, a] : by)
    j["dtypes"][d] = {{"tensors", a[0]}, {"parameters", a[1]}, {"bytes", a[2]}};
  j["missing"] = missing;
  j["unexpected"] = unexpected;
  j["wrong_shape"] = wrong_shape;
  j["tied"] = tied;
  return j;
}

void print_text(const nlohmann::json& j) {
  std::ostringstream os;
  os << "model:          " << j["model"].get<std::string>() << "\n";
  os << "architecture:   " << j["architecture"].get<std::string>();
  if (!j["model_type"].get<std::string>().empty())
    os << " (model_type " << j["model_type"].get<std::string>() << ")";
  os << (j["supported"].get<bool>() ? "" : "  [not supported by deepfuse]") << "\n";
  if (j.contains("kind")) os << "kind:           " << j["kind"].get<std::string>() << "\n";
  os << "parameters:     " << grouped(j["parameters"].get<int64_t>());
  if (!j["tied"].empty()) os << " (tied tensors counted once)";
  os << "\n";
  os << "tensors:        " << j["tensors"].get<size_t>() << " in "
     << j["weights"].get<std::string>() << "\n";
  for (auto it = j["dtypes"].begin(); it != j["dtypes"].end(); ++it)
    os << "  " << it.key() << ": " << grouped((*it)["parameters"].get<int64_t>()) << " parameters, "
       << human_bytes(static_cast<double>((*it)["bytes"].get<int64_t>())) << "\n";
  os << "weights memory: " << human_bytes(static_cast<double>(j["weight_bytes"].get<int64_t>()))
     << " (memory-mapped)\n";
  if (j.contains("kv_bytes_per_token"))
    os << "KV cache:       " << grouped(j["kv_bytes_per_token"].get<int64_t>())
       << " bytes per token (float32, " << j["kv_layers"].get<int64_t>() << " layers)\n";
  auto list = [&](const char* title, const nlohmann::json& v) {
    os << title << (v.empty() ? "none" : std::to_string(v.size())) << "\n";
    for (const auto& s : v) os << "  " << s.get<std::string>() << "\n";
  };
  if (j["supported"].get<bool>()) {
    list("missing:        ", j["missing"]);
    list("wrong shape:    ", j["wrong_shape"]);
    list("unexpected:     ", j["unexpected"]);
  }
  std::cout << os.str();
}

}  // namespace

void register_inspect(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "inspect", "Show a model folder's architecture, parameters, dtypes and memory needs");
  static std::string model;
  static bool json = false;
  cmd->add_option("--model", model, "Hugging Face model folder (config.json + *.safetensors)")
      ->required();
  cmd->add_flag("--json", json, "Print one JSON object instead of text");
  set_examples(cmd,
               "  deepfuse inspect --model assets/models/stories260K\n"
               "  deepfuse inspect --model models/qwen2 --json | jq .parameters\n");
  cmd->callback([] {
    const nlohmann::json j = inspect(model);
    if (json)
      print_json_line(j);
    else
      print_text(j);
  });
}

}  // namespace deepfuse::cli
