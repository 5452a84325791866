// libFuzzer target: config.json loading. The input is JSON text; when it parses, every typed
// config parser (Llama/Qwen/Mistral variants, GPT-2, BERT, DistilBERT, DeepSeek) and the RoPE
// parameter reader run on it, and generation_config.json loading runs on the same bytes.
// Contract: bad configs raise a deepfuse::Error naming the field; anything else is a finding.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/deepseek_config.h"
#include "formats/hf_config.h"
#include "fuzz_util.h"

namespace {

template <typename F>
void guarded(F&& f) {
  try {
    f();
  } catch (const deepfuse::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    guarded([&] {
      deepfuse::HFConfig cfg = deepfuse::HFConfig::from_json(j, "config.json");
      guarded([&] { deepfuse::parse_rope_params(cfg.fields()); });
      for (int v = 0; v < 4; ++v) {
        deepfuse::LlamaVariant var;
        var.qkv_bias = v == 1;
        var.qk_norm = v == 2;
        var.sliding_window_always = v == 3;
        var.sliding_window_opt_in = v == 2;
        guarded([&] { deepfuse::parse_llama_config(cfg, var); });
      }
      guarded([&] { deepfuse::parse_gpt2_config(cfg); });
      guarded([&] { deepfuse::parse_bert_config(cfg); });
      guarded([&] { deepfuse::parse_distilbert_config(cfg); });
      guarded([&] { deepfuse::parse_deepseek_config(cfg); });
    });
  }
  guarded([&] { deepfuse::load_generation_defaults(deepfuse::fuzz::scratch_file(text, ".json")); });
  return 0;
}
