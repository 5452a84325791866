// Text analysis for BM25: text -> index terms.
//
// kStandard routes each run of script to its own chain, like Lucene's analyzers:
//   words and numbers (a StandardTokenizer-like UAX#29 word segmentation, except that a full
//   stop between letters splits them, which is what reproduces Anserini's SciFact numbers):
//     EnglishPossessiveFilter -> LowerCaseFilter -> the 33 Lucene English stopwords -> Porter
//   CJK (Han, Hiragana, Katakana, Hangul) after width normalisation:
//     overlapping character bigrams over each run of adjacent CJK characters, a lone character
//     kept as a unigram (Lucene's CJKAnalyzer).
// kCjkUnigram and kWhitespace are the baselines the Chinese evaluation compares against.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace deepfuse::retrieval {

enum class AnalyzerKind {
  kStandard,    // English chain + CJK bigrams (default)
  kCjkUnigram,  // same tokenizer, lowercase only, every CJK character a term (baseline)
  kWhitespace,  // lowercase, split on white space only (baseline)
};

// "standard", "cjk-unigram", "whitespace"; InvalidArgument naming the choices otherwise.
AnalyzerKind parse_analyzer(const std::string& name);
const char* analyzer_name(AnalyzerKind kind);

// Appends the terms of `text` (UTF-8; invalid bytes act as separators) to `terms`, in order.
void analyze(AnalyzerKind kind, std::string_view text, std::vector<std::string>* terms);

// One token of the word tokenizer, exposed for tests: byte range in the width-normalised text.
struct RawToken {
  std::string text;
  bool cjk = false;  // one CJK character
  size_t start = 0;  // byte offsets into the normalised text
  size_t end = 0;
};
// Width normalisation (fullwidth ASCII -> ASCII, halfwidth Katakana -> fullwidth).
std::string normalize_width(std::string_view text);
// UAX#29-like word tokenizer over normalised text (no lowercasing, no filters).
std::vector<RawToken> tokenize_words(std::string_view normalized);

// True for the 33 stopwords of Lucene's EnglishAnalyzer.
bool is_english_stopword(std::string_view term);

}  // namespace deepfuse::retrieval
