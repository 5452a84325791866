#include "core/forward_batch.h"

#include <algorithm>

namespace deepfuse {

int32_t BlockTables::num_tokens_total() const {
  int32_t n = 0;
  for (int32_t t : num_tokens) n += t;
  return n;
}

BlockTables ForwardBatch::block_tables() const {
  BlockTables t;
  t.n_seqs = static_cast<int32_t>(seqs.size());
  for (const SequenceSlice& s : seqs)
    t.max_blocks = std::max(t.max_blocks, static_cast<int32_t>(s.block_table.size()));
  t.blocks.assign(static_cast<size_t>(t.n_seqs) * static_cast<size_t>(t.max_blocks), -1);
  t.token_begin.reserve(seqs.size());
  t.num_tokens.reserve(seqs.size());
  t.context_len.reserve(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    const SequenceSlice& s = seqs[i];
    std::copy(s.block_table.begin(), s.block_table.end(),
              t.blocks.begin() + static_cast<std::ptrdiff_t>(i * static_cast<size_t>(t.max_blocks)));
    t.token_begin.push_back(s.token_begin);
    t.num_tokens.push_back(s.num_tokens);
    t.context_len.push_back(s.context_len);
  }
  return t;
}

ForwardBatch ForwardBatch::single(const std::vector<int32_t>& ids, int32_t context_len,
                                  std::vector<int32_t> block_table, bool all_logits) {
  ForwardBatch b;
  b.tokens = ids;
  b.positions.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) b.positions[i] = context_len + static_cast<int32_t>(i);
  SequenceSlice s;
  s.token_begin = 0;
  s.num_tokens = static_cast<int32_t>(ids.size());
  s.context_len = context_len;
  s.block_table = std::move(block_table);
  b.seqs.push_back(std::move(s));
  if (all_logits) {
    for (int32_t i = 0; i < b.num_tokens(); ++i) b.logit_rows.push_back(i);
  } else if (!ids.empty()) {
    b.logit_rows.push_back(b.num_tokens() - 1);
  }
  return b;
}

}  // namespace deepfuse
