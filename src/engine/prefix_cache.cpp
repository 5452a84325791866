#include "engine/prefix_cache.h"

#include <algorithm>

#include "core/error.h"

namespace deepfuse::engine {
namespace {

// splitmix64 finaliser: every input bit affects every output bit.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t block_key(uint64_t parent, uint64_t salt, std::span<const int32_t> tokens) {
  uint64_t h = mix(parent + 0x9E3779B97F4A7C15ull) ^ mix(salt ^ 0xD6E8FEB86659FD93ull);
  for (int32_t t : tokens) h = mix(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(t)) + 1));
  h = mix(h ^ static_cast<uint64_t>(tokens.size()));
  return h == 0 ? 1 : h;  // 0 means "no parent"
}

std::optional<int32_t> PrefixCache::find(uint64_t key, uint64_t parent, uint64_t salt,
                                         std::span<const int32_t> tokens) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  const Entry& e = it->second;
  if (e.parent != parent || e.salt != salt ||
      !std::equal(e.tokens.begin(), e.tokens.end(), tokens.begin(), tokens.end()))
    return std::nullopt;
  return e.block;
}

bool PrefixCache::insert(uint64_t key, uint64_t parent, uint64_t salt,
                         std::span<const int32_t> tokens, int32_t block) {
  if (by_key_.count(key) || key_by_block_.count(block)) return false;
  by_key_.emplace(key, Entry{block, parent, salt, {tokens.begin(), tokens.end()}});
  key_by_block_.emplace(block, key);
  return true;
}

std::optional<uint64_t> PrefixCache::key_of(int32_t block) const {
  auto it = key_by_block_.find(block);
  if (it == key_by_block_.end()) return std::nullopt;
  return it->second;
}

void PrefixCache::make_evictable(int32_t block) {
  DF_CHECK(key_by_block_.count(block) && !lru_pos_.count(block), InternalError,
           "prefix cache: block " << block << " cannot become evictable");
  lru_.push_back(block);
  lru_pos_.emplace(block, std::prev(lru_.end()));
}

void PrefixCache::make_pinned(int32_t block) {
  auto it = lru_pos_.find(block);
  if (it == lru_pos_.end()) return;
  lru_.erase(it->second);
  lru_pos_.erase(it);
}

std::optional<int32_t> PrefixCache::evict_lru() {
  if (lru_.empty()) return std::nullopt;
  const int32_t b = lru_.front();
  lru_.pop_front();
  lru_pos_.erase(b);
  auto k = key_by_block_.find(b);
  by_key_.erase(k->second);
  key_by_block_.erase(k);
  return b;
}

}  // namespace deepfuse::engine
