// Chat templates: renders tokenizer_config.json's `chat_template` (Jinja2) exactly as
// transformers' apply_chat_template does with jinja2's ImmutableSandboxedEnvironment
// (trim_blocks, lstrip_blocks, loopcontrols, transformers' tojson/raise_exception/strftime_now).
//
//   auto tpl = ChatTemplate::from_string(cfg["chat_template"].get<std::string>());
//   ChatTemplateOptions o;
//   o.add_generation_prompt = true;
//   o.extra = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
//   std::string prompt = tpl.render(messages, o);
//
// Errors: a syntax error in the template -> FormatError (with line); a construct the renderer
// does not implement -> Unsupported naming it (never silently different text); the template's
// raise_exception(msg) -> InvalidArgument(msg); runaway templates -> InvalidArgument naming the
// limit (output bytes, steps, recursion depth).
// A ChatTemplate is immutable after parsing; render() may run concurrently from many threads.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja/interpreter.h"

namespace deepfuse {

struct ChatTemplateOptions {
  bool add_generation_prompt = false;
  // JSON tool schemas; null means "no tools" (the template sees None, as in transformers).
  nlohmann::ordered_json tools;
  // RAG documents (list of {title, text}); null means None.
  nlohmann::ordered_json documents;
  // Further template variables: bos_token, eos_token (transformers passes the special-tokens
  // map), enable_thinking, date strings, ... An object; keys override nothing above.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  jinja::RenderLimits limits;
};

// The template variables transformers adds from the tokenizer's special-tokens map
// (bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token,
// additional_special_tokens), read from tokenizer_config.json: plain strings or AddedToken
// objects ({"content": ...}); tokens that are null or absent are left out (the template sees
// them undefined, as in transformers). Use as ChatTemplateOptions::extra (then add your own).
nlohmann::ordered_json special_tokens_context(const nlohmann::json& tokenizer_config);

class ChatTemplate {
 public:
  // Parses the template; throws FormatError/Unsupported as described above.
  static ChatTemplate from_string(const std::string& source);
  // Picks a template out of tokenizer_config.json's "chat_template" field, which is either a
  // string or a list of {"name": ..., "template": ...} (transformers' named templates, e.g.
  // "default" and "tool_use"). Throws NotFound when `name` is not in the list.
  static ChatTemplate from_config_field(const nlohmann::json& field,
                                        const std::string& name = "default");

  // `messages` is the conversation (a JSON array of message objects). Use ordered_json so that
  // `tojson` sees keys in the caller's order, as Python dicts do.
  std::string render(const nlohmann::ordered_json& messages,
                     const ChatTemplateOptions& opts = {}) const;
  std::string render(const nlohmann::json& messages, const ChatTemplateOptions& opts = {}) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::shared_ptr<const jinja::Template> tpl_;
};

}  // namespace deepfuse
