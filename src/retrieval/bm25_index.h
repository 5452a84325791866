// In-memory inverted index with Lucene's BM25 scoring, updated in place.
//
// Every chunk gets a slot number (assigned in increasing order, never reused until the knowledge
// base is reopened), so each posting list stays sorted by slot. Removing a chunk only clears its
// live bit and subtracts its lengths from the field statistics; dead postings are skipped and
// dropped by compact() once they are a large share. Document frequencies are exact: they count
// live postings (computed while scoring when there are dead ones).
//
// Scoring (Lucene >= 8, BM25Similarity): for each query term t with weight w (its count in the
// query, as Anserini's bag-of-words query), in each searched field:
//   idf = ln(1 + (N - df + 0.5) / (df + 0.5)),  N = live chunks that have the field
//   score += w * idf * tf / (tf + k1 * (1 - b + b * dl / avgdl))
// with dl the exact field length in terms (or Lucene's 1-byte lossy norm when asked).
// Not thread safe by itself: the knowledge base guards it with a shared_mutex.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace deepfuse::retrieval {

// Fields of a chunk: the flat field (title + text) and the two separate ones (multifield mode).
enum IndexField : int { kFieldContents = 0, kFieldTitle = 1, kFieldText = 2 };
constexpr int kNumFields = 3;

// Term frequencies of one field of one chunk: (term, tf) pairs and the field length.
struct FieldTerms {
  std::vector<std::pair<std::string, uint32_t>> tf;
  uint32_t length = 0;
};
using AnalyzedChunk = std::array<FieldTerms, kNumFields>;

// Builds the three fields from analysed term sequences of the title and the text.
AnalyzedChunk make_analyzed_chunk(const std::vector<std::string>& title_terms,
                                  const std::vector<std::string>& text_terms);

// Lucene's SmallFloat.intToByte4 / byte4ToInt round trip: the length a Lucene index sees.
uint32_t lucene_norm_length(uint32_t length);

struct Bm25Params {
  float k1 = 0.9f;
  float b = 0.4f;
  bool lucene_norms = false;
};

class Bm25Index {
 public:
  // Indexes `chunk` at slot `slot` (must be >= every slot added so far).
  void add(uint32_t slot, const AnalyzedChunk& chunk);
  // Marks `slot` dead and updates the statistics; no-op for an unknown or dead slot.
  void remove(uint32_t slot);
  // Drops dead postings when they exceed `max_dead_fraction` of all postings.
  void compact(double max_dead_fraction = 0.25);

  bool live(uint32_t slot) const { return slot < live_.size() && live_[slot]; }
  uint32_t num_slots() const { return static_cast<uint32_t>(live_.size()); }
  int64_t live_chunks() const { return live_count_; }
  int64_t num_terms() const { return static_cast<int64_t>(dict_.size()); }

  // Top `k` (slot, score) pairs by score (ties: lower slot first) for query terms `terms`
  // (repeats count as weight) in `fields`. `allowed` (bit per slot), when given, restricts the
  // candidates; dead slots never match.
  std::vector<std::pair<uint32_t, float>> search(const std::vector<std::string>& terms,
                                                 const std::vector<int>& fields,
                                                 const Bm25Params& params,
                                                 const std::vector<uint64_t>* allowed,
                                                 size_t k) const;

 private:
  struct Posting {
    uint32_t slot;
    uint32_t tf;
  };
  struct FieldStats {
    int64_t doc_count = 0;   // live chunks with a non-empty field
    int64_t sum_length = 0;  // live sum of field lengths
  };
  uint32_t term_id(const std::string& term);

  std::unordered_map<std::string, uint32_t> dict_;
  std::array<std::vector<std::vector<Posting>>, kNumFields> postings_;  // [field][term]
  std::array<std::vector<uint32_t>, kNumFields> length_;                // [field][slot]
  std::array<FieldStats, kNumFields> stats_;
  std::vector<uint8_t> live_;  // [slot]
  int64_t live_count_ = 0;
  int64_t total_postings_ = 0;
  int64_t dead_uncompacted_ = 0;  // dead slots whose postings are still in the lists
};

}  // namespace deepfuse::retrieval
