#include "engine/block_manager.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace deepfuse::engine {

int32_t BlockTable::owned() const {
  return static_cast<int32_t>(
      std::count_if(blocks.begin(), blocks.end(), [](int32_t b) { return b != kReleased; }));
}

BlockManager::BlockManager(int32_t num_blocks, int32_t block_size, bool prefix_caching)
    : num_blocks_(num_blocks), block_size_(block_size), prefix_caching_(prefix_caching) {
  DF_CHECK(num_blocks > 0, InvalidArgument, "KV block count must be > 0, got " << num_blocks);
  DF_CHECK(block_size > 0, InvalidArgument, "KV block size must be > 0, got " << block_size);
  refs_.assign(static_cast<size_t>(num_blocks), 0);
  // Low ids first (pop_back) keeps a lightly used pool compact in memory.
  free_.resize(static_cast<size_t>(num_blocks));
  for (int32_t i = 0; i < num_blocks; ++i) free_[static_cast<size_t>(i)] = num_blocks - 1 - i;
}

int32_t BlockManager::exclusive(const BlockTable& table) const {
  int32_t n = 0;
  for (int32_t b : table.blocks)
    if (b != BlockTable::kReleased && refs_[static_cast<size_t>(b)] == 1) ++n;
  return n;
}

PrefixMatch BlockManager::match(std::span<const int32_t> tokens, uint64_t salt,
                                int32_t max_blocks) const {
  PrefixMatch m;
  if (!prefix_caching_) return m;
  const int64_t full = static_cast<int64_t>(tokens.size()) / block_size_;
  uint64_t parent = 0;
  for (int64_t i = 0; i < std::min<int64_t>(full, max_blocks); ++i) {
    auto blk =
        tokens.subspan(static_cast<size_t>(i * block_size_), static_cast<size_t>(block_size_));
    const uint64_t key = block_key(parent, salt, blk);
    auto b = cache_.find(key, parent, salt, blk);
    if (!b) break;
    m.blocks.push_back(*b);
    m.keys.push_back(key);
    if (refs_[static_cast<size_t>(*b)] == 0) ++m.unreferenced;
    parent = key;
  }
  return m;
}

void BlockManager::acquire(BlockTable& table, const PrefixMatch& m, int32_t lookup_blocks) {
  DF_CHECK(table.blocks.empty(), InternalError, "prefix blocks go into an empty block table");
  for (int32_t b : m.blocks) {
    if (refs_[static_cast<size_t>(b)]++ == 0) cache_.make_pinned(b);
    table.blocks.push_back(b);
  }
  table.keys = m.keys;
  if (prefix_caching_) {
    hits_ += static_cast<int64_t>(m.blocks.size());
    misses_ += std::max<int64_t>(0, lookup_blocks - static_cast<int64_t>(m.blocks.size()));
  }
}

int32_t BlockManager::allocate() {
  int32_t b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else if (auto e = cache_.evict_lru()) {
    b = *e;
    ++evictions_;
  } else {
    throw OutOfMemory("KV cache full: all " + std::to_string(num_blocks_) + " blocks of " +
                      std::to_string(block_size_) + " tokens are referenced");
  }
  refs_[static_cast<size_t>(b)] = 1;
  return b;
}

void BlockManager::grow(BlockTable& table, int64_t num_tokens) {
  const int64_t need = blocks_for(num_tokens, block_size_);
  while (static_cast<int64_t>(table.blocks.size()) < need) table.blocks.push_back(allocate());
}

void BlockManager::unref(int32_t b) {
  DF_CHECK(b >= 0 && b < num_blocks_ && refs_[static_cast<size_t>(b)] > 0, InternalError,
           "KV block " << b << " released but not referenced");
  if (--refs_[static_cast<size_t>(b)] > 0) return;
  if (cache_.key_of(b))
    cache_.make_evictable(b);  // content stays findable until the memory is needed
  else
    free_.push_back(b);
}

void BlockManager::commit_full_blocks(BlockTable& table, std::span<const int32_t> tokens,
                                      int64_t computed, uint64_t salt) {
  if (!prefix_caching_) return;
  const int64_t full =
      std::min<int64_t>(computed, static_cast<int64_t>(tokens.size())) / block_size_;
  for (int64_t i = static_cast<int64_t>(table.keys.size()); i < full; ++i) {
    const uint64_t parent = i == 0 ? 0 : table.keys[static_cast<size_t>(i - 1)];
    auto blk =
        tokens.subspan(static_cast<size_t>(i * block_size_), static_cast<size_t>(block_size_));
    const uint64_t key = block_key(parent, salt, blk);
    const int32_t b = table.blocks[static_cast<size_t>(i)];
    // A block released from the sliding window, or one whose content another sequence cached
    // first, is simply not recorded; the chain of keys still continues.
    if (b != BlockTable::kReleased) cache_.insert(key, parent, salt, blk, b);
    table.keys.push_back(key);
  }
}

void BlockManager::release_before(BlockTable& table, int64_t first_needed) {
  const int64_t n =
      std::min<int64_t>(first_needed / block_size_, static_cast<int64_t>(table.blocks.size()));
  for (int64_t i = 0; i < n; ++i) {
    int32_t& b = table.blocks[static_cast<size_t>(i)];
    if (b == BlockTable::kReleased) continue;
    unref(b);
    b = BlockTable::kReleased;
  }
}

void BlockManager::release_all(BlockTable& table) {
  // Last block first: the LRU then evicts a chain's tail before its head, keeping the longest
  // reusable prefixes.
  for (auto it = table.blocks.rbegin(); it != table.blocks.rend(); ++it)
    if (*it != BlockTable::kReleased) unref(*it);
  table.blocks.clear();
  table.keys.clear();
}

void BlockManager::check_invariants(std::span<const BlockTable* const> tables) const {
  std::vector<int32_t> seen(static_cast<size_t>(num_blocks_), 0);
  for (const BlockTable* t : tables)
    for (int32_t b : t->blocks) {
      if (b == BlockTable::kReleased) continue;
      DF_CHECK(b >= 0 && b < num_blocks_, InternalError, "block table names block " << b);
      ++seen[static_cast<size_t>(b)];
    }
  std::vector<char> on_free(static_cast<size_t>(num_blocks_), 0);
  for (int32_t b : free_) {
    DF_CHECK(!on_free[static_cast<size_t>(b)], InternalError, "block " << b << " freed twice");
    on_free[static_cast<size_t>(b)] = 1;
  }
  for (int32_t b = 0; b < num_blocks_; ++b) {
    const size_t i = static_cast<size_t>(b);
    DF_CHECK(refs_[i] == seen[i], InternalError,
             "block " << b << " has ref count " << refs_[i] << " but " << seen[i]
                      << " block-table entries");
    const int states = (refs_[i] > 0) + on_free[i] + cache_.evictable(b);
    DF_CHECK(states == 1, InternalError,
             "block " << b << " is in " << states << " states (referenced " << refs_[i] << ", free "
                      << int(on_free[i]) << ", cached-unreferenced " << cache_.evictable(b) << ")");
    DF_CHECK(!on_free[i] || !cache_.key_of(b), InternalError,
             "free block " << b << " is still in the prefix cache");
  }
}

}  // namespace deepfuse::engine
