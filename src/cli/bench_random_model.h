// The random-weight model the CLI benchmarks run on: Qwen2.5-0.5B's dimensions (hidden 896,
// 14 heads / 2 KV heads of 64, MLP 4864, vocab 151936, tied embeddings) in bf16, `layers`
// decoder layers (24 = the real model), written as a normal Hugging Face folder.
#pragma once

#include <cstdint>
#include <string>

namespace deepfuse::cli {

// Writes DIR/config.json and DIR/model.safetensors; returns the weight bytes.
int64_t write_random_model(const std::string& dir, int layers);

}  // namespace deepfuse::cli
