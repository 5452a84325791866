// Tokenization models: BPE, WordPiece, Unigram, WordLevel. Built from tokenizer.json's "model"
// object; the large vocab/merges arrays may be handed in pre-parsed (fast loader).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/components.h"

namespace deepfuse::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// token -> id with open addressing over a flat entry array: one probe sequence of 8-byte slots
// (hash tag + index) instead of unordered_map's node chasing; loading a 128k vocabulary and
// resolving 280k merges is dominated by these lookups. The interface is the subset of
// std::unordered_map the models use (`find(...) == end()`, `it->second`).
class VocabMap {
 public:
  using Entry = std::pair<std::string, int32_t>;
  void reserve(size_t n) {
    entries_.reserve(n);
    rehash(n * 2 + 16);
  }
  const Entry* find(std::string_view key) const {
    if (slots_.empty()) return nullptr;
    uint64_t h = StringHash{}(key);
    uint32_t tag = static_cast<uint32_t>(h >> 32) | 1u;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      uint64_t sl = slots_[i];
      if (sl == 0) return nullptr;
      if (static_cast<uint32_t>(sl >> 32) == tag) {
        const Entry& e = entries_[static_cast<uint32_t>(sl) - 1];
        if (e.first == key) return &e;
      }
    }
  }
  const Entry* end() const { return nullptr; }
  size_t size() const { return entries_.size(); }
  void insert_or_assign(std::string key, int32_t id) {
    if (const Entry* e = find(key)) {
      const_cast<Entry*>(e)->second = id;
      return;
    }
    if ((entries_.size() + 1) * 2 > slots_.size()) rehash(slots_.size() * 2 + 16);
    entries_.emplace_back(std::move(key), id);
    place(entries_.size() - 1);
  }
  void emplace(std::string key, int32_t id) {
    if (find(key)) return;
    if ((entries_.size() + 1) * 2 > slots_.size()) rehash(slots_.size() * 2 + 16);
    entries_.emplace_back(std::move(key), id);
    place(entries_.size() - 1);
  }

 private:
  void place(size_t idx) {
    uint64_t h = StringHash{}(entries_[idx].first);
    uint32_t tag = static_cast<uint32_t>(h >> 32) | 1u;
    size_t i = h & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = (static_cast<uint64_t>(tag) << 32) | static_cast<uint32_t>(idx + 1);
  }
  void rehash(size_t want) {
    size_t cap = 16;
    while (cap < want) cap <<= 1;
    if (cap <= slots_.size()) return;
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    for (size_t i = 0; i < entries_.size(); ++i) place(i);
  }
  std::vector<Entry> entries_;
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

// BPE merges in file order, packed into one byte arena: a vector of string pairs cost 64 bytes
// per merge plus its fresh pages, ~10% of Llama-3's (280k merges) load time.
class MergeList {
 public:
  void reserve(size_t merges, size_t bytes) {
    bounds_.reserve(merges * 2 + 1);
    bytes_.reserve(bytes);
  }
  void add(std::string_view left, std::string_view right) {
    if (bounds_.empty()) bounds_.push_back(0);
    bytes_.append(left);
    bounds_.push_back(static_cast<uint32_t>(bytes_.size()));
    bytes_.append(right);
    bounds_.push_back(static_cast<uint32_t>(bytes_.size()));
  }
  size_t size() const { return bounds_.empty() ? 0 : (bounds_.size() - 1) / 2; }
  std::string_view left(size_t i) const { return part(2 * i); }
  std::string_view right(size_t i) const { return part(2 * i + 1); }
  void clear() {
    std::string().swap(bytes_);
    std::vector<uint32_t>().swap(bounds_);
  }

 private:
  std::string_view part(size_t k) const {
    return std::string_view(bytes_).substr(bounds_[k], bounds_[k + 1] - bounds_[k]);
  }
  std::string bytes_;
  std::vector<uint32_t> bounds_;  // part k is bytes_[bounds_[k], bounds_[k + 1])
};

// Pre-parsed pieces of the "model" object (see fast_json.h); empty optionals = parse from JSON.
struct ModelData {
  bool have_vocab = false;
  std::vector<std::pair<std::string, int32_t>> vocab;  // object order
  bool have_merges = false;
  MergeList merges;
};

std::unique_ptr<Model> make_model(const json& j, ModelData* data, const std::string& path,
                                  bool byte_level);

}  // namespace deepfuse::tok
