// `deepfuse detokenize`: {"ids": [...]} per stdin line -> {"text": ...} (DESIGN.md CLI contract).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse::cli {

namespace {
struct DetokenizeOptions {
  std::string model;
  bool skip_special = false;
};

void run_detokenize(const DetokenizeOptions& o) {
  auto tok = AutoTokenizer::from_pretrained(o.model);
  JsonReader reader(kRequestJsonLimits);
  std::string line;
  size_t lineno = 0;
  while (read_line(std::cin, &line)) {
    ++lineno;
    if (line.empty()) continue;
    const nlohmann::json j = parse_request_line(reader, line, lineno, "{\"ids\": [1, 2, 3]}");
    if (!j.is_object() || !j.contains("ids") || !j["ids"].is_array())
      throw InvalidArgument("stdin line " + std::to_string(lineno) +
                            ": expected an object with an array field \"ids\"");
    std::vector<int32_t> ids;
    ids.reserve(j.at("ids").size());
    for (const auto& v : j.at("ids")) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
        throw InvalidArgument("stdin line " + std::to_string(lineno) +
                              ": \"ids\" must hold non-negative integers, got " + json_excerpt(v));
      ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    print_json_line({{"text", tok->decode(ids, o.skip_special)}});
  }
}
}  // namespace

void register_detokenize(CLI::App& root) {
  auto o = std::make_shared<DetokenizeOptions>();
  CLI::App* cmd = root.add_subcommand("detokenize", "Text of {\"ids\": [...]} lines on stdin");
  cmd->add_option("--model", o->model, "Model folder with the tokenizer")->required();
  cmd->add_flag("--skip-special", o->skip_special,
                "Drop special tokens (BOS, EOS, ...) from the text");
  set_examples(
      cmd, "  echo '{\"ids\": [9707, 1879]}' | deepfuse detokenize --model /models/Qwen3-0.6B\n");
  cmd->callback([o] { run_detokenize(*o); });
}

}  // namespace deepfuse::cli
