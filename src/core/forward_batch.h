// The model forward contract: a flattened ragged batch over a paged KV cache.
//
// Prefill, decode and mixed batches are the same call (continuous batching never touches a
// model). A step carries the *new* tokens of several sequences back to back; each sequence
// says where its tokens are, how many tokens it already has in the cache, and which physical
// KV blocks hold its context. The model appends the new tokens' keys/values (or, for MLA,
// latents) into those blocks and attends over context + new tokens causally.
//
// This lives in core/ (below ops/) because the attention and KV-write ops take it; a model
// builds the step's BlockTables once and hands it to every layer's ops.
#pragma once

#include <cstdint>
#include <vector>

namespace deepfuse {

struct SequenceSlice {
  int32_t token_begin = 0;  // index of this sequence's first new token in ForwardBatch::tokens
  int32_t num_tokens = 0;   // new tokens of this sequence in this step
  int32_t context_len = 0;  // tokens of this sequence already in the KV cache before this step
  // Physical KV block ids; block i holds positions [i*block_size, (i+1)*block_size) of the
  // sequence. Must cover context_len + num_tokens tokens (engine/ reserves them).
  std::vector<int32_t> block_table;
};

// The step's sequences in flat int32 arrays, the form a device kernel reads as-is (one copy
// to the device per step, no pointers inside): CPU kernels read the same arrays.
struct BlockTables {
  int32_t n_seqs = 0;
  int32_t max_blocks = 0;            // row length of `blocks` (longest block table of the step)
  std::vector<int32_t> blocks;       // [n_seqs, max_blocks] block ids, rows padded with -1
  std::vector<int32_t> token_begin;  // [n_seqs]
  std::vector<int32_t> num_tokens;   // [n_seqs]
  std::vector<int32_t> context_len;  // [n_seqs]

  // Row `s` of `blocks` (max_blocks entries; the first ceil((context+new)/block_size) valid).
  const int32_t* row(int32_t s) const {
    return blocks.data() + static_cast<int64_t>(s) * max_blocks;
  }
  int32_t num_tokens_total() const;  // sum of num_tokens
};

struct ForwardBatch {
  std::vector<int32_t> tokens;      // [n_tokens] new token ids of all sequences, back to back
  std::vector<int32_t> positions;   // [n_tokens] position of each token (RoPE / learned pos)
  std::vector<SequenceSlice> seqs;  // one per sequence in the batch
  // Indices into `tokens` whose logits forward() returns, in this order (e.g. the last token
  // of each sequence for decoding, every token for `deepfuse logits`).
  std::vector<int32_t> logit_rows;

  int32_t num_tokens() const { return static_cast<int32_t>(tokens.size()); }
  // The device-readable form of `seqs`. Models call it once per step.
  BlockTables block_tables() const;
  // Convenience: one sequence, `ids` appended after `context_len` cached tokens, logits at
  // every new position when `all_logits`, else only at the last.
  static ForwardBatch single(const std::vector<int32_t>& ids, int32_t context_len,
                             std::vector<int32_t> block_table, bool all_logits);
};

}  // namespace deepfuse
