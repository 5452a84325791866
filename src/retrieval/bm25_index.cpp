#include "retrieval/bm25_index.h"

#include <algorithm>
#include <cmath>
#include <queue>

namespace deepfuse::retrieval {
namespace {

void count_terms(const std::vector<std::string>& terms, FieldTerms* out) {
  std::unordered_map<std::string_view, uint32_t> counts;
  for (const auto& t : terms) ++counts[t];
  out->tf.reserve(out->tf.size() + counts.size());
  for (const auto& [t, c] : counts) out->tf.emplace_back(std::string(t), c);
  std::sort(out->tf.begin(), out->tf.end());
  out->length = static_cast<uint32_t>(terms.size());
}

// Lucene SmallFloat: 4 significant bits, used for BM25 norms since Lucene 7.
int long_to_int4(uint64_t i) {
  int num_bits = 64 - __builtin_clzll(i);  // i > 0 here
  if (num_bits < 4) return static_cast<int>(i);
  int shift = num_bits - 4;
  int encoded = static_cast<int>(i >> shift) & 0x07;
  return encoded | ((shift + 1) << 3);
}

uint64_t int4_to_long(int i) {
  uint64_t bits = i & 0x07;
  int shift = (i >> 3) - 1;
  return shift == -1 ? bits : (bits | 0x08) << shift;
}

}  // namespace

AnalyzedChunk make_analyzed_chunk(const std::vector<std::string>& title_terms,
                                  const std::vector<std::string>& text_terms) {
  AnalyzedChunk c;
  count_terms(title_terms, &c[kFieldTitle]);
  count_terms(text_terms, &c[kFieldText]);
  std::vector<std::string> all;
  all.reserve(title_terms.size() + text_terms.size());
  all.insert(all.end(), title_terms.begin(), title_terms.end());
  all.insert(all.end(), text_terms.begin(), text_terms.end());
  count_terms(all, &c[kFieldContents]);
  return c;
}

uint32_t lucene_norm_length(uint32_t length) {
  static const int kMaxInt4 = long_to_int4(0x7FFFFFFF);
  static const int kNumFreeValues = 255 - kMaxInt4;
  if (length == 0) return 0;
  int byte = static_cast<int>(length) < kNumFreeValues
                 ? static_cast<int>(length)
                 : kNumFreeValues + long_to_int4(length - kNumFreeValues);
  if (byte < kNumFreeValues) return static_cast<uint32_t>(byte);
  return static_cast<uint32_t>(kNumFreeValues + int4_to_long(byte - kNumFreeValues));
}

uint32_t Bm25Index::term_id(const std::string& term) {
  auto [it, inserted] = dict_.try_emplace(term, static_cast<uint32_t>(dict_.size()));
  if (inserted)
    for (auto& p : postings_) p.emplace_back();
  return it->second;
}

void Bm25Index::add(uint32_t slot, const AnalyzedChunk& chunk) {
  if (live_.size() <= slot) {
    live_.resize(slot + 1, 0);
    for (auto& l : length_) l.resize(slot + 1, 0);
  }
  live_[slot] = 1;
  ++live_count_;
  for (int f = 0; f < kNumFields; ++f) {
    const FieldTerms& ft = chunk[f];
    length_[f][slot] = ft.length;
    if (ft.length > 0) {
      stats_[f].doc_count++;
      stats_[f].sum_length += ft.length;
    }
    for (const auto& [term, tf] : ft.tf) {
      postings_[f][term_id(term)].push_back({slot, tf});
      ++total_postings_;
    }
  }
}

void Bm25Index::remove(uint32_t slot) {
  if (!live(slot)) return;
  live_[slot] = 0;
  --live_count_;
  for (int f = 0; f < kNumFields; ++f) {
    uint32_t len = length_[f][slot];
    if (len > 0) {
      stats_[f].doc_count--;
      stats_[f].sum_length -= len;
    }
  }
  ++dead_uncompacted_;
}

void Bm25Index::compact(double max_dead_fraction) {
  if (dead_uncompacted_ == 0) return;
  if (static_cast<double>(dead_uncompacted_) <
      max_dead_fraction * static_cast<double>(live_count_ + dead_uncompacted_))
    return;
  int64_t total = 0;
  for (auto& field : postings_) {
    for (auto& list : field) {
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](const Posting& p) { return !live_[p.slot]; }),
                 list.end());
      total += static_cast<int64_t>(list.size());
    }
  }
  total_postings_ = total;
  dead_uncompacted_ = 0;  // slot numbers stay valid; dead slots simply have no postings left
}

std::vector<std::pair<uint32_t, float>> Bm25Index::search(const std::vector<std::string>& terms,
                                                          const std::vector<int>& fields,
                                                          const Bm25Params& params,
                                                          const std::vector<uint64_t>* allowed,
                                                          size_t k) const {
  std::vector<std::pair<uint32_t, float>> result;
  if (k == 0 || terms.empty()) return result;
  // Query term weights: the count of each distinct term.
  std::vector<std::pair<uint32_t, float>> qterms;
  {
    std::unordered_map<uint32_t, float> w;
    for (const auto& t : terms) {
      auto it = dict_.find(t);
      if (it != dict_.end()) w[it->second] += 1.0f;
    }
    qterms.assign(w.begin(), w.end());
    std::sort(qterms.begin(), qterms.end());
  }
  if (qterms.empty()) return result;

  thread_local std::vector<float> scores;
  thread_local std::vector<uint32_t> touched;
  if (scores.size() < live_.size()) scores.assign(live_.size(), 0.0f);
  touched.clear();
  const bool any_dead = dead_uncompacted_ > 0;  // dead postings still in the lists
  auto ok = [&](uint32_t slot) {
    if (any_dead && !live_[slot]) return false;
    if (allowed && !(((*allowed)[slot >> 6] >> (slot & 63)) & 1)) return false;
    return true;
  };

  for (int f : fields) {
    const FieldStats& st = stats_[f];
    if (st.doc_count <= 0) continue;
    const double n = static_cast<double>(st.doc_count);
    const float avgdl = static_cast<float>(static_cast<double>(st.sum_length) / n);
    const auto& lens = length_[f];
    for (const auto& [tid, weight] : qterms) {
      const auto& list = postings_[f][tid];
      if (list.empty()) continue;
      int64_t df = static_cast<int64_t>(list.size());
      if (any_dead) {
        df = 0;
        for (const Posting& p : list) df += live_[p.slot];
        if (df == 0) continue;
      }
      const float idf = static_cast<float>(
          std::log(1.0 + (n - static_cast<double>(df) + 0.5) / (static_cast<double>(df) + 0.5)));
      const float w = weight * idf;
      const float k1 = params.k1;
      const float c0 = k1 * (1.0f - params.b);
      const float c1 = k1 * params.b / avgdl;
      for (const Posting& p : list) {
        if (!ok(p.slot)) continue;
        uint32_t dl = lens[p.slot];
        if (params.lucene_norms) dl = lucene_norm_length(dl);
        const float tf = static_cast<float>(p.tf);
        const float s = w * tf / (tf + c0 + c1 * static_cast<float>(dl));
        float& acc = scores[p.slot];
        if (acc == 0.0f) touched.push_back(p.slot);
        acc += s;
      }
    }
  }

  // Top-k: the heap's top is the worst kept hit (lowest score, then highest slot).
  auto better = [](const std::pair<uint32_t, float>& a, const std::pair<uint32_t, float>& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  };
  std::priority_queue<std::pair<uint32_t, float>, std::vector<std::pair<uint32_t, float>>,
                      decltype(better)>
      heap(better);
  for (uint32_t slot : touched) {
    float s = scores[slot];
    scores[slot] = 0.0f;
    std::pair<uint32_t, float> cand{slot, s};
    if (heap.size() < k) {
      heap.push(cand);
    } else if (better(cand, heap.top())) {
      heap.pop();
      heap.push(cand);
    }
  }
  result.resize(heap.size());
  for (size_t i = heap.size(); i-- > 0;) {
    result[i] = heap.top();
    heap.pop();
  }
  return result;
}

}  // namespace deepfuse::retrieval
