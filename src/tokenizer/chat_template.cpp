#include "tokenizer/chat_template.h"

#include "core/error.h"
#include "tokenizer/jinja/parser.h"

namespace deepfuse {

nlohmann::ordered_json special_tokens_context(const nlohmann::json& cfg) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (!cfg.is_object()) return out;
  auto token_text = [](const nlohmann::json& v, std::string* text) {
    if (v.is_string()) {
      *text = v.get<std::string>();
      return true;
    }
    if (v.is_object() && v.contains("content") && v["content"].is_string()) {
      *text = v["content"].get<std::string>();
      return true;
    }
    return false;
  };
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                          "cls_token", "mask_token"}) {
    std::string text;
    if (cfg.contains(key) && token_text(cfg[key], &text)) out[key] = text;
  }
  if (cfg.contains("additional_special_tokens") && cfg["additional_special_tokens"].is_array()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& v : cfg["additional_special_tokens"]) {
      std::string text;
      if (token_text(v, &text)) list.push_back(text);
    }
    out["additional_special_tokens"] = list;
  }
  return out;
}

ChatTemplate ChatTemplate::from_string(const std::string& source) {
  ChatTemplate t;
  t.source_ = source;
  t.tpl_ = jinja::parse_template(source);
  return t;
}

ChatTemplate ChatTemplate::from_config_field(const nlohmann::json& field, const std::string& name) {
  if (field.is_string()) return from_string(field.get<std::string>());
  DF_CHECK(
      field.is_array(), FormatError,
      "tokenizer_config.json: chat_template must be a string or a list of {name, template}, got "
          << field.type_name());
  std::string names;
  for (const auto& entry : field) {
    DF_CHECK(entry.is_object() && entry.contains("name") && entry["name"].is_string() &&
                 entry.contains("template") && entry["template"].is_string(),
             FormatError,
             "tokenizer_config.json: chat_template list entries must be {\"name\": str, "
             "\"template\": str}");
    if (entry["name"] == name) return from_string(entry["template"].get<std::string>());
    names += (names.empty() ? "" : ", ") + entry["name"].get<std::string>();
  }
  throw NotFound("tokenizer_config.json: no chat template named '" + name + "' (have: " + names +
                 ")");
}

std::string ChatTemplate::render(const nlohmann::json& messages,
                                 const ChatTemplateOptions& opts) const {
  return render(nlohmann::ordered_json::parse(messages.dump()), opts);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages,
                                 const ChatTemplateOptions& opts) const {
  DF_CHECK(messages.is_array(), InvalidArgument,
           "chat template: messages must be a JSON array of message objects, got "
               << messages.type_name());
  DF_CHECK(opts.extra.is_object() || opts.extra.is_null(), InvalidArgument,
           "chat template: extra context must be a JSON object");
  jinja::ValueDict ctx;
  jinja::add_globals(ctx);
  // transformers: render(messages=, tools=, documents=, add_generation_prompt=, **kwargs).
  if (opts.extra.is_object()) {
    for (auto it = opts.extra.begin(); it != opts.extra.end(); ++it) {
      DF_CHECK(
          it.key() != "messages" && it.key() != "tools" && it.key() != "documents" &&
              it.key() != "add_generation_prompt",
          InvalidArgument,
          "chat template: extra context may not set '" << it.key() << "' (it has its own option)");
      ctx.set(it.key(), jinja::Value::from_json(it.value()));
    }
  }
  ctx.set("messages", jinja::Value::from_json(messages));
  ctx.set("tools", jinja::Value::from_json(opts.tools));
  ctx.set("documents", jinja::Value::from_json(opts.documents));
  ctx.set("add_generation_prompt", jinja::Value(opts.add_generation_prompt));
  jinja::Interpreter in(opts.limits, std::move(ctx));
  return in.render(*tpl_);
}

}  // namespace deepfuse
