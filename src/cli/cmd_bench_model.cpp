// `deepfuse bench model`: speed and memory of a random-weight model with Qwen2.5-0.5B's
// dimensions in bf16, loaded through the normal path (config.json + mmap'd safetensors ->
// registry -> CausalLM::forward). Prints one JSON object: the streaming-read bandwidth bound
// measured in the same run, decode tokens/s at batch 1 (median step time), prefill tokens/s
// per prompt length (median of repeats), and resident memory against weights + KV cache.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/bench_random_model.h"
#include "cli/bench_registry.h"
#include "cli/cli_util.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "formats/model_folder.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/stream.h"
#include "models/registry.h"
#include "ops/profiler.h"

namespace deepfuse::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Qwen2.5-0.5B (config.json of Qwen/Qwen2.5-0.5B).
struct Shape05B {
  int64_t hidden = 896, intermediate = 4864, heads = 14, kv_heads = 2, head_dim = 64;
  int64_t vocab = 151936;
};

struct Options {
  int threads = 2;
  int repeats = 5;
  int decode_tokens = 32;
  std::vector<int> prefill = {128, 512};
  int layers = 24;
  std::string dir;
  bool profile = false;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// VmRSS / VmHWM of this process in bytes (0 when /proc is unavailable).
int64_t proc_status_bytes(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string k = std::string(key) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(k, 0) == 0) return std::stoll(line.substr(k.size())) * 1024;  // kB
  }
  return 0;
}

}  // namespace

// Writes config.json and model.safetensors (bf16, uniform values of std ~0.02, norms = 1),
// streaming the data so the writer itself needs no model-sized buffer. Returns weight bytes.
// (Shared with `bench serve` through cli/bench_random_model.h.)
int64_t write_random_model(const std::string& dir, int layers) {
  const Shape05B s;
  nlohmann::json cfg = {{"architectures", {"Qwen2ForCausalLM"}},
                        {"model_type", "qwen2"},
                        {"hidden_size", s.hidden},
                        {"intermediate_size", s.intermediate},
                        {"num_hidden_layers", layers},
                        {"num_attention_heads", s.heads},
                        {"num_key_value_heads", s.kv_heads},
                        {"vocab_size", s.vocab},
                        {"max_position_embeddings", 32768},
                        {"rope_theta", 1000000.0},
                        {"rms_norm_eps", 1e-6},
                        {"hidden_act", "silu"},
                        {"tie_word_embeddings", true},
                        {"use_sliding_window", false},
                        {"torch_dtype", "bfloat16"},
                        {"bos_token_id", 151643},
                        {"eos_token_id", 151643}};
  write_file_atomic(dir + "/config.json", cfg.dump(2));

  struct Spec {
    std::string name;
    std::vector<int64_t> shape;
    bool ones;
  };
  std::vector<Spec> specs = {{"model.embed_tokens.weight", {s.vocab, s.hidden}, false}};
  const int64_t kvd = s.kv_heads * s.head_dim;
  for (int l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    specs.push_back({p + "input_layernorm.weight", {s.hidden}, true});
    specs.push_back({p + "self_attn.q_proj.weight", {s.hidden, s.hidden}, false});
    specs.push_back({p + "self_attn.q_proj.bias", {s.hidden}, false});
    specs.push_back({p + "self_attn.k_proj.weight", {kvd, s.hidden}, false});
    specs.push_back({p + "self_attn.k_proj.bias", {kvd}, false});
    specs.push_back({p + "self_attn.v_proj.weight", {kvd, s.hidden}, false});
    specs.push_back({p + "self_attn.v_proj.bias", {kvd}, false});
    specs.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.hidden}, false});
    specs.push_back({p + "post_attention_layernorm.weight", {s.hidden}, true});
    specs.push_back({p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}, false});
    specs.push_back({p + "mlp.up_proj.weight", {s.intermediate, s.hidden}, false});
    specs.push_back({p + "mlp.down_proj.weight", {s.hidden, s.intermediate}, false});
  }
  specs.push_back({"model.norm.weight", {s.hidden}, true});

  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  int64_t offset = 0;
  for (const Spec& sp : specs) {
    int64_t n = 1;
    for (int64_t d : sp.shape) n *= d;
    header[sp.name] = {
        {"dtype", "BF16"}, {"shape", sp.shape}, {"data_offsets", {offset, offset + 2 * n}}};
    offset += 2 * n;
  }
  std::string h = header.dump();
  while (h.size() % 8) h.push_back(' ');
  const std::string path = dir + "/model.safetensors";
  std::ofstream out(path, std::ios::binary);
  DF_CHECK(out.good(), Error, "bench model: cannot write " << path);
  const uint64_t hlen = h.size();
  out.write(reinterpret_cast<const char*>(&hlen), 8);
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  std::vector<uint16_t> buf(1 << 20);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (const Spec& sp : specs) {
    int64_t n = 1;
    for (int64_t d : sp.shape) n *= d;
    while (n > 0) {
      const int64_t len = std::min<int64_t>(n, static_cast<int64_t>(buf.size()));
      for (int64_t i = 0; i < len; ++i) {
        if (sp.ones) {
          buf[static_cast<size_t>(i)] = 0x3F80;  // 1.0
          continue;
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Uniform in [-0.035, 0.035): std ~0.02 like HF's initializer_range.
        const float u = static_cast<float>(state >> 40) * (1.0f / 16777216.0f);
        buf[static_cast<size_t>(i)] = f32_to_bf16((u - 0.5f) * 0.07f);
      }
      out.write(reinterpret_cast<const char*>(buf.data()), len * 2);
      n -= len;
    }
  }
  out.close();
  DF_CHECK(out.good(), Error, "bench model: writing " << path << " failed (disk full?)");
  return offset;
}

namespace {

// Median streaming-read bandwidth (bytes/s) over `passes` reads of a 1 GiB buffer.
std::pair<double, double> stream_bandwidth(int passes) {
  const size_t bytes = size_t{1} << 30;
  Tensor buf = Tensor::empty(DType::U8, {static_cast<int64_t>(bytes)});
  std::memset(buf.raw(), 1, bytes);  // fault the pages in before timing
  std::vector<double> bw;
  uint64_t sink = 0;
  for (int i = 0; i < passes; ++i) {
    const auto t0 = Clock::now();
    sink ^= cpu::stream_read(buf.raw(), bytes, ThreadPool::global());
    bw.push_back(static_cast<double>(bytes) / seconds_since(t0));
  }
  if (sink == 42) std::fprintf(stderr, " ");  // keep the reads observable
  return {median(bw), *std::max_element(bw.begin(), bw.end())};
}

void run_bench_model(const Options& o) {
  DF_CHECK(o.repeats >= 1, InvalidArgument, "--repeats must be >= 1, got " << o.repeats);
  DF_CHECK(o.decode_tokens >= 1, InvalidArgument,
           "--decode-tokens must be >= 1, got " << o.decode_tokens);
  DF_CHECK(o.layers >= 1 && o.layers <= 64, InvalidArgument,
           "--layers must be in [1, 64], got " << o.layers);
  for (int p : o.prefill)
    DF_CHECK(p >= 1 && p <= 8192, InvalidArgument,
             "--prefill lengths must be in [1, 8192], got " << p);
  apply_threads(o.threads);
  ThreadPool& pool = ThreadPool::global();

  // 1. The bound: streaming reads on the same threads, before the model is touched. Its 1 GiB
  // buffer is freed afterwards; the peak-RSS counter is reset so VmHWM reflects the model.
  const auto [bw_median, bw_best] = stream_bandwidth(7);
  bool hwm_reset = false;
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    hwm_reset = clear.good();
  }

  // 2. Model folder (temporary unless --dir is given).
  const bool temp = o.dir.empty();
  const std::string dir =
      temp ? (fs::temp_directory_path() / ("deepfuse-bench-model-" + std::to_string(::getpid())))
                 .string()
           : o.dir;
  fs::create_directories(dir);
  struct Cleanup {
    std::string dir;
    bool on;
    ~Cleanup() {
      std::error_code ec;
      if (on) fs::remove_all(dir, ec);
    }
  } cleanup{dir, temp};
  int64_t weight_bytes = 0;
  if (!fs::exists(dir + "/model.safetensors")) {
    weight_bytes = write_random_model(dir, o.layers);
  } else {
    weight_bytes = static_cast<int64_t>(fs::file_size(dir + "/model.safetensors"));
  }
  const int64_t rss_before_load = proc_status_bytes("VmRSS");

  // 3. Load through the registry, exactly as `deepfuse generate` would.
  const auto t_load = Clock::now();
  const ModelFolder folder = ModelFolder::open(dir);
  const ModelEntry& entry = ModelRegistry::instance().get(folder.config().architecture);
  DF_CHECK(entry.make_causal_lm, InternalError,
           "bench model: " << entry.architecture << " is not a causal LM");
  std::unique_ptr<CausalLM> model =
      entry.make_causal_lm(folder, folder.open_weights(), LoadOptions{});
  const double load_s = seconds_since(t_load);
  const int64_t vocab = model->info().vocab_size;

  const int max_prefill = *std::max_element(o.prefill.begin(), o.prefill.end());
  const int decode_prompt = 16;
  const int32_t block_size = 16;
  const int64_t max_tokens =
      std::max<int64_t>(max_prefill, decode_prompt + o.decode_tokens) + block_size;
  KVCache cache(model->kv_layout(), block_size, static_cast<int32_t>(max_tokens / block_size + 2));
  uint64_t rng = 12345;
  auto random_ids = [&](int n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (auto& id : ids) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      id = static_cast<int32_t>((rng >> 33) % static_cast<uint64_t>(vocab));
    }
    return ids;
  };
  auto check_logits = [&](const Tensor& logits) {
    const std::vector<float> v = logits.to_f32_vector();
    for (float x : v) DF_CHECK(std::isfinite(x), InternalError, "bench model: non-finite logits");
  };

  // Warm-up: touches every weight page once (first-touch page faults are not the steady state).
  {
    std::vector<int32_t> bt;
    cache.reserve(bt, 8);
    check_logits(model->forward(ForwardBatch::single(random_ids(8), 0, bt, false), cache));
    cache.release(bt);
  }

  // 4. Prefill: one sequence of P new tokens, logits for the last one.
  nlohmann::json prefill = nlohmann::json::object();
  Profiler& prof = Profiler::global();
  for (int p : o.prefill) {
    std::vector<double> secs;
    if (o.profile) {
      prof.reset();
      prof.set_enabled(true);
    }
    for (int r = 0; r < o.repeats; ++r) {
      std::vector<int32_t> bt;
      cache.reserve(bt, p);
      const ForwardBatch b = ForwardBatch::single(random_ids(p), 0, bt, false);
      const auto t0 = Clock::now();
      const Tensor logits = model->forward(b, cache);
      secs.push_back(seconds_since(t0));
      check_logits(logits);
      cache.release(bt);
    }
    const double med = median(secs);
    prefill[std::to_string(p)] = {
        {"tokens_per_s", p / med},
        {"median_s", med},
        {"best_tokens_per_s", p / *std::min_element(secs.begin(), secs.end())}};
    if (o.profile) {
      prof.set_enabled(false);
      std::fprintf(stderr, "prefill %d profile (%d runs, median %.1f ms):\n%s", p, o.repeats,
                   med * 1e3, prof.table().c_str());
    }
  }

  // 5. Decode at batch 1: a 16-token prompt, then one token per step.
  std::vector<double> steps;
  if (o.profile) {
    prof.reset();
    prof.set_enabled(true);
  }
  for (int r = 0; r < o.repeats; ++r) {
    std::vector<int32_t> bt;
    cache.reserve(bt, decode_prompt + o.decode_tokens);
    std::vector<int32_t> ids = random_ids(decode_prompt);
    (void)model->forward(ForwardBatch::single(ids, 0, bt, false), cache);
    int32_t ctx = decode_prompt;
    for (int t = 0; t < o.decode_tokens; ++t) {
      const ForwardBatch b = ForwardBatch::single(random_ids(1), ctx, bt, false);
      const auto t0 = Clock::now();
      const Tensor logits = model->forward(b, cache);
      steps.push_back(seconds_since(t0));
      ++ctx;
    }
    cache.release(bt);
  }
  prof.set_enabled(false);
  const double step_med = median(steps);
  const double decode_tps = 1.0 / step_med;
  const double bound_tps = bw_median / static_cast<double>(weight_bytes);

  // 6. Memory: resident set against weights + the KV cache a 512-token context needs.
  const int64_t rss = proc_status_bytes("VmRSS");
  const int64_t hwm = proc_status_bytes("VmHWM");
  const int64_t kv_bytes = static_cast<int64_t>(cache.bytes_per_token()) * max_tokens;

  nlohmann::json j = {
      {"bench", "model"},
      {"model", "random Qwen2.5-0.5B shape, bf16"},
      {"layers", o.layers},
      {"threads", pool.num_threads()},
      {"isa", isa_name(best_isa())},
      {"gemm_path", cpu::gemm_path_name(cpu::best_gemm_path(DType::BF16))},
      {"weight_bytes", weight_bytes},
      {"load_s", load_s},
      {"stream_read_gbps", {{"median", bw_median / 1e9}, {"best", bw_best / 1e9}}},
      {"decode",
       {{"tokens_per_s", decode_tps},
        {"median_step_ms", step_med * 1e3},
        {"steps", steps.size()},
        {"bound_tokens_per_s", bound_tps},
        {"fraction_of_bound", decode_tps / bound_tps}}},
      {"prefill", prefill},
      {"memory",
       {{"vm_rss_bytes", rss},
        {"vm_hwm_bytes", hwm},
        {"rss_before_load_bytes", rss_before_load},
        {"hwm_reset_after_bandwidth_probe", hwm_reset},
        {"kv_bytes", kv_bytes},
        {"weights_plus_kv_bytes", weight_bytes + kv_bytes},
        {"hwm_over_weights_plus_kv",
         static_cast<double>(hwm) / static_cast<double>(weight_bytes + kv_bytes)}}}};
  print_json_line(j);
  if (o.profile)
    std::fprintf(stderr, "decode profile (%zu steps):\n%s", steps.size(), prof.table().c_str());
}

void add_bench_model(CLI::App& bench) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = bench.add_subcommand(
      "model", "Decode/prefill speed and memory of a random Qwen2.5-0.5B-shaped bf16 model");
  cmd->add_option("--threads", o->threads, "Worker threads (default 2; 0 = all hardware threads)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeats", o->repeats, "Repeats of each measurement (medians are reported)");
  cmd->add_option("--decode-tokens", o->decode_tokens, "Decode steps per repeat");
  cmd->add_option("--prefill", o->prefill, "Prompt lengths to time (default 128 512)")
      ->delimiter(',');
  cmd->add_option("--layers", o->layers, "Decoder layers (24 = the real model)");
  cmd->add_option("--dir", o->dir,
                  "Folder for the generated model (kept; reused when it already holds one). "
                  "Default: a temporary folder, removed afterwards");
  cmd->add_flag("--profile", o->profile, "Print per-op tables of each prefill length and of the decode steps on stderr");
  set_examples(cmd,
               "  deepfuse bench model\n"
               "  deepfuse bench model --repeats 3 --prefill 128 --decode-tokens 16\n"
               "  deepfuse bench model --layers 4 --profile\n");
  cmd->callback([o] { run_bench_model(*o); });
}

const bool kRegistered = register_bench_command("model", &add_bench_model);

}  // namespace

}  // namespace deepfuse::cli
