// Model dispatch and the simple models (WordPiece, WordLevel).
#include "tokenizer/models.h"

#include "core/error.h"
#include "tokenizer/model_common.h"

namespace deepfuse::tok {

void read_vocab(const json& model, ModelData* data, const std::string& path, VocabMap* map,
                std::vector<std::string>* id_to_token) {
  std::vector<std::pair<std::string, int32_t>> local;
  std::vector<std::pair<std::string, int32_t>>* v = &local;
  if (data && data->have_vocab) {
    v = &data->vocab;
  } else {
    const json& voc = field(model, "vocab", path);
    if (!voc.is_object()) bad(path + ".vocab", "expected an object {token: id}");
    local.reserve(voc.size());
    for (auto it = voc.begin(); it != voc.end(); ++it) {
      if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
          it.value().get<int64_t>() > (int64_t{1} << 30))
        bad(path + ".vocab[\"" + it.key() + "\"]", "expected an integer id in [0, 2^30]");
      local.emplace_back(it.key(), static_cast<int32_t>(it.value().get<int64_t>()));
    }
  }
  map->reserve(v->size());  // VocabMap::reserve already leaves 2x slots
  int32_t max_id = -1;
  for (auto& [tok, id] : *v) {
    if (id < 0 || id > (1 << 30))
      bad(path + ".vocab[\"" + tok + "\"]", "id " + std::to_string(id) + " out of range");
    max_id = std::max(max_id, id);
  }
  // The id -> token table is dense: an id far beyond the entry count would make it huge (a
  // 7 GB allocation from a 1 KB file in fuzz_tokenizer_json). Real vocabularies are dense
  // 0..n-1; allow generous gaps but not that.
  const int64_t limit = 16 * static_cast<int64_t>(v->size()) + 65536;
  if (max_id >= limit)
    bad(path + ".vocab",
        "largest id " + std::to_string(max_id) + " for only " + std::to_string(v->size()) +
            " entries (ids must be dense; expected < " + std::to_string(limit) + ")");
  id_to_token->assign(static_cast<size_t>(max_id + 1), std::string());
  for (auto& [tok, id] : *v) {
    (*id_to_token)[id] = tok;
    map->insert_or_assign(std::move(tok), id);
  }
  if (data) data->vocab.clear();
}

namespace {

class WordPiece : public Model {
 public:
  WordPiece(VocabMap vocab, std::vector<std::string> itos, int32_t unk, std::string prefix,
            size_t max_chars)
      : vocab_(std::move(vocab)),
        itos_(std::move(itos)),
        unk_(unk),
        prefix_(std::move(prefix)),
        max_chars_(max_chars) {}

  void tokenize(std::string_view text, bool, std::vector<Token>* out) const override {
    size_t nchars = 0;
    for (unsigned char c : text) nchars += (c & 0xC0) != 0x80;
    uint32_t n = static_cast<uint32_t>(text.size());
    if (nchars > max_chars_) {
      out->push_back({unk_, {0, n}});
      return;
    }
    size_t start = out->size();
    std::string buf;
    size_t b = 0;
    while (b < text.size()) {
      size_t e = text.size();
      int32_t found = -1;
      while (e > b) {
        buf.clear();
        if (b > 0) buf = prefix_;
        buf.append(text.substr(b, e - b));
        auto it = vocab_.find(std::string_view(buf));
        if (it != vocab_.end()) {
          found = it->second;
          break;
        }
        // Step back one UTF-8 character.
        do {
          --e;
        } while (e > b && (static_cast<uint8_t>(text[e]) & 0xC0) == 0x80);
      }
      if (found < 0) {
        out->resize(start);
        out->push_back({unk_, {0, n}});
        return;
      }
      out->push_back({found, {static_cast<uint32_t>(b), static_cast<uint32_t>(e)}});
      b = e;
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
  VocabMap vocab_;
  std::vector<std::string> itos_;
  int32_t unk_;
  std::string prefix_;
  size_t max_chars_;
};

class WordLevel : public Model {
 public:
  WordLevel(VocabMap vocab, std::vector<std::string> itos, std::optional<int32_t> unk,
            std::string unk_tok)
      : vocab_(std::move(vocab)), itos_(std::move(itos)), unk_(unk), unk_tok_(std::move(unk_tok)) {}
  void tokenize(std::string_view text, bool, std::vector<Token>* out) const override {
    auto it = vocab_.find(text);
    Span sp{0, static_cast<uint32_t>(text.size())};
    if (it != vocab_.end()) {
      out->push_back({it->second, sp});
    } else if (unk_) {
      out->push_back({*unk_, sp});
    } else {
      throw InvalidArgument("WordLevel: '" + std::string(text) +
                            "' is not in the vocabulary and "
                            "the model has no unk_token");
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
  VocabMap vocab_;
  std::vector<std::string> itos_;
  std::optional<int32_t> unk_;
  std::string unk_tok_;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(const json& j, ModelData* data, const std::string& path) {
  VocabMap map;
  std::vector<std::string> itos;
  read_vocab(j, data, path, &map, &itos);
  std::string unk = opt_string(j, "unk_token", path, "[UNK]");
  auto it = map.find(std::string_view(unk));
  if (it == map.end()) bad(path + ".unk_token", "token '" + unk + "' is not in " + path + ".vocab");
  int32_t unk_id = it->second;
  size_t max_chars = 100;
  if (j.contains("max_input_chars_per_word") && j["max_input_chars_per_word"].is_number_unsigned())
    max_chars = j["max_input_chars_per_word"].get<size_t>();
  return std::make_unique<WordPiece>(std::move(map), std::move(itos), unk_id,
                                     opt_string(j, "continuing_subword_prefix", path, "##"),
                                     max_chars);
}

std::unique_ptr<Model> make_wordlevel(const json& j, ModelData* data, const std::string& path) {
  VocabMap map;
  std::vector<std::string> itos;
  read_vocab(j, data, path, &map, &itos);
  std::string unk = opt_string(j, "unk_token", path, "");
  std::optional<int32_t> unk_id;
  if (!unk.empty()) {
    auto it = map.find(std::string_view(unk));
    if (it == map.end())
      bad(path + ".unk_token", "token '" + unk + "' is not in " + path + ".vocab");
    unk_id = it->second;
  }
  return std::make_unique<WordLevel>(std::move(map), std::move(itos), unk_id, unk);
}

std::unique_ptr<Model> make_model(const json& j, ModelData* data, const std::string& path,
                                  bool /*byte_level*/) {
  if (!j.is_object()) bad(path, "expected the model object");
  std::string type;
  if (j.contains("type")) {
    type = get_string(j, "type", path);
  } else {
    // Older serialisations (GPT-2's tokenizer.json) omit "type": infer it like transformers.
    if (j.contains("merges") || (data && data->have_merges))
      type = "BPE";
    else if (j.contains("vocab") && j["vocab"].is_array())
      type = "Unigram";
    else if (j.contains("continuing_subword_prefix") || j.contains("max_input_chars_per_word"))
      type = "WordPiece";
    else if (j.contains("vocab") || (data && data->have_vocab))
      type = "WordLevel";
    else
      bad(path, "cannot infer the model type (no \"type\", \"vocab\" or \"merges\")");
  }
  if (type == "BPE") return make_bpe(j, data, path);
  if (type == "WordPiece") return make_wordpiece(j, data, path);
  if (type == "WordLevel") return make_wordlevel(j, data, path);
  if (type == "Unigram") return make_unigram(j, path);
  bad(path + ".type",
      "unknown model type '" + type + "' (expected BPE, WordPiece, Unigram or WordLevel)");
}

}  // namespace deepfuse::tok
