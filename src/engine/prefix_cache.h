// Prefix cache: full KV blocks found again by content (SGLang/vLLM's automatic prefix caching).
//
// A full block's key is a hash chained with the previous block's key and salted with anything
// else that changes the block's KV content (a LoRA adapter, ...): equal keys mean equal prefixes
// up to and including that block. Entries keep the block's tokens, parent key and salt and a
// lookup compares them, so a 64-bit collision can only alias two prefixes whose *parents*
// collided too. Unreferenced cached blocks stay readable (in an LRU) until the block manager
// needs memory and evicts the least recently released one.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace deepfuse::engine {

// Key of a full block of `tokens` following the block whose key is `parent` (0 for the first).
uint64_t block_key(uint64_t parent, uint64_t salt, std::span<const int32_t> tokens);

class PrefixCache {
 public:
  // The cached block holding exactly this content, if any.
  std::optional<int32_t> find(uint64_t key, uint64_t parent, uint64_t salt,
                              std::span<const int32_t> tokens) const;
  // Records that `block` holds this content. False (nothing recorded) when the key is already
  // cached, e.g. two sequences computed the same prefix in the same step.
  bool insert(uint64_t key, uint64_t parent, uint64_t salt, std::span<const int32_t> tokens,
              int32_t block);
  // Key of a cached block (nullopt when `block` is not cached).
  std::optional<uint64_t> key_of(int32_t block) const;
  // LRU of unreferenced cached blocks (the block manager moves them in and out).
  void make_evictable(int32_t block);
  void make_pinned(int32_t block);
  bool evictable(int32_t block) const { return lru_pos_.count(block) != 0; }
  // Forgets the least recently released unreferenced block and returns it (nullopt if none).
  std::optional<int32_t> evict_lru();
  int32_t num_cached() const { return static_cast<int32_t>(by_key_.size()); }
  int32_t num_evictable() const { return static_cast<int32_t>(lru_.size()); }

 private:
  struct Entry {
    int32_t block = -1;
    uint64_t parent = 0, salt = 0;
    std::vector<int32_t> tokens;
  };
  std::unordered_map<uint64_t, Entry> by_key_;
  std::unordered_map<int32_t, uint64_t> key_by_block_;
  std::list<int32_t> lru_;  // front = least recently released
  std::unordered_map<int32_t, std::list<int32_t>::iterator> lru_pos_;
};

}  // namespace deepfuse::engine
