// libFuzzer target: the chat-template renderer (Jinja2 subset). The input is a template source;
// it is parsed and rendered against a fixed conversation with tools and documents, under tight
// render limits so runaway templates stop quickly. Contract: bad templates raise FormatError /
// Unsupported / InvalidArgument (deepfuse::Error); anything else, or a hang, is a finding.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/chat_template.h"

namespace {

const nlohmann::ordered_json& messages() {
  static const nlohmann::ordered_json m = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Hi <b>there</b> 你好"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function",
      "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}]},
    {"role": "tool", "name": "get_weather", "content": "{\"temp\": 21.5}"},
    {"role": "assistant", "content": "<think>hmm</think>It is 21.5 C.", "reasoning_content": "hmm"},
    {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}, {"type": "image"}]}
  ])");
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string source(reinterpret_cast<const char*>(data), size);
  deepfuse::ChatTemplateOptions o;
  o.add_generation_prompt = size % 2 == 0;
  o.tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "get_weather", "description": "Weather",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])");
  o.documents = nlohmann::ordered_json::parse(R"([{"title": "Doc", "text": "Body"}])");
  o.extra = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"enable_thinking", false}};
  o.limits.max_output_bytes = 1 << 20;
  o.limits.max_steps = 200000;
  o.limits.max_call_depth = 32;
  try {
    auto tpl = deepfuse::ChatTemplate::from_string(source);
    tpl.render(messages(), o);
  } catch (const deepfuse::Error&) {
  }
  return 0;
}
