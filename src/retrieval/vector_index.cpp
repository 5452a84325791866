#include "retrieval/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <queue>

#include "core/error.h"

namespace deepfuse::retrieval {
namespace {

// Admits FAISS positions whose slot is live and allowed.
struct SlotSelector : faiss::IDSelector {
  const std::vector<uint32_t>* pos_to_slot;
  const std::vector<uint8_t>* live;
  const std::vector<uint64_t>* allowed;
  bool is_member(faiss::Index::idx_t pos) const override {
    uint32_t slot = (*pos_to_slot)[pos];
    if (!(*live)[slot]) return false;
    return !allowed || (((*allowed)[slot >> 6] >> (slot & 63)) & 1);
  }
};

// Below this many allowed vectors (or this share of the index) a filtered search is exact.
constexpr int64_t kExactMaxCandidates = 20000;
constexpr double kExactMaxShare = 0.1;

}  // namespace

VectorIndex::VectorIndex(int dim, const std::string& kind, int hnsw_m)
    : dim_(dim), kind_(kind), hnsw_m_(hnsw_m) {
  DF_CHECK(dim > 0, InvalidArgument, "vector dimension must be > 0, got " << dim);
  DF_CHECK(kind == "flat" || kind == "hnsw", InvalidArgument,
           "unknown dense index '" << kind << "': expected flat or hnsw");
  DF_CHECK(hnsw_m >= 4 && hnsw_m <= 256, InvalidArgument,
           "hnsw M " << hnsw_m << " out of range: expected 4..256");
  rebuild_faiss();
}

VectorIndex::~VectorIndex() = default;

void VectorIndex::rebuild_faiss() {
  if (kind_ == "hnsw") {
    auto h = std::make_unique<faiss::IndexHNSWFlat>(dim_, hnsw_m_, faiss::METRIC_INNER_PRODUCT);
    h->hnsw.efConstruction = 64;
    index_ = std::move(h);
  } else {
    index_ = std::make_unique<faiss::IndexFlatIP>(dim_);
  }
  pos_to_slot_.clear();
  std::vector<float> live_vecs;
  for (uint32_t s = 0; s < has_vector_.size(); ++s) {
    if (!has_vector_[s]) continue;
    pos_to_slot_.push_back(s);
    live_vecs.insert(live_vecs.end(), vectors_.begin() + static_cast<int64_t>(s) * dim_,
                     vectors_.begin() + static_cast<int64_t>(s + 1) * dim_);
  }
  if (!pos_to_slot_.empty())
    index_->add(static_cast<faiss::Index::idx_t>(pos_to_slot_.size()), live_vecs.data());
  dead_in_faiss_ = 0;
}

void VectorIndex::add(uint32_t slot, const float* v) {
  add_batch({slot}, std::vector<float>(v, v + dim_));
}

void VectorIndex::add_batch(const std::vector<uint32_t>& slots, const std::vector<float>& vecs) {
  DF_CHECK(vecs.size() == slots.size() * static_cast<size_t>(dim_), InvalidArgument,
           "vector batch holds " << vecs.size() << " floats, expected " << slots.size() << " x "
                                 << dim_);
  if (slots.empty()) return;
  uint32_t max_slot = *std::max_element(slots.begin(), slots.end());
  if (has_vector_.size() <= max_slot) {
    has_vector_.resize(max_slot + 1, 0);
    vectors_.resize(static_cast<size_t>(max_slot + 1) * dim_, 0.0f);
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    std::copy(vecs.begin() + i * dim_, vecs.begin() + (i + 1) * dim_,
              vectors_.begin() + static_cast<int64_t>(slots[i]) * dim_);
    if (!has_vector_[slots[i]]) ++live_count_;
    has_vector_[slots[i]] = 1;
    pos_to_slot_.push_back(slots[i]);
  }
  index_->add(static_cast<faiss::Index::idx_t>(slots.size()), vecs.data());
}

void VectorIndex::remove(uint32_t slot) {
  if (slot >= has_vector_.size() || !has_vector_[slot]) return;
  has_vector_[slot] = 0;
  --live_count_;
  ++dead_in_faiss_;
}

void VectorIndex::compact(double max_dead_fraction) {
  if (dead_in_faiss_ == 0) return;
  if (static_cast<double>(dead_in_faiss_) <
      max_dead_fraction * static_cast<double>(pos_to_slot_.size()))
    return;
  rebuild_faiss();
}

bool VectorIndex::ok(uint32_t slot, const std::vector<uint64_t>* allowed) const {
  if (slot >= has_vector_.size() || !has_vector_[slot]) return false;
  return !allowed || (((*allowed)[slot >> 6] >> (slot & 63)) & 1);
}

std::vector<std::pair<uint32_t, float>> VectorIndex::search_exact(
    const float* q, size_t k, const std::vector<uint64_t>* allowed) const {
  using Hit = std::pair<uint32_t, float>;
  auto better = [](const Hit& a, const Hit& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  };
  std::priority_queue<Hit, std::vector<Hit>, decltype(better)> heap(better);
  for (uint32_t s = 0; s < has_vector_.size(); ++s) {
    if (!ok(s, allowed)) continue;
    const float* v = vectors_.data() + static_cast<int64_t>(s) * dim_;
    float dot = 0;
    for (int d = 0; d < dim_; ++d) dot += q[d] * v[d];
    Hit h{s, dot};
    if (heap.size() < k) {
      heap.push(h);
    } else if (better(h, heap.top())) {
      heap.pop();
      heap.push(h);
    }
  }
  std::vector<Hit> out(heap.size());
  for (size_t i = heap.size(); i-- > 0;) {
    out[i] = heap.top();
    heap.pop();
  }
  return out;
}

std::vector<std::pair<uint32_t, float>> VectorIndex::search(const float* q, size_t k,
                                                            const std::vector<uint64_t>* allowed,
                                                            int64_t allowed_count,
                                                            int ef_search) const {
  if (k == 0 || live_count_ == 0) return {};
  if (allowed &&
      (allowed_count <= kExactMaxCandidates ||
       static_cast<double>(allowed_count) < kExactMaxShare * static_cast<double>(live_count_)))
    return search_exact(q, k, allowed);
  SlotSelector sel;
  sel.pos_to_slot = &pos_to_slot_;
  sel.live = &has_vector_;
  sel.allowed = allowed;
  const bool need_sel = allowed || dead_in_faiss_ > 0;
  size_t kk = std::min<size_t>(k, pos_to_slot_.size());
  std::vector<float> dist(kk);
  std::vector<faiss::Index::idx_t> labels(kk);
  if (kind_ == "hnsw") {
    faiss::SearchParametersHNSW p;
    p.efSearch = std::max<int>(ef_search, static_cast<int>(kk));
    p.sel = need_sel ? &sel : nullptr;
    index_->search(1, q, static_cast<faiss::Index::idx_t>(kk), dist.data(), labels.data(), &p);
  } else {
    faiss::SearchParameters p;
    p.sel = need_sel ? &sel : nullptr;
    index_->search(1, q, static_cast<faiss::Index::idx_t>(kk), dist.data(), labels.data(),
                   need_sel ? &p : nullptr);
  }
  std::vector<std::pair<uint32_t, float>> out;
  for (size_t i = 0; i < kk; ++i) {
    if (labels[i] < 0) continue;
    out.emplace_back(pos_to_slot_[labels[i]], dist[i]);
  }
  return out;
}

}  // namespace deepfuse::retrieval
