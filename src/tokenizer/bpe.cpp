// Byte-Pair Encoding (HF tokenizers semantics): initial symbols per character (or per byte for
// byte-level models), optional continuing_subword_prefix / end_of_word_suffix, byte_fallback,
// unk fusing, ignore_merges; merges applied lowest rank first (leftmost on ties) with a binary
// heap over a doubly linked symbol list. A sharded per-word cache makes repeated words O(1).
#include <array>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "tokenizer/model_common.h"

namespace deepfuse::tok {

namespace {

// Open-addressing map uint64 -> uint64 for the merges (pair of ids -> rank and new id).
class PairMap {
 public:
  void reserve(size_t n) {
    // Load factor <= 3/4 (linear probing stays short); 2x made Llama-3's 280k merges a 16 MB
    // table whose zeroing and page faults were ~10% of its load time.
    size_t cap = 16;
    while (cap * 3 < n * 4) cap <<= 1;
    keys_.assign(cap, kEmpty);
    vals_.assign(cap, 0);
    mask_ = cap - 1;
    shift_ = 64;
    for (size_t c = cap; c > 1; c >>= 1) --shift_;
  }
  // Returns false when the key already exists (first merge wins, like HF's HashMap insert order
  // would give the later rank; HF keeps the later one, so we overwrite to match).
  void put(uint64_t k, uint64_t v) {
    size_t i = slot(k);
    while (keys_[i] != kEmpty && keys_[i] != k) i = (i + 1) & mask_;
    keys_[i] = k;
    vals_[i] = v;
  }
  bool get(uint64_t k, uint64_t* v) const {
    size_t i = slot(k);
    while (true) {
      uint64_t kk = keys_[i];
      if (kk == k) {
        *v = vals_[i];
        return true;
      }
      if (kk == kEmpty) return false;
      i = (i + 1) & mask_;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ULL;
  // Fibonacci hashing: the top bits of the product depend on both ids of the pair (a fixed
  // shift of 17 let the left id reach only 4-5 bits of the slot, so pairs sharing a right id
  // clustered and lookups during encode probed long runs).
  size_t slot(uint64_t k) const {
    return static_cast<size_t>((k * 0x9E3779B97F4A7C15ULL) >> shift_) & mask_;
  }
  std::vector<uint64_t> keys_;
  std::vector<uint64_t> vals_;
  size_t mask_ = 0;
  int shift_ = 63;
};

struct CacheShard {
  std::mutex mu;
  std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>> map;
};

class Bpe : public Model {
 public:
  Bpe(VocabMap vocab, std::vector<std::string> itos)
      : vocab_(std::move(vocab)), itos_(std::move(itos)) {}

  void init(const json& j, ModelData* data, const std::string& path) {
    prefix_ = opt_string(j, "continuing_subword_prefix", path, "");
    suffix_ = opt_string(j, "end_of_word_suffix", path, "");
    byte_fallback_ = opt_bool(j, "byte_fallback", path, false);
    fuse_unk_ = opt_bool(j, "fuse_unk", path, false);
    ignore_merges_ = opt_bool(j, "ignore_merges", path, false);
    std::string unk = opt_string(j, "unk_token", path, "");
    if (!unk.empty()) {
      auto it = vocab_.find(std::string_view(unk));
      // HF accepts an unk_token missing from the vocab and fails only when it is needed.
      if (it != vocab_.end()) unk_id_ = it->second;
      unk_missing_ = it == vocab_.end();
      unk_token_ = unk;
    }
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
      auto it = vocab_.find(std::string_view(buf));
      byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
      auto it2 = vocab_.find(std::string_view(byte_to_unicode(static_cast<uint8_t>(b))));
      byte_sym_[b] = it2 == vocab_.end() ? -1 : it2->second;
    }
    // Merges.
    MergeList local;
    MergeList* merges = &local;
    if (data && data->have_merges) {
      merges = &data->merges;
    } else if (j.contains("merges")) {
      const json& arr = j["merges"];
      if (!arr.is_array()) bad(path + ".merges", "expected an array");
      for (size_t i = 0; i < arr.size(); ++i) {
        const json& m = arr[i];
        auto where = [&] { return path + ".merges[" + std::to_string(i) + "]"; };
        if (m.is_string()) {
          std::string_view s = m.get_ref<const std::string&>();
          size_t sp = s.find(' ');
          if (sp == std::string::npos)
            bad(where(), "expected \"left right\" (two tokens separated by a space)");
          local.add(s.substr(0, sp), s.substr(sp + 1));
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
          local.add(m[0].get_ref<const std::string&>(), m[1].get_ref<const std::string&>());
        } else {
          bad(where(), "expected \"left right\" or [\"left\", \"right\"]");
        }
      }
    }
    merges_.reserve(merges->size());
    std::string joined;
    size_t skipped = 0;
    for (size_t i = 0; i < merges->size(); ++i) {
      std::string_view a = merges->left(i), b = merges->right(i);
      auto lookup = [&](std::string_view t) -> int32_t {
        auto it = vocab_.find(t);
        if (it == vocab_.end())
          bad(path + ".merges[" + std::to_string(i) + "]",
              "token '" + std::string(t) + "' is not in " + path + ".vocab");
        return it->second;
      };
      int32_t ia = lookup(a), ib = lookup(b);
      joined.assign(a);
      if (!prefix_.empty() && b.substr(0, prefix_.size()) == prefix_)
        joined.append(b.substr(prefix_.size()));
      else
        joined.append(b);
      auto it_new = vocab_.find(std::string_view(joined));
      if (it_new == vocab_.end()) {
        // The merge can never yield a token (GPT-2's published files have one: "ĠCla ude").
        // HF rejects the file; transformers' slow tokenizer maps the result to unk. We skip it.
        ++skipped;
        if (skipped == 1)
          DF_LOG_WARN("{}.merges[{}]: merge result '{}' is not in the vocabulary; merge ignored",
                      path, i, joined);
        continue;
      }
      int32_t inew = it_new->second;
      merges_.put(key(ia, ib), (static_cast<uint64_t>(i) << 32) | static_cast<uint32_t>(inew));
    }
    if (data) data->merges.clear();
  }

  void tokenize(std::string_view text, bool byte_level, std::vector<Token>* out) const override {
    if (text.empty()) return;
    const bool cacheable = text.size() < 256;
    CacheShard* shard = nullptr;
    if (cacheable) {
      shard = &cache_[std::hash<std::string_view>{}(text) & (kShards - 1)];
      std::lock_guard<std::mutex> lk(shard->mu);
      auto it = shard->map.find(text);
      if (it != shard->map.end()) {
        emit(it->second, out);
        return;
      }
    }
    std::vector<uint32_t> res;  // (id, end byte) pairs
    encode_word(text, byte_level, &res);
    emit(res, out);
    if (cacheable) {
      std::lock_guard<std::mutex> lk(shard->mu);
      if (shard->map.size() > kShardCapacity) shard->map.clear();
      shard->map.emplace(std::string(text), std::move(res));
    }
  }

  std::optional<int32_t> token_to_id(std::string_view t) const override {
    auto it = vocab_.find(t);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
  }
  const std::string* id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= itos_.size()) return nullptr;
    return &itos_[id];
  }
  size_t vocab_size() const override { return itos_.size(); }
  size_t token_count() const override { return vocab_.size(); }

 private:
  static constexpr size_t kShards = 64;
  static constexpr size_t kShardCapacity = 8192;
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  static void emit(const std::vector<uint32_t>& res, std::vector<Token>* out) {
    uint32_t start = 0;
    for (size_t i = 0; i < res.size(); i += 2) {
      out->push_back({static_cast<int32_t>(res[i]), {start, res[i + 1]}});
      start = res[i + 1];
    }
  }

  struct Sym {
    int32_t id;
    int32_t prev, next;
    uint32_t end;  // raw byte end (start is the previous symbol's end)
    bool alive;
  };
  struct Cand {
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };

  void encode_word(std::string_view raw, bool byte_level, std::vector<uint32_t>* res) const {
    std::vector<Sym> syms;
    syms.reserve(raw.size());
    auto add = [&](int32_t id, uint32_t end) {
      int32_t idx = static_cast<int32_t>(syms.size());
      syms.push_back({id, idx - 1, -1, end, true});
      if (idx > 0) syms[idx - 1].next = idx;
    };
    const bool plain = prefix_.empty() && suffix_.empty();
    std::string mapped;
    if (byte_level) to_byte_level(raw, &mapped);
    std::string_view w = byte_level ? std::string_view(mapped) : raw;
    if (ignore_merges_) {
      auto it = vocab_.find(w);
      if (it != vocab_.end()) {
        res->push_back(static_cast<uint32_t>(it->second));
        res->push_back(static_cast<uint32_t>(raw.size()));
        return;
      }
    }
    // Initial symbols.
    if (byte_level && plain) {
      for (size_t i = 0; i < raw.size(); ++i) {
        int32_t id = byte_sym_[static_cast<uint8_t>(raw[i])];
        if (id < 0) {
          initial_slow(w, true, raw.size(), &syms, add);
          break;
        }
        add(id, static_cast<uint32_t>(i + 1));
      }
    } else {
      initial_slow(w, byte_level, raw.size(), &syms, add);
    }
    // Merge.
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto try_push = [&](int32_t pos) {
      int32_t nx = syms[pos].next;
      if (nx < 0) return;
      uint64_t v;
      if (merges_.get(key(syms[pos].id, syms[nx].id), &v))
        heap.push({static_cast<uint32_t>(v >> 32), pos, static_cast<int32_t>(v & 0xFFFFFFFF)});
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) try_push(i);
    while (!heap.empty()) {
      Cand c = heap.top();
      heap.pop();
      Sym& s = syms[c.pos];
      if (!s.alive || s.next < 0) continue;
      Sym& r = syms[s.next];
      uint64_t v;
      if (!merges_.get(key(s.id, r.id), &v) || static_cast<int32_t>(v & 0xFFFFFFFF) != c.new_id ||
          static_cast<uint32_t>(v >> 32) != c.rank)
        continue;
      s.id = c.new_id;
      s.end = r.end;
      r.alive = false;
      s.next = r.next;
      if (s.next >= 0) syms[s.next].prev = c.pos;
      if (s.prev >= 0) try_push(s.prev);
      try_push(c.pos);
    }
    for (auto& s : syms)
      if (s.alive) {
        res->push_back(static_cast<uint32_t>(s.id));
        res->push_back(s.end);
      }
  }

  // General initial-symbol construction (prefix/suffix, byte fallback, unk), HF merge_word.
  template <typename Add>
  void initial_slow(std::string_view w, bool byte_level, size_t raw_size, std::vector<Sym>* syms,
                    Add&& add) const {
    syms->clear();
    std::optional<std::pair<int32_t, uint32_t>> unk;  // (id, end)
    size_t i = 0, n = w.size();
    uint32_t raw_pos = 0;
    std::string s;
    while (i < n) {
      int len = utf8_len_of_lead(static_cast<uint8_t>(w[i]));
      if (i + len > n) len = static_cast<int>(n - i);
      bool first = i == 0, last = i + len == n;
      uint32_t raw_len = byte_level ? 1 : static_cast<uint32_t>(len);
      uint32_t raw_end = raw_pos + raw_len;
      s.clear();
      if (!first) s = prefix_;
      s.append(w.substr(i, len));
      if (last) s.append(suffix_);
      auto it = vocab_.find(std::string_view(s));
      if (it != vocab_.end()) {
        if (unk) {
          add(unk->first, unk->second);
          unk.reset();
        }
        add(it->second, raw_end);
      } else {
        bool done = false;
        if (byte_fallback_) {
          bool all = true;
          for (unsigned char c : s)
            if (byte_ids_[c] < 0) all = false;
          if (all) {
            if (unk) {
              add(unk->first, unk->second);
              unk.reset();
            }
            // Byte tokens share the character's span; the last one ends it.
            for (size_t k = 0; k < s.size(); ++k)
              add(byte_ids_[static_cast<uint8_t>(s[k])],
                  k + 1 == s.size() ? raw_end : raw_pos + std::min<uint32_t>(k + 1, raw_len));
            done = true;
          }
        }
        if (!done && (unk_id_ || unk_missing_)) {
          if (unk_missing_)
            throw InvalidArgument("BPE: unk_token '" + unk_token_ + "' is not in the vocabulary");
          if (unk && fuse_unk_) {
            unk->second = raw_end;
          } else {
            if (unk) add(unk->first, unk->second);
            unk = std::make_pair(*unk_id_, raw_end);
          }
        }
      }
      raw_pos = raw_end;
      i += len;
    }
    if (unk) add(unk->first, unk->second);
    (void)raw_size;
  }

  VocabMap vocab_;
  std::vector<std::string> itos_;
  PairMap merges_;
  std::string prefix_, suffix_;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  std::optional<int32_t> unk_id_;
  bool unk_missing_ = false;
  std::string unk_token_;
  std::array<int32_t, 256> byte_ids_{};
  std::array<int32_t, 256> byte_sym_{};
  mutable std::array<CacheShard, kShards> cache_;
};

}  // namespace

std::unique_ptr<Model> make_bpe(const json& j, ModelData* data, const std::string& path) {
  VocabMap map;
  std::vector<std::string> itos;
  read_vocab(j, data, path, &map, &itos);
  auto m = std::make_unique<Bpe>(std::move(map), std::move(itos));
  m->init(j, data, path);
  return m;
}

}  // namespace deepfuse::tok
