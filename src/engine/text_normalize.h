// Matching normalisation shared by the banned-phrase processor and the output safety filter:
// NFKC + Unicode case folding, applied one code point at a time so every output byte maps
// back to the input character it came from (fullwidth "ＡＢＣ" and "abc" match; so do "ß"/"SS").
// ASCII whitespace (\t \n \r \f \v) becomes ' ' (runs of spaces are collapsed by the
// phrase automaton, not here, so offsets stay one-to-one). Invalid UTF-8 bytes pass through.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace deepfuse::engine {

// `src_offsets`, when given, receives for each output byte the byte offset in `text` of the
// character it came from, plus one final entry equal to text.size().
std::string normalize_for_match(std::string_view text, std::vector<size_t>* src_offsets = nullptr);

// Length of the longest prefix of `s` made of complete UTF-8 characters or invalid bytes, i.e.
// everything except a trailing, still incomplete multi-byte sequence.
size_t complete_utf8_prefix(std::string_view s);

}  // namespace deepfuse::engine
