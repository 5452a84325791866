// libFuzzer target: encode/decode with real tokenizers (WordPiece, byte-level BPE, BPE with
// suffixes, Unigram with byte fallback / Metaspace, WordLevel) from tests/fixtures and, when
// present, ../shared/data. Byte 0 picks the tokenizer and the mode; the rest is the text (or,
// in id mode, little-endian int32 ids to decode). Invariants: byte and code-point offsets
// inside the text (also for invalid UTF-8), ids inside the vocabulary, decode of encoded ids never
// throws, the streaming decoder's output equals decode().
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "deepfuse/tokenizer.h"
#include "fuzz_util.h"
#include "tokenizer/unicode.h"

namespace {

std::vector<std::shared_ptr<const deepfuse::Tokenizer>>* g_toks;

void try_load(const std::string& path) {
  std::ifstream f(path);
  if (!f.good()) return;
  try {
    g_toks->push_back(deepfuse::Tokenizer::from_file(path));
  } catch (const deepfuse::Error& e) {
    std::fprintf(stderr, "fuzz: cannot load %s: %s\n", path.c_str(), e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_toks = new std::vector<std::shared_ptr<const deepfuse::Tokenizer>>();
  // DEEPFUSE_SOURCE_DIR in the environment points at a copy of the repository elsewhere (the
  // binary runs on another machine in fuzz/parallel_run.sh); the build's path otherwise.
  const char* env_src = std::getenv("DEEPFUSE_SOURCE_DIR");
  const std::string src = env_src && *env_src ? env_src : DEEPFUSE_SOURCE_DIR;
  for (const char* rel : {"/tests/fixtures/models/enc_bert/tokenizer.json",
                          "/tests/fixtures/models/enc_xlmroberta/tokenizer.json",
                          "/tests/fixtures/tokenizer/synthetic/bpe_char_suffix.json",
                          "/tests/fixtures/tokenizer/synthetic/unigram_bytefallback_first.json",
                          "/tests/fixtures/tokenizer/synthetic/unigram_metaspace.json",
                          "/tests/fixtures/tokenizer/synthetic/wordlevel_punct_digits.json",
                          "/tests/fixtures/tokenizer/synthetic/wordlevel_split_behaviors.json",
                          "/../shared/data/tokenizers/gpt2/tokenizer.json",
                          "/../shared/data/tokenizers/qwen3/tokenizer.json",
                          "/../shared/data/tokenizers/bert-base-chinese/tokenizer.json"}) {
    try_load(src + rel);
  }
  if (g_toks->empty()) {
    std::fprintf(stderr, "fuzz: no tokenizer could be loaded\n");
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& tok_ptr = (*g_toks)[data[0] % g_toks->size()];
  const auto& tok = *tok_ptr;
  const bool special = data[0] & 0x40;
  const bool id_mode = data[0] & 0x80;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const int64_t vocab = static_cast<int64_t>(tok.vocab_size());
  if (id_mode) {
    std::vector<int32_t> ids(text.size() / 4);
    if (!ids.empty()) std::memcpy(ids.data(), text.data(), ids.size() * 4);
    bool all_known = true;
    for (int32_t id : ids) all_known &= id >= 0 && id < vocab && tok.id_to_token(id).has_value();
    try {
      tok.decode(ids, special);
    } catch (const deepfuse::InvalidArgument&) {
      deepfuse::fuzz::check(!all_known);  // only unknown ids may be rejected
    }
    return 0;
  }
  deepfuse::Encoding e = tok.encode_full(text, special);
  deepfuse::fuzz::check(e.offsets.size() == e.ids.size());
  for (size_t k = 0; k < e.ids.size(); ++k) {
    deepfuse::fuzz::check(e.ids[k] >= 0 && e.ids[k] < vocab);
    deepfuse::fuzz::check(e.offsets[k].first <= e.offsets[k].second &&
                          e.offsets[k].second <= text.size());
  }
  // Code-point offsets (what the CLI prints) stay inside the text's code points, counting an
  // ill-formed subpart as the one U+FFFD it is tokenized as.
  size_t n_chars = 0;
  for (size_t i = 0; i < text.size(); ++n_chars)
    i += std::max<size_t>(1, deepfuse::tok::utf8_unit_len(text, i));
  for (auto [b, en] : deepfuse::byte_to_char_offsets(text, e.offsets))
    deepfuse::fuzz::check(b <= en && en <= n_chars);
  deepfuse::fuzz::check(tok.encode(text, special) == e.ids);
  tok.decode(e.ids, false);
  // Streaming decode, concatenated, equals the full decode.
  const std::string full = tok.decode(e.ids, true);
  deepfuse::StreamingDecoder sd(tok_ptr, true);
  std::string acc;
  for (int32_t id : e.ids) acc += sd.step(id);
  acc += sd.flush();
  deepfuse::fuzz::check(acc == full);
  return 0;
}
