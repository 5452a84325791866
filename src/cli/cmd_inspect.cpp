// `deepfuse inspect --model DIR [--json]`: what a model folder holds, without running it.
// Architecture, parameter count (tied embeddings once), dtypes and bytes per dtype, tensors
// missing or unexpected for the architecture, memory for weights and per-token KV cache.
#include <map>
#include <optional>
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

// KV bytes per token over all layers for a cache of `dtype`.
size_t kv_bytes_per_token(const ModelEntry& entry, const HFConfig& cfg, DType dtype) {
  size_t n = 0;
  for (const auto& l : entry.kv_layout(cfg, dtype))
    n += static_cast<size_t>(l.width) * dtype_size(l.dtype);
  return n;
}

// A folder with config.json but no weights is inspected from the config alone: parameter
// count and memory come from the tensors the architecture expects (users size hardware for a
// model before downloading it).
bool has_weights(const ModelFolder& folder) {
  try {
    (void)folder.weights_path();
    return true;
  } catch (const NotFound&) {
    return false;
  }
}

nlohmann::json inspect(const std::string& dir) {
  const ModelFolder folder = ModelFolder::open(dir);
  const bool config_only = !has_weights(folder);
  std::optional<WeightStore> weights;
  if (!config_only) weights.emplace(folder.open_weights());
  const HFConfig& cfg = folder.config();
  const ModelEntry* entry = ModelRegistry::instance().find(cfg.architecture);

  nlohmann::json j;
  j["model"] = dir;
  j["architecture"] = cfg.architecture;
  j["model_type"] = cfg.model_type;
  j["supported"] = entry != nullptr;
  j["config_only"] = config_only;
  j["weights"] = config_only ? std::string("none (config.json only)") : weights->source();
  std::vector<std::string> tied;
  std::vector<std::string> missing, unexpected, wrong_shape;
  std::vector<TensorSpec> expected;
  if (entry) {
    j["kind"] = model_kind_name(entry->kind);
    tied = entry->tied_tensors(cfg);
    if (weights) {
      expected = entry->expected(cfg, *weights);
    } else if (entry->expected_tensors) {
      expected = entry->expected_tensors(cfg);
    }
    std::set<std::string> known;
    for (const TensorSpec& s : expected) known.insert(s.name);
    if (weights) {
      for (const TensorSpec& s : expected) {
        if (!weights->contains(s.name)) {
          if (!s.optional) missing.push_back(s.name + " " + Shape(s.shape).str());
        } else if (weights->shape(s.name) != Shape(s.shape)) {
          wrong_shape.push_back(s.name + " " + weights->shape(s.name).str() + " (expected " +
                                Shape(s.shape).str() + ")");
        }
      }
      for (const auto& n : weights->names())
        if (!known.count(n)) unexpected.push_back(n);
    }
    j["kv_cache_dtype"] = "float32";
    j["kv_bytes_per_token"] = kv_bytes_per_token(*entry, cfg, DType::F32);
    j["kv_bytes_per_token_bf16"] = kv_bytes_per_token(*entry, cfg, DType::BF16);
    j["kv_layers"] = entry->kv_layout(cfg, DType::F32).size();
    if (entry->notes) j["notes"] = entry->notes(cfg, weights ? &*weights : nullptr);
  }
  const std::set<std::string> skip(tied.begin(), tied.end());
  std::map<std::string, std::array<int64_t, 3>> by;  // dtype -> tensors, params, bytes
  int64_t params = 0, bytes = 0, tensors = 0;
  auto count = [&](const std::string& n, const Shape& s, DType d) {
    if (skip.count(n)) return;
    auto& a = by[dtype_name(d)];
    a[0] += 1;
    a[1] += s.numel();
    a[2] += s.numel() * static_cast<int64_t>(dtype_size(d));
    params += s.numel();
    bytes += s.numel() * static_cast<int64_t>(dtype_size(d));
  };
  if (weights) {
    for (const auto& n : weights->names()) count(n, weights->shape(n), weights->dtype(n));
    tensors = static_cast<int64_t>(weights->names().size());
  } else {
    // Estimate in the dtype the config declares (torch_dtype / dtype), float32 when absent.
    DType d = DType::F32;
    if (cfg.raw.contains("torch_dtype") && cfg.raw["torch_dtype"].is_string())
      d = dtype_from_string(cfg.raw["torch_dtype"].get<std::string>(), "config.json torch_dtype");
    else if (cfg.raw.contains("dtype") && cfg.raw["dtype"].is_string())
      d = dtype_from_string(cfg.raw["dtype"].get<std::string>(), "config.json dtype");
    for (const TensorSpec& s : expected) {
      if (s.optional) continue;
      count(s.name, Shape(s.shape), d);
      ++tensors;
    }
  }
  j["parameters"] = params;
  j["tensors"] = tensors;
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
  if (j["config_only"].get<bool>()) os << " (estimated from config.json; no weights in the folder)";
  if (!j["tied"].empty()) os << " (tied tensors counted once)";
  os << "\n";
  os << "tensors:        " << j["tensors"].get<size_t>() << " in "
     << j["weights"].get<std::string>() << "\n";
  for (auto it = j["dtypes"].begin(); it != j["dtypes"].end(); ++it)
    os << "  " << it.key() << ": " << grouped((*it)["parameters"].get<int64_t>()) << " parameters, "
       << human_bytes(static_cast<double>((*it)["bytes"].get<int64_t>())) << "\n";
  os << "weights memory: " << human_bytes(static_cast<double>(j["weight_bytes"].get<int64_t>()))
     << (j["config_only"].get<bool>() ? " (estimated)\n" : " (memory-mapped)\n");
  if (j.contains("kv_bytes_per_token"))
    os << "KV cache:       " << grouped(j["kv_bytes_per_token"].get<int64_t>())
       << " bytes per token (float32, " << j["kv_layers"].get<int64_t>() << " layers; "
       << grouped(j["kv_bytes_per_token_bf16"].get<int64_t>()) << " in bfloat16)\n";
  if (j.contains("notes"))
    for (const auto& n : j["notes"]) os << "note:           " << n.get<std::string>() << "\n";
  auto list = [&](const char* title, const nlohmann::json& v) {
    os << title << (v.empty() ? "none" : std::to_string(v.size())) << "\n";
    for (const auto& s : v) os << "  " << s.get<std::string>() << "\n";
  };
  if (j["supported"].get<bool>() && !j["config_only"].get<bool>()) {
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
