// Splits a document text into chunks of at most `budget` tokens with `overlap` tokens shared by
// neighbours, cutting at sentence boundaries (English . ! ? followed by space, Chinese 。！？；…,
// blank lines) whenever a sentence fits. A token is a run of non-space, non-CJK characters or
// one CJK character. A sentence longer than the budget is cut at token boundaries.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace deepfuse::retrieval {

struct ChunkSpan {
  size_t start = 0;  // byte offsets into the text
  size_t end = 0;
};

// budget <= 0: one chunk with the whole text. overlap is clamped to [0, budget / 2].
// Returns no spans only when the text is all white space (ASCII space/controls 9-13, U+00A0,
// U+3000): nothing to index. Spans are non-empty and increasing.
std::vector<ChunkSpan> chunk_text(std::string_view text, int budget, int overlap);

}  // namespace deepfuse::retrieval
