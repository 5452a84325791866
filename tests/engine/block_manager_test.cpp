// Block accounting and the prefix cache (engine/block_manager.h, engine/prefix_cache.h).
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.h"
#include "engine/block_manager.h"

namespace deepfuse::engine {
namespace {

std::vector<int32_t> iota_tokens(int32_t n, int32_t start = 0) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

void check(const BlockManager& m, std::vector<const BlockTable*> tables) {
  ASSERT_NO_THROW(m.check_invariants(tables));
}

TEST(BlockManager, GrowAndReleaseReturnsThePool) {
  BlockManager m(8, 4, false);
  BlockTable a, b;
  m.grow(a, 9);  // 3 blocks
  m.grow(b, 4);  // 1 block
  EXPECT_EQ(a.blocks.size(), 3u);
  EXPECT_EQ(b.blocks.size(), 1u);
  EXPECT_EQ(m.available(), 4);
  EXPECT_EQ(m.num_referenced(), 4);
  check(m, {&a, &b});
  m.grow(a, 12);  // still 3 blocks
  EXPECT_EQ(a.blocks.size(), 3u);
  m.release_all(a);
  EXPECT_TRUE(a.blocks.empty());
  check(m, {&a, &b});
  m.release_all(b);
  EXPECT_EQ(m.available(), 8);
  EXPECT_EQ(m.num_referenced(), 0);
  check(m, {});
}

TEST(BlockManager, OutOfBlocksIsOutOfMemory) {
  BlockManager m(2, 4, false);
  BlockTable a;
  EXPECT_THROW(m.grow(a, 9), OutOfMemory);
  // The blocks taken before the failure are in the table, still accounted for.
  check(m, {&a});
  m.release_all(a);
  EXPECT_EQ(m.available(), 2);
}

TEST(BlockManager, InvariantCheckCatchesWrongTables) {
  BlockManager m(4, 4, false);
  BlockTable a;
  m.grow(a, 8);
  EXPECT_THROW(m.check_invariants({}), InternalError);  // referenced blocks nobody holds
  BlockTable fake;
  fake.blocks = {a.blocks[0]};
  const BlockTable* both[] = {&a, &fake};
  EXPECT_THROW(m.check_invariants(both), InternalError);  // one ref, two holders
  BlockTable bad;
  bad.blocks = {7};
  const BlockTable* out[] = {&a, &bad};
  EXPECT_THROW(m.check_invariants(out), InternalError);
}

TEST(BlockManager, SlidingWindowReleasesBlocksBehindTheWindow) {
  BlockManager m(8, 4, false);
  BlockTable a;
  m.grow(a, 14);           // blocks for positions 0..15
  m.release_before(a, 9);  // positions < 9 no longer read: blocks 0 and 1 ([0,8)) go
  EXPECT_EQ(a.blocks[0], BlockTable::kReleased);
  EXPECT_EQ(a.blocks[1], BlockTable::kReleased);
  EXPECT_NE(a.blocks[2], BlockTable::kReleased);
  EXPECT_EQ(a.owned(), 2);
  EXPECT_EQ(m.available(), 6);
  check(m, {&a});
  m.release_before(a, 9);  // idempotent
  EXPECT_EQ(m.available(), 6);
  m.release_all(a);
  EXPECT_EQ(m.available(), 8);
  check(m, {});
}

TEST(PrefixCache, ChainedKeysDependOnEveryEarlierBlockAndTheSalt) {
  const auto t = iota_tokens(8);
  const uint64_t k0 = block_key(0, 0, std::span(t).subspan(0, 4));
  const uint64_t k1 = block_key(k0, 0, std::span(t).subspan(4, 4));
  auto t2 = t;
  t2[0] = 99;
  const uint64_t k0b = block_key(0, 0, std::span(t2).subspan(0, 4));
  EXPECT_NE(k0, k0b);
  EXPECT_NE(k1, block_key(k0b, 0, std::span(t2).subspan(4, 4)));  // same block, other parent
  EXPECT_NE(k0, block_key(0, 1, std::span(t).subspan(0, 4)));     // other salt
  EXPECT_EQ(k1, block_key(k0, 0, std::span(t).subspan(4, 4)));    // deterministic
}

TEST(BlockManager, PrefixBlocksAreReusedAfterRelease) {
  BlockManager m(8, 4, true);
  const auto prompt = iota_tokens(10);  // two full blocks + 2
  BlockTable a;
  m.grow(a, 10);
  m.commit_full_blocks(a, prompt, 10, 0);
  EXPECT_EQ(a.keys.size(), 2u);
  EXPECT_EQ(m.num_cached(), 2);
  const std::vector<int32_t> first_two(a.blocks.begin(), a.blocks.begin() + 2);
  m.release_all(a);
  EXPECT_EQ(m.available(), 8);  // cached-unreferenced blocks count as available
  check(m, {});

  PrefixMatch hit = m.match(prompt, 0, 2);
  ASSERT_EQ(hit.blocks, first_two);
  EXPECT_EQ(hit.unreferenced, 2);
  EXPECT_EQ(hit.tokens(4), 8);
  BlockTable b;
  m.acquire(b, hit, 2);
  EXPECT_EQ(m.prefix_hits(), 2);
  EXPECT_EQ(m.prefix_misses(), 0);
  EXPECT_EQ(m.available(), 6);
  check(m, {&b});
  // A second holder of the same prefix shares the blocks.
  BlockTable c;
  PrefixMatch again = m.match(prompt, 0, 2);
  EXPECT_EQ(again.unreferenced, 0);
  m.acquire(c, again, 2);
  EXPECT_EQ(m.available(), 6);
  check(m, {&b, &c});
  // Another salt or another first block finds nothing.
  EXPECT_TRUE(m.match(prompt, 7, 2).blocks.empty());
  auto other = prompt;
  other[1] = 50;
  EXPECT_TRUE(m.match(other, 0, 2).blocks.empty());
  // Changing only the second block keeps the first.
  auto tail = prompt;
  tail[5] = 50;
  EXPECT_EQ(m.match(tail, 0, 2).blocks.size(), 1u);
  // max_blocks caps the match.
  EXPECT_EQ(m.match(prompt, 0, 1).blocks.size(), 1u);
  m.release_all(b);
  m.release_all(c);
  check(m, {});
}

TEST(BlockManager, EvictsLeastRecentlyReleasedCachedBlocksWhenFull) {
  BlockManager m(4, 2, true);
  const auto p1 = iota_tokens(4, 0), p2 = iota_tokens(4, 100);
  BlockTable a, b;
  m.grow(a, 4);
  m.commit_full_blocks(a, p1, 4, 0);
  m.grow(b, 4);
  m.commit_full_blocks(b, p2, 4, 0);
  m.release_all(a);  // p1 released first: evicted first
  m.release_all(b);
  EXPECT_EQ(m.available(), 4);
  EXPECT_EQ(m.num_cached(), 4);
  BlockTable c;
  m.grow(c, 4);  // no free block: two evictions
  EXPECT_EQ(m.evictions(), 2);
  check(m, {&c});
  EXPECT_TRUE(m.match(p1, 0, 2).blocks.empty());
  EXPECT_EQ(m.match(p2, 0, 2).blocks.size(), 2u);
  // release_all gives back the tail first, so a partly evicted chain keeps its head.
  m.grow(c, 6);
  EXPECT_EQ(m.match(p2, 0, 2).blocks.size(), 1u);
  m.release_all(c);
  check(m, {});
}

TEST(BlockManager, DuplicateContentIsCachedOnce) {
  BlockManager m(6, 2, true);
  const auto p = iota_tokens(4);
  BlockTable a, b;
  m.grow(a, 4);
  m.grow(b, 4);
  m.commit_full_blocks(a, p, 4, 0);
  m.commit_full_blocks(b, p, 4, 0);  // same content computed twice in one step
  EXPECT_EQ(m.num_cached(), 2);
  EXPECT_EQ(b.keys, a.keys);
  m.release_all(a);
  m.release_all(b);
  EXPECT_EQ(m.available(), 6);
  check(m, {});
  // Only blocks below `computed` are committed.
  BlockTable c;
  m.grow(c, 6);
  m.commit_full_blocks(c, iota_tokens(6, 40), 3, 0);
  EXPECT_EQ(c.keys.size(), 1u);
  m.release_all(c);
  check(m, {});
}

TEST(BlockManager, RejectsBadSizes) {
  EXPECT_THROW(BlockManager(0, 4, true), InvalidArgument);
  EXPECT_THROW(BlockManager(4, 0, true), InvalidArgument);
}

}  // namespace
}  // namespace deepfuse::engine
