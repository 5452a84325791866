// Paged KV block accounting for the serving engine (the KVCache holds the memory; this decides
// which sequence owns which block).
//
// A block is in exactly one of three states: free (on the free list), referenced (ref count >
// 0: in the block tables of that many sequences) or cached-unreferenced (ref count 0, content
// still findable through the prefix cache, evicted LRU-first when a free block is needed).
// "Available" = free + cached-unreferenced: what allocation can draw on.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/prefix_cache.h"

namespace deepfuse::engine {

// One sequence's blocks: entry i holds positions [i*block_size, (i+1)*block_size).
struct BlockTable {
  static constexpr int32_t kReleased = -1;  // left the sliding window and was given back
  std::vector<int32_t> blocks;
  // Prefix-cache keys of the leading full blocks already committed (or hit): keys[i] is the
  // key of blocks[i]. Only blocks past keys.size() are committed by commit_full_blocks.
  std::vector<uint64_t> keys;
  int32_t owned() const;  // entries that are not kReleased
};

// Leading full blocks of a token sequence that are in the prefix cache.
struct PrefixMatch {
  std::vector<int32_t> blocks;
  std::vector<uint64_t> keys;
  int32_t unreferenced = 0;  // of `blocks`, how many are cached-unreferenced now
  int64_t tokens(int32_t block_size) const {
    return static_cast<int64_t>(blocks.size()) * block_size;
  }
};

class BlockManager {
 public:
  BlockManager(int32_t num_blocks, int32_t block_size, bool prefix_caching);

  int32_t num_blocks() const { return num_blocks_; }
  int32_t block_size() const { return block_size_; }
  int32_t available() const { return static_cast<int32_t>(free_.size()) + cache_.num_evictable(); }
  int32_t num_referenced() const { return num_blocks_ - available(); }
  int32_t num_cached() const { return cache_.num_cached(); }
  int64_t prefix_hits() const { return hits_; }      // blocks reused from the cache
  int64_t prefix_misses() const { return misses_; }  // full prompt blocks looked up, not found
  int64_t evictions() const { return evictions_; }
  // Blocks of `table` no other table shares: what releasing it makes available.
  int32_t exclusive(const BlockTable& table) const;
  static int64_t blocks_for(int64_t tokens, int32_t block_size) {
    return (tokens + block_size - 1) / block_size;
  }

  // Longest run of leading full blocks of `tokens` (at most `max_blocks`) that are cached under
  // `salt`. Changes nothing.
  PrefixMatch match(std::span<const int32_t> tokens, uint64_t salt, int32_t max_blocks) const;
  // Puts a match into an empty table (references its blocks) and counts hits and misses out of
  // `lookup_blocks` full blocks that were looked up.
  void acquire(BlockTable& table, const PrefixMatch& m, int32_t lookup_blocks);
  // Appends blocks until the table covers `num_tokens` positions. OutOfMemory when nothing is
  // available (the scheduler plans so that this does not happen).
  void grow(BlockTable& table, int64_t num_tokens);
  // Commits every full block of `tokens` that lies below `computed` (its KV is written) to the
  // prefix cache, chaining keys from the table's last committed block.
  void commit_full_blocks(BlockTable& table, std::span<const int32_t> tokens, int64_t computed,
                          uint64_t salt);
  // Sliding window: gives back every block that lies wholly before `first_needed` (the first
  // position any later token can attend to). The entries become kReleased.
  void release_before(BlockTable& table, int64_t first_needed);
  // Gives back every block of the table and empties it.
  void release_all(BlockTable& table);

  // Throws InternalError naming the first broken rule: every block free xor referenced xor
  // cached-unreferenced; ref counts equal the number of `tables` entries naming the block.
  void check_invariants(std::span<const BlockTable* const> tables) const;

 private:
  int32_t allocate();
  void unref(int32_t block);

  int32_t num_blocks_, block_size_;
  bool prefix_caching_;
  std::vector<int32_t> free_;
  std::vector<int32_t> refs_;
  PrefixCache cache_;
  int64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

}  // namespace deepfuse::engine
