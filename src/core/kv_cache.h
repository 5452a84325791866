// Paged KV storage: the per-layer pools the attention ops read and write.
//
// In core/ (below ops/): ops::kv_write / ops::attention take it, engine/ allocates blocks.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace deepfuse {

// What a model keeps per token per layer in the KV cache: `width` values of `dtype`.
// Llama-style GQA stores K then V (2 * kv_heads * head_dim); DeepSeek MLA stores the
// compressed latent plus the rope key (kv_lora_rank + qk_rope_head_dim = 576 for V2-Lite/V3).
struct KVLayerSpec {
  int64_t width = 0;
  DType dtype = DType::F32;
};

// Paged KV storage: per layer a pool [num_blocks, block_size, width] and a free list of blocks.
// Blocks are shared by all layers (block b of layer l and block b of layer l' belong to the
// same sequence positions). Memory is allocated once and not touched until written, so a
// large pool costs resident memory only for the blocks in use.
class KVCache {
 public:
  KVCache(std::vector<KVLayerSpec> layers, int32_t block_size, int32_t num_blocks,
          Device device = Device::CPU);

  int32_t num_layers() const { return static_cast<int32_t>(pools_.size()); }
  int32_t block_size() const { return block_size_; }
  int32_t num_blocks() const { return num_blocks_; }
  const KVLayerSpec& spec(int32_t layer) const { return specs_[static_cast<size_t>(layer)]; }
  // [num_blocks, block_size, width] pool of one layer.
  const Tensor& pool(int32_t layer) const { return pools_[static_cast<size_t>(layer)]; }
  // Pointer to the `width` values of the token at `pos` of a sequence with `block_table`.
  void* slot(int32_t layer, const std::vector<int32_t>& block_table, int32_t pos) const;

  // Block allocation (engine/ uses these; models only read block tables).
  int32_t allocate_block();  // OutOfMemory when none is free
  void release_block(int32_t block);
  int32_t free_blocks() const { return static_cast<int32_t>(free_.size()); }
  // Appends blocks to `block_table` until it covers `num_tokens` tokens.
  void reserve(std::vector<int32_t>& block_table, int64_t num_tokens);
  void release(std::vector<int32_t>& block_table);
  // Bytes per token over all layers (what `deepfuse inspect` reports as KV bytes per token).
  size_t bytes_per_token() const;
  size_t total_bytes() const;

 private:
  std::vector<KVLayerSpec> specs_;
  std::vector<Tensor> pools_;
  int32_t block_size_;
  int32_t num_blocks_;
  std::vector<int32_t> free_;
};

}  // namespace deepfuse
