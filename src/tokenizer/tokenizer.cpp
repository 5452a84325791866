// The tokenizer.json pipeline: loading and the encode / decode paths.
#include "deepfuse/tokenizer.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "tokenizer/fast_json.h"
#include "tokenizer/tokenizer_impl.h"

namespace deepfuse {

namespace tokenizer_detail {

namespace {

bool ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// End of the piece of `s` that starts before `from`: the first word start at or after `from`,
// a space between two ASCII letters. Every pre-tokenizer we load ends a pre-token there (the
// GPT-2 / Llama-3 / DeepSeek / Qwen regexes: a letter run stops at the space and " x" starts
// the next; Metaspace, BERT and whitespace splitters split at it), so cutting there changes no
// token (LongInput.InPiecesEncodesLikeWhole checks every shared tokenizer). Not at a "▁" left by
// a SentencePiece normalizer: BERT keeps "a▁b" one word. s.size() when there is no such place
// (e.g. Chinese text without spaces): the rest stays one piece.
size_t piece_end(const std::string& s, size_t from) {
  for (size_t p = std::max<size_t>(from, 1); p + 1 < s.size(); ++p)
    if (s[p] == ' ' && ascii_letter(s[p - 1]) && ascii_letter(s[p + 1])) return p;
  return s.size();
}

}  // namespace

std::optional<int32_t> TokenizerImpl::lookup(std::string_view token) const {
  if (const AddedToken* a = added.by_content(token)) return a->id;
  if (model) return model->token_to_id(token);
  return std::nullopt;
}

const std::string* TokenizerImpl::token_of(int32_t id) const {
  if (const AddedToken* a = added.by_id(id)) return &a->content;
  return model->id_to_token(id);
}

size_t TokenizerImpl::vocab_size() const {
  size_t n = model->vocab_size();
  for (auto& t : added.tokens()) n = std::max(n, static_cast<size_t>(t.id) + 1);
  return n;
}

Seq TokenizerImpl::encode_seq(std::string_view input) const {
  Seq seq;
  if (input.empty()) return seq;
  Split whole;
  if (is_valid_utf8(input)) {
    whole.ns = NormalizedString(std::string(input), 0);
  } else {
    // Invalid bytes become U+FFFD (what HF sees for the same text decoded lossily); the
    // alignment maps each U+FFFD back to the bytes it replaced, so offsets stay in the
    // caller's input (an earlier version reported them in the longer sanitized text).
    std::vector<Span> align;
    std::string sanitized = sanitize_utf8(input, &align);
    whole.ns = NormalizedString(std::move(sanitized), std::move(align));
  }
  std::vector<Split> splits;
  // 1. Added tokens matched on the raw text, 2. normalization + normalized added tokens.
  std::vector<Split> tmp;
  added.split(whole, false, &tmp);
  for (auto& s : tmp) {
    if (s.added_id >= 0) {
      splits.push_back(std::move(s));
      continue;
    }
    if (normalizer) normalizer->normalize(&s.ns);
    if (s.ns.empty()) continue;
    added.split(s, true, &splits);
  }
  // 3. Pre-tokenization and 4. the model, one split at a time: pre-tokenizers transform each
  // split on its own (HF PreTokenizedString::split), so the per-word bookkeeping (a Split per
  // word, ~80 bytes) only ever exists for one split, and a long split (one 200 MB line: 15.8 GB
  // when all its words were held at once, issue 13) is cut into pieces of ~piece_bytes first.
  std::vector<Token> toks;
  std::vector<Split> words;
  seq.ids.reserve(input.size() / 3 + 4);
  seq.offsets.reserve(input.size() / 3 + 4);
  auto run = [&](Split&& s) {
    words.clear();
    words.push_back(std::move(s));
    if (pre_tokenizer && words[0].added_id < 0) pre_tokenizer->pre_tokenize(&words);
    for (auto& w : words) {
      if (w.ns.empty()) continue;
      if (w.added_id >= 0) {
        seq.ids.push_back(w.added_id);
        seq.offsets.push_back(w.ns.original_span(0, w.ns.size()));
        continue;
      }
      toks.clear();
      model->tokenize(w.ns.str(), w.byte_level, &toks);
      for (auto& t : toks) {
        seq.ids.push_back(t.id);
        seq.offsets.push_back(w.ns.original_span(t.span.first, t.span.second));
      }
    }
  };
  for (auto& s : splits) {
    if (s.added_id >= 0 || !pre_tokenizer || s.ns.size() <= piece_bytes) {
      run(std::move(s));
      continue;
    }
    for (size_t b = 0; b < s.ns.size();) {
      const size_t e = piece_end(s.ns.str(), b + piece_bytes);
      Split part;
      part.ns = s.ns.slice(b, e);
      part.byte_level = s.byte_level;
      run(std::move(part));
      b = e;
    }
  }
  seq.special.assign(seq.ids.size(), 0);
  seq.type_ids.assign(seq.ids.size(), 0);
  if (post_needs_tokens) {
    seq.tokens.reserve(seq.ids.size());
    for (int32_t id : seq.ids) {
      const std::string* t = token_of(id);
      seq.tokens.push_back(t ? *t : std::string());
    }
  }
  return seq;
}

Encoding TokenizerImpl::finish(Seq a, Seq* b, bool add_special) const {
  Seq out;
  if (post_processor) {
    post_processor->process(std::move(a), b, add_special, &out);
  } else {
    out = std::move(a);
    if (b) {
      out.ids.insert(out.ids.end(), b->ids.begin(), b->ids.end());
      out.special.insert(out.special.end(), b->special.begin(), b->special.end());
      out.offsets.insert(out.offsets.end(), b->offsets.begin(), b->offsets.end());
      out.type_ids.insert(out.type_ids.end(), b->ids.size(), 1);
    }
  }
  Encoding e;
  e.ids = std::move(out.ids);
  e.type_ids = std::move(out.type_ids);
  e.special_tokens_mask = std::move(out.special);
  e.offsets = std::move(out.offsets);
  e.attention_mask.assign(e.ids.size(), 1);
  return e;
}

std::string TokenizerImpl::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::vector<std::string> toks;
  toks.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* a = added.by_id(id)) {
      if (skip_special && a->special) continue;
      toks.push_back(a->content);
      continue;
    }
    const std::string* t = model->id_to_token(id);
    if (!t ||
        (t->empty() && static_cast<size_t>(id) < model->vocab_size() && !model->token_to_id("")))
      continue;  // HF skips ids it has no token for
    toks.push_back(*t);
  }
  std::string text;
  if (decoder) {
    decoder->decode_chain(&toks);
    for (auto& t : toks) text += t;
  } else {
    for (size_t i = 0; i < toks.size(); ++i) {
      if (i) text += ' ';
      text += toks[i];
    }
  }
  if (config.clean_up_tokenization_spaces) {
    // transformers' clean_up_tokenization.
    static const std::pair<const char*, const char*> kRules[] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (auto& [from, to] : kRules) {
      std::string out;
      size_t pos = 0, f, fl = std::strlen(from);
      while ((f = text.find(from, pos)) != std::string::npos) {
        out.append(text, pos, f - pos);
        out += to;
        pos = f + fl;
      }
      out.append(text, pos, std::string::npos);
      text = std::move(out);
    }
  }
  return text;
}

std::unique_ptr<TokenizerImpl> build_impl(const nlohmann::json& root, ModelData* data,
                                          const std::string& source) {
  if (!root.is_object()) throw FormatError(source + ": expected a JSON object at the top level");
  auto impl = std::make_unique<TokenizerImpl>();
  try {
    auto get = [&](const char* k) -> const json& {
      static const json kNull;
      auto it = root.find(k);
      return it == root.end() ? kNull : *it;
    };
    impl->normalizer = make_normalizer(get("normalizer"), "normalizer");
    impl->pre_tokenizer = make_pre_tokenizer(get("pre_tokenizer"), "pre_tokenizer");
    impl->byte_level = impl->pre_tokenizer && impl->pre_tokenizer->is_byte_level();
    if (!root.contains("model")) bad("model", "missing (required field: the tokenization model)");
    impl->model = make_model(root["model"], data, "model", impl->byte_level);
    // Added tokens.
    std::vector<AddedToken> added;
    const json& at = get("added_tokens");
    if (!at.is_null()) {
      if (!at.is_array()) bad("added_tokens", "expected an array");
      for (size_t i = 0; i < at.size(); ++i) {
        std::string p = "added_tokens[" + std::to_string(i) + "]";
        const json& t = at[i];
        AddedToken a;
        a.content = get_string(t, "content", p);
        const json& id = field(t, "id", p);
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 30))
          bad(p + ".id", "expected a non-negative integer id");
        a.id = id.get<int32_t>();
        a.special = opt_bool(t, "special", p, false);
        a.lstrip = opt_bool(t, "lstrip", p, false);
        a.rstrip = opt_bool(t, "rstrip", p, false);
        a.single_word = opt_bool(t, "single_word", p, false);
        a.normalized = opt_bool(t, "normalized", p, !a.special);
        // HF AddedVocabulary::add_tokens: a token the model knows takes the model's id; any
        // other takes the next id after the model vocabulary / previous added tokens (the id
        // written in the file is not used).
        if (auto mid = impl->model->token_to_id(a.content)) {
          a.id = *mid;
        } else {
          const int64_t model_size = static_cast<int64_t>(impl->model->token_count());
          int64_t max_added = -1;
          for (const auto& prev : added) max_added = std::max<int64_t>(max_added, prev.id);
          a.id = static_cast<int32_t>(max_added < 0                                  ? model_size
                                      : (max_added >= model_size || model_size == 0) ? max_added + 1
                                                                                     : model_size);
        }
        bool dup = false;
        for (const auto& prev : added) dup |= prev.content == a.content;
        if (!dup) added.push_back(std::move(a));
      }
    }
    impl->added.build(std::move(added), impl->normalizer.get());
    const json& pp = get("post_processor");
    impl->post_processor = make_post_processor(pp, "post_processor", *impl);
    // Only ByteLevel offset trimming needs token strings.
    std::function<bool(const json&)> needs = [&](const json& j) -> bool {
      if (!j.is_object()) return false;
      std::string t = j.value("type", "");
      if (t == "ByteLevel") return j.value("trim_offsets", true);
      if (t == "Sequence" && j.contains("processors"))
        for (auto& x : j["processors"])
          if (needs(x)) return true;
      return false;
    };
    impl->post_needs_tokens = needs(pp);
    impl->decoder = make_decoder(get("decoder"), "decoder");
    const json& trunc = get("truncation");
    (void)trunc;  // tokenizer.json truncation/padding defaults are not applied by transformers'
                  // __call__ unless asked; deepfuse takes them from BatchEncodeOptions.
  } catch (const FormatError& e) {
    throw FormatError(source + ": " + e.what());
  } catch (const Unsupported& e) {
    throw Unsupported(source + ": " + e.what());
  }
  return impl;
}

}  // namespace tokenizer_detail

using tokenizer_detail::TokenizerImpl;

Tokenizer::Tokenizer(std::unique_ptr<TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::shared_ptr<Tokenizer> Tokenizer::from_json(std::string_view text, const std::string& source) {
  nlohmann::json root;
  tok::ModelData data;
  tok::parse_tokenizer_json(text, source, &root, &data);
  auto impl = tokenizer_detail::build_impl(root, &data, source);
  tokenizer_detail::apply_config(impl.get(), TokenizerConfig{});
  return std::make_shared<Tokenizer>(std::move(impl));
}

std::shared_ptr<Tokenizer> Tokenizer::from_file(const std::string& path) {
  auto f = MappedFile::open(path);
  std::string_view text(reinterpret_cast<const char*>(f->data()), f->size());
  return from_json(text, path);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  return impl_->finish(impl_->encode_seq(text), nullptr, add_special_tokens).ids;
}

Encoding Tokenizer::encode_full(std::string_view text, bool add_special_tokens) const {
  return impl_->finish(impl_->encode_seq(text), nullptr, add_special_tokens);
}

Encoding Tokenizer::encode_pair(std::string_view a, std::string_view b,
                                bool add_special_tokens) const {
  tok::Seq sb = impl_->encode_seq(b);
  return impl_->finish(impl_->encode_seq(a), &sb, add_special_tokens);
}

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                              const BatchEncodeOptions& opt) const {
  std::vector<Encoding> out(texts.size());
  size_t specials = opt.add_special_tokens
                        ? impl_->post_processor ? impl_->post_processor->added_tokens(false) : 0
                        : 0;
  if (opt.truncation.max_length > 0 && opt.truncation.max_length < specials)
    throw InvalidArgument("truncation max_length " + std::to_string(opt.truncation.max_length) +
                          " is smaller than the " + std::to_string(specials) +
                          " special tokens added to every sequence");
  auto one = [&](size_t i) {
    tok::Seq s = impl_->encode_seq(texts[i]);
    if (opt.truncation.max_length > 0) {
      size_t keep = opt.truncation.max_length - specials;
      if (s.ids.size() > keep) {
        size_t drop = s.ids.size() - keep;
        auto cut = [&](auto& v) {
          if (v.empty()) return;
          if (opt.truncation.side == Side::Right)
            v.resize(keep);
          else
            v.erase(v.begin(), v.begin() + drop);
        };
        cut(s.ids);
        cut(s.offsets);
        cut(s.special);
        cut(s.type_ids);
        cut(s.tokens);
      }
    }
    out[i] = impl_->finish(std::move(s), nullptr, opt.add_special_tokens);
  };
  if (opt.num_threads == 1 || texts.size() < 2) {
    for (size_t i = 0; i < texts.size(); ++i) one(i);
  } else if (opt.num_threads > 1) {
    ThreadPool pool(opt.num_threads);
    pool.parallel_for(static_cast<int64_t>(texts.size()), 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) one(static_cast<size_t>(i));
    });
  } else {
    ThreadPool::current().parallel_for(static_cast<int64_t>(texts.size()), 1,
                                      [&](int64_t b, int64_t e) {
                                        for (int64_t i = b; i < e; ++i) one(static_cast<size_t>(i));
                                      });
  }
  // Padding.
  const auto& pad = opt.padding;
  if (pad.strategy != PaddingOptions::Strategy::None && !out.empty()) {
    size_t target = 0;
    if (pad.strategy == PaddingOptions::Strategy::Longest) {
      for (auto& e : out) target = std::max(target, e.ids.size());
    } else {
      target = pad.max_length;
    }
    if (pad.pad_to_multiple_of > 0 && target % pad.pad_to_multiple_of != 0)
      target += pad.pad_to_multiple_of - target % pad.pad_to_multiple_of;
    std::optional<int32_t> pid = pad.pad_id ? pad.pad_id : impl_->pad_id;
    DF_CHECK(pid.has_value(), InvalidArgument,
             "padding requested but the tokenizer has no pad token (set PaddingOptions::pad_id)");
    for (auto& e : out) {
      if (e.ids.size() >= target) continue;
      size_t n = target - e.ids.size();
      auto ins = [&](auto& v, auto val) {
        if (pad.side == Side::Right)
          v.insert(v.end(), n, val);
        else
          v.insert(v.begin(), n, val);
      };
      ins(e.ids, *pid);
      ins(e.type_ids, pad.pad_type_id);
      ins(e.special_tokens_mask, static_cast<uint8_t>(1));
      ins(e.attention_mask, static_cast<uint8_t>(0));
      ins(e.offsets, std::pair<uint32_t, uint32_t>{0, 0});
    }
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  return impl_->decode(ids, skip_special_tokens);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->lookup(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  const std::string* t = impl_->token_of(id);
  if (!t) return std::nullopt;
  return *t;
}

size_t Tokenizer::vocab_size() const {
  return impl_->vocab_size();
}

bool Tokenizer::is_special_token(int32_t id) const {
  const tok::AddedToken* a = impl_->added.by_id(id);
  return a && a->special;
}

size_t Tokenizer::num_special_tokens_to_add(bool pair) const {
  return impl_->post_processor ? impl_->post_processor->added_tokens(pair) : 0;
}

std::optional<int32_t> Tokenizer::bos_token_id() const {
  return impl_->bos_id;
}
std::optional<int32_t> Tokenizer::eos_token_id() const {
  return impl_->eos_id;
}
std::optional<int32_t> Tokenizer::pad_token_id() const {
  return impl_->pad_id;
}
std::optional<int32_t> Tokenizer::unk_token_id() const {
  return impl_->unk_id;
}
const TokenizerConfig& Tokenizer::config() const {
  return impl_->config;
}

std::vector<std::pair<uint32_t, uint32_t>> byte_to_char_offsets(
    std::string_view text, const std::vector<std::pair<uint32_t, uint32_t>>& offsets) {
  const size_t n = text.size();
  // A character is a well-formed sequence or a maximal ill-formed subpart (one U+FFFD, as
  // encode sees it), so invalid input counts the characters HF counts in the decoded string.
  std::vector<uint8_t> inside(n, 0);  // byte is not the first of its character
  for (size_t i = 0; i < n;) {
    size_t l = std::max<size_t>(1, tok::utf8_unit_len(text, i));
    for (size_t k = 1; k < l && i + k < n; ++k) inside[i + k] = 1;
    i += l;
  }
  auto cont = [&](size_t i) { return inside[i] != 0; };
  std::vector<uint32_t> prefix(n + 1, 0);  // characters starting before byte i
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + (cont(i) ? 0 : 1);
  std::vector<std::pair<uint32_t, uint32_t>> out;
  out.reserve(offsets.size());
  for (auto [b, e] : offsets) {
    size_t bb = std::min<size_t>(b, n), ee = std::min<size_t>(e, n);
    uint32_t cb = prefix[bb] - ((bb < n && cont(bb) && prefix[bb] > 0) ? 1 : 0);
    out.emplace_back(cb, std::max(cb, prefix[ee]));
  }
  return out;
}

}  // namespace deepfuse
