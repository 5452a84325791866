// tokenizer_config.json: special tokens, add_bos/eos_token, chat templates, model_max_length.
#include "tokenizer/tokenizer_config.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/error.h"
#include "core/json_reader.h"
#include "core/mapped_file.h"

namespace deepfuse {

namespace {

using json = nlohmann::json;

std::optional<std::string> token_field(const json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  throw FormatError(source + ": " + key + ": expected a string or {\"content\": ...}");
}

}  // namespace

TokenizerConfig parse_tokenizer_config(std::string_view text, const std::string& source) {
  const json j = parse_json(text, source);
  if (!j.is_object()) throw FormatError(source + ": expected a JSON object at the top level");
  TokenizerConfig c;
  c.raw_json = std::string(text);
  c.bos_token = token_field(j, "bos_token", source);
  c.eos_token = token_field(j, "eos_token", source);
  c.unk_token = token_field(j, "unk_token", source);
  c.pad_token = token_field(j, "pad_token", source);
  c.sep_token = token_field(j, "sep_token", source);
  c.cls_token = token_field(j, "cls_token", source);
  c.mask_token = token_field(j, "mask_token", source);
  if (j.contains("additional_special_tokens") && j["additional_special_tokens"].is_array())
    for (auto& t : j["additional_special_tokens"]) {
      if (t.is_string())
        c.additional_special_tokens.push_back(t.get<std::string>());
      else if (t.is_object() && t.contains("content") && t["content"].is_string())
        c.additional_special_tokens.push_back(t["content"].get<std::string>());
    }
  auto opt_bool = [&](const char* k) -> std::optional<bool> {
    auto it = j.find(k);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) throw FormatError(source + ": " + k + ": expected true or false");
    return it->get<bool>();
  };
  c.add_bos_token = opt_bool("add_bos_token");
  c.add_eos_token = opt_bool("add_eos_token");
  c.clean_up_tokenization_spaces = opt_bool("clean_up_tokenization_spaces").value_or(false);
  c.do_lower_case = opt_bool("do_lower_case").value_or(true);
  c.strip_accents = opt_bool("strip_accents");
  c.tokenize_chinese_chars = opt_bool("tokenize_chinese_chars").value_or(true);
  if (j.contains("tokenizer_class") && j["tokenizer_class"].is_string())
    c.tokenizer_class = j["tokenizer_class"].get<std::string>();
  if (j.contains("padding_side") && j["padding_side"].is_string())
    c.padding_side = j["padding_side"].get<std::string>();
  if (j.contains("truncation_side") && j["truncation_side"].is_string())
    c.truncation_side = j["truncation_side"].get<std::string>();
  if (j.contains("model_max_length") && j["model_max_length"].is_number()) {
    double v = j["model_max_length"].get<double>();
    if (v > 0 && v < 1e18) c.model_max_length = static_cast<int64_t>(v);
  }
  if (j.contains("chat_template")) {
    const json& t = j["chat_template"];
    if (t.is_string()) {
      c.chat_template = t.get<std::string>();
      c.chat_templates["default"] = c.chat_template;
    } else if (t.is_array()) {
      for (size_t i = 0; i < t.size(); ++i) {
        const json& e = t[i];
        if (!e.is_object() || !e.contains("name") || !e.contains("template") ||
            !e["name"].is_string() || !e["template"].is_string())
          throw FormatError(source + ": chat_template[" + std::to_string(i) +
                            "]: expected {\"name\": ..., \"template\": ...}");
        c.chat_templates[e["name"].get<std::string>()] = e["template"].get<std::string>();
      }
      auto it = c.chat_templates.find("default");
      if (it != c.chat_templates.end()) c.chat_template = it->second;
    } else if (!t.is_null()) {
      throw FormatError(source + ": chat_template: expected a string or a list of named templates");
    }
  }
  return c;
}

TokenizerConfig load_tokenizer_config(const std::string& dir) {
  namespace fs = std::filesystem;
  TokenizerConfig c;
  fs::path p = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(p)) {
    c = parse_tokenizer_config(read_file(p.string()), p.string());
  } else {
    c.raw_json = "{}";
    c.do_lower_case = true;
  }
  fs::path jinja = fs::path(dir) / "chat_template.jinja";
  if (c.chat_template.empty() && fs::exists(jinja)) {
    c.chat_template = read_file(jinja.string());
    c.chat_templates["default"] = c.chat_template;
  }
  return c;
}

}  // namespace deepfuse
