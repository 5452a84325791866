// AutoTokenizer::from_pretrained: tokenizer.json or legacy files, plus tokenizer_config.json
// applied the way transformers' fast tokenizer classes do.
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "tokenizer/fast_json.h"
#include "tokenizer/tokenizer_impl.h"

namespace deepfuse {

namespace tokenizer_detail {

namespace {

bool is_llama_family(const std::string& cls) {
  return cls == "LlamaTokenizer" || cls == "LlamaTokenizerFast" || cls == "CodeLlamaTokenizer" ||
         cls == "CodeLlamaTokenizerFast" || cls == "GemmaTokenizer" || cls == "GemmaTokenizerFast";
}

std::optional<int32_t> id_of(const TokenizerImpl& impl, const std::optional<std::string>& t) {
  if (!t) return std::nullopt;
  return impl.lookup(*t);
}

}  // namespace

void apply_config(TokenizerImpl* impl, TokenizerConfig config) {
  impl->config = std::move(config);
  const TokenizerConfig& c = impl->config;
  impl->bos_id = id_of(*impl, c.bos_token);
  impl->eos_id = id_of(*impl, c.eos_token);
  impl->pad_id = id_of(*impl, c.pad_token);
  impl->unk_id = id_of(*impl, c.unk_token);
  // transformers' LlamaTokenizerFast.update_post_processor (defaults add_bos=True, add_eos=False).
  if (is_llama_family(c.tokenizer_class)) {
    bool add_bos = c.add_bos_token.value_or(true), add_eos = c.add_eos_token.value_or(false);
    if ((add_bos && !impl->bos_id) || (add_eos && !impl->eos_id)) return;
    json pp;
    pp["type"] = "TemplateProcessing";
    json single = json::array(), pair = json::array();
    auto sp = [](const std::string& id, int type) {
      return json{{"SpecialToken", {{"id", id}, {"type_id", type}}}};
    };
    auto seq = [](const char* id, int type) {
      return json{{"Sequence", {{"id", id}, {"type_id", type}}}};
    };
    if (add_bos) single.push_back(sp(*c.bos_token, 0));
    single.push_back(seq("A", 0));
    if (add_eos) single.push_back(sp(*c.eos_token, 0));
    pair = single;
    if (add_bos) pair.push_back(sp(*c.bos_token, 1));
    pair.push_back(seq("B", 1));
    if (add_eos) pair.push_back(sp(*c.eos_token, 1));
    pp["single"] = single;
    pp["pair"] = pair;
    json st = json::object();
    if (add_bos)
      st[*c.bos_token] = {
          {"id", *c.bos_token}, {"ids", {*impl->bos_id}}, {"tokens", {*c.bos_token}}};
    if (add_eos)
      st[*c.eos_token] = {
          {"id", *c.eos_token}, {"ids", {*impl->eos_id}}, {"tokens", {*c.eos_token}}};
    pp["special_tokens"] = st;
    impl->post_processor = make_post_processor(pp, "post_processor(tokenizer_config.json)", *impl);
    impl->post_needs_tokens = false;
  }
}

}  // namespace tokenizer_detail

namespace {

namespace fs = std::filesystem;
using tokenizer_detail::TokenizerImpl;
using json = nlohmann::json;

json added_token_json(const std::string& content, int32_t id) {
  return json{{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
              {"rstrip", false}, {"normalized", false}, {"special", true}};
}

// GPT-2 style folder: vocab.json + merges.txt (transformers' GPT2Converter).
std::unique_ptr<TokenizerImpl> load_gpt2_legacy(const fs::path& dir, TokenizerConfig* cfg) {
  std::string vocab_path = (dir / "vocab.json").string();
  std::string vocab = read_file(vocab_path);
  std::string doc = "{\"model\":{\"type\":\"BPE\",\"vocab\":" + vocab + "}}";
  json root;
  tok::ModelData data;
  tok::parse_tokenizer_json(doc, vocab_path, &root, &data);
  std::string merges_path = (dir / "merges.txt").string();
  std::ifstream in(merges_path);
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    if (sp == std::string::npos)
      throw FormatError(merges_path + ":" + std::to_string(lineno) +
                        ": expected \"left right\" (two tokens separated by a space)");
    data.merges.add(std::string_view(line).substr(0, sp), std::string_view(line).substr(sp + 1));
  }
  data.have_merges = true;
  root["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  root["decoder"] = {{"type", "ByteLevel"}};
  root["post_processor"] = {{"type", "ByteLevel"}, {"trim_offsets", false}};
  // GPT2Tokenizer's defaults: bos = eos = unk = <|endoftext|>.
  const std::string kEot = "<|endoftext|>";
  if (!cfg->bos_token) cfg->bos_token = kEot;
  if (!cfg->eos_token) cfg->eos_token = kEot;
  if (!cfg->unk_token) cfg->unk_token = kEot;
  json added = json::array();
  std::vector<std::string> specials;
  for (auto* t : {&cfg->bos_token, &cfg->eos_token, &cfg->unk_token, &cfg->pad_token})
    if (*t) specials.push_back(**t);
  for (auto& t : cfg->additional_special_tokens) specials.push_back(t);
  for (auto& [tok, id] : data.vocab)
    for (auto& s : specials)
      if (tok == s) {
        bool dup = false;
        for (auto& a : added) dup |= a["content"] == s;
        if (!dup) added.push_back(added_token_json(s, id));
      }
  root["added_tokens"] = added;
  return tokenizer_detail::build_impl(root, &data, vocab_path);
}

// BERT style folder: vocab.txt (transformers' BertConverter).
std::unique_ptr<TokenizerImpl> load_bert_legacy(const fs::path& dir, TokenizerConfig* cfg) {
  std::string path = (dir / "vocab.txt").string();
  std::ifstream in(path);
  if (!in) throw NotFound(path + ": cannot open");
  tok::ModelData data;
  std::string line;
  int32_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    data.vocab.emplace_back(line, id++);
  }
  data.have_vocab = true;
  if (!cfg->unk_token) cfg->unk_token = "[UNK]";
  if (!cfg->sep_token) cfg->sep_token = "[SEP]";
  if (!cfg->pad_token) cfg->pad_token = "[PAD]";
  if (!cfg->cls_token) cfg->cls_token = "[CLS]";
  if (!cfg->mask_token) cfg->mask_token = "[MASK]";
  auto find = [&](const std::string& t) -> int32_t {
    for (auto& [tok, i] : data.vocab)
      if (tok == t) return i;
    throw FormatError(path + ": special token '" + t + "' is not in the vocabulary");
  };
  json root;
  root["model"] = {{"type", "WordPiece"},
                   {"vocab", json::object()},
                   {"unk_token", *cfg->unk_token},
                   {"continuing_subword_prefix", "##"},
                   {"max_input_chars_per_word", 100}};
  json norm = {{"type", "BertNormalizer"},
               {"clean_text", true},
               {"handle_chinese_chars", cfg->tokenize_chinese_chars},
               {"lowercase", cfg->do_lower_case}};
  norm["strip_accents"] = cfg->strip_accents ? json(*cfg->strip_accents) : json(nullptr);
  root["normalizer"] = norm;
  root["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  root["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
  const std::string cls = *cfg->cls_token, sep = *cfg->sep_token;
  int32_t cls_id = find(cls), sep_id = find(sep);
  auto sp = [](const std::string& t, int type) {
    return json{{"SpecialToken", {{"id", t}, {"type_id", type}}}};
  };
  auto sq = [](const char* t, int type) {
    return json{{"Sequence", {{"id", t}, {"type_id", type}}}};
  };
  root["post_processor"] = {{"type", "TemplateProcessing"},
                            {"single", {sp(cls, 0), sq("A", 0), sp(sep, 0)}},
                            {"pair", {sp(cls, 0), sq("A", 0), sp(sep, 0), sq("B", 1), sp(sep, 1)}},
                            {"special_tokens",
                             {{cls, {{"id", cls}, {"ids", {cls_id}}, {"tokens", {cls}}}},
                              {sep, {{"id", sep}, {"ids", {sep_id}}, {"tokens", {sep}}}}}}};
  json added = json::array();
  for (auto* t :
       {&cfg->pad_token, &cfg->unk_token, &cfg->cls_token, &cfg->sep_token, &cfg->mask_token})
    added.push_back(added_token_json(**t, find(**t)));
  root["added_tokens"] = added;
  return tokenizer_detail::build_impl(root, &data, path);
}

}  // namespace

std::shared_ptr<const Tokenizer> AutoTokenizer::from_pretrained(const std::string& dir) {
  fs::path d(dir);
  if (!fs::is_directory(d))
    throw NotFound(dir + ": not a directory (expected a Hugging Face model folder)");
  TokenizerConfig cfg = load_tokenizer_config(dir);
  std::unique_ptr<TokenizerImpl> impl;
  if (fs::exists(d / "tokenizer.json")) {
    std::string path = (d / "tokenizer.json").string();
    auto f = MappedFile::open(path);
    std::string_view text(reinterpret_cast<const char*>(f->data()), f->size());
    json root;
    tok::ModelData data;
    tok::parse_tokenizer_json(text, path, &root, &data);
    impl = tokenizer_detail::build_impl(root, &data, path);
  } else if (fs::exists(d / "vocab.json") && fs::exists(d / "merges.txt")) {
    impl = load_gpt2_legacy(d, &cfg);
  } else if (fs::exists(d / "vocab.txt")) {
    impl = load_bert_legacy(d, &cfg);
  } else {
    throw NotFound(dir +
                   ": no tokenizer.json, vocab.json + merges.txt, or vocab.txt (expected a "
                   "Hugging Face model folder with a tokenizer)");
  }
  // GPT-2 style defaults when the config names no special tokens.
  if (!cfg.eos_token && impl->lookup("<|endoftext|>") && cfg.tokenizer_class.empty()) {
    cfg.eos_token = "<|endoftext|>";
    if (!cfg.bos_token) cfg.bos_token = "<|endoftext|>";
  }
  tokenizer_detail::apply_config(impl.get(), std::move(cfg));
  return std::make_shared<Tokenizer>(std::move(impl));
}

}  // namespace deepfuse
