// Dense vector index over chunk slots: FAISS (flat or HNSW, inner product on L2-normalised
// vectors) plus our own copy of the vectors for exact search.
//
// FAISS positions are mapped to slots by `pos_to_slot_` (the id mapping). Deleting marks the
// slot dead; searches exclude dead slots through an IDSelector, and compact() rebuilds the FAISS
// index once dead vectors are a large share. Filtered searches that keep few candidates are done
// exactly over those candidates, so a selective filter never loses recall to the approximate
// graph. Not thread safe by itself (the knowledge base holds its lock).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace faiss {
struct Index;
}

namespace deepfuse::retrieval {

class VectorIndex {
 public:
  // kind: "flat" or "hnsw" (InvalidArgument otherwise).
  VectorIndex(int dim, const std::string& kind, int hnsw_m);
  ~VectorIndex();

  int dim() const { return dim_; }
  // `v` has dim() floats; slots must increase.
  void add(uint32_t slot, const float* v);
  void add_batch(const std::vector<uint32_t>& slots, const std::vector<float>& vectors);
  void remove(uint32_t slot);
  void compact(double max_dead_fraction = 0.3);
  int64_t size() const { return live_count_; }

  // Top-k (slot, inner product). `allowed` (bit per slot, may be null) restricts candidates;
  // `allowed_count` is its number of set bits (or -1 when allowed is null).
  std::vector<std::pair<uint32_t, float>> search(const float* q, size_t k,
                                                 const std::vector<uint64_t>* allowed,
                                                 int64_t allowed_count, int ef_search) const;
  // Exact top-k by brute force (the reference for recall).
  std::vector<std::pair<uint32_t, float>> search_exact(const float* q, size_t k,
                                                       const std::vector<uint64_t>* allowed) const;

 private:
  void rebuild_faiss();
  bool ok(uint32_t slot, const std::vector<uint64_t>* allowed) const;

  int dim_;
  std::string kind_;
  int hnsw_m_;
  std::unique_ptr<faiss::Index> index_;
  std::vector<uint32_t> pos_to_slot_;  // FAISS position -> slot
  std::vector<float> vectors_;         // [num slots, dim] (zeros for slots without a vector)
  std::vector<uint8_t> has_vector_;    // [slot] live with a vector
  int64_t live_count_ = 0;
  int64_t dead_in_faiss_ = 0;
};

}  // namespace deepfuse::retrieval
