#include "core/kv_cache.h"

#include <string>

#include "core/error.h"

namespace deepfuse {

KVCache::KVCache(std::vector<KVLayerSpec> layers, int32_t block_size, int32_t num_blocks,
                 Device device)
    : specs_(std::move(layers)), block_size_(block_size), num_blocks_(num_blocks) {
  DF_CHECK(block_size > 0, InvalidArgument, "KV block size must be > 0, got " << block_size);
  DF_CHECK(num_blocks > 0, InvalidArgument, "KV block count must be > 0, got " << num_blocks);
  pools_.reserve(specs_.size());
  for (const auto& s : specs_)
    pools_.push_back(Tensor::empty(s.dtype, {num_blocks, block_size, s.width}, device));
  free_.resize(static_cast<size_t>(num_blocks));
  // Hand out low block ids first (pop_back), which keeps small caches compact.
  for (int32_t i = 0; i < num_blocks; ++i) free_[static_cast<size_t>(i)] = num_blocks - 1 - i;
}

void* KVCache::slot(int32_t layer, const std::vector<int32_t>& block_table, int32_t pos) const {
  const int32_t b = block_table[static_cast<size_t>(pos / block_size_)];
  const KVLayerSpec& s = specs_[static_cast<size_t>(layer)];
  const size_t token_bytes = static_cast<size_t>(s.width) * dtype_size(s.dtype);
  const size_t index = static_cast<size_t>(b) * static_cast<size_t>(block_size_) +
                       static_cast<size_t>(pos % block_size_);
  return static_cast<char*>(pools_[static_cast<size_t>(layer)].raw()) + index * token_bytes;
}

int32_t KVCache::allocate_block() {
  if (free_.empty())
    throw OutOfMemory("KV cache full: all " + std::to_string(num_blocks_) + " blocks of " +
                      std::to_string(block_size_) +
                      " tokens are in use (raise the cache size or shorten the context)");
  const int32_t b = free_.back();
  free_.pop_back();
  return b;
}

void KVCache::release_block(int32_t block) {
  DF_CHECK(block >= 0 && block < num_blocks_, InvalidArgument, "release of KV block " << block);
  free_.push_back(block);
}

void KVCache::reserve(std::vector<int32_t>& block_table, int64_t num_tokens) {
  const int64_t needed = (num_tokens + block_size_ - 1) / block_size_;
  while (static_cast<int64_t>(block_table.size()) < needed) block_table.push_back(allocate_block());
}

void KVCache::release(std::vector<int32_t>& block_table) {
  for (int32_t b : block_table) release_block(b);
  block_table.clear();
}

size_t KVCache::bytes_per_token() const {
  size_t n = 0;
  for (const auto& s : specs_) n += static_cast<size_t>(s.width) * dtype_size(s.dtype);
  return n;
}

size_t KVCache::total_bytes() const {
  return bytes_per_token() * static_cast<size_t>(block_size_) * static_cast<size_t>(num_blocks_);
}

}  // namespace deepfuse
