// `deepfuse tokenize`: stdin texts -> {"ids": [...]} per line (DESIGN.md CLI contract).
#include <charconv>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse::cli {

namespace {
struct TokenizeOptions {
  std::string model;
  bool no_special = false;
  bool jsonl = false;
  bool offsets = false;
};

void run_tokenize(const TokenizeOptions& o) {
  auto tok = AutoTokenizer::from_pretrained(o.model);
  JsonReader reader(kRequestJsonLimits);
  std::string line;
  size_t lineno = 0;
  std::ios::sync_with_stdio(false);
  while (read_line(std::cin, &line)) {
    ++lineno;
    std::string text;
    if (o.jsonl) {
      const nlohmann::json j = parse_request_line(reader, line, lineno, "{\"text\": \"...\"}");
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        throw InvalidArgument("stdin line " + std::to_string(lineno) +
                              ": expected an object with a string field \"text\"");
      text = j.at("text").get<std::string>();
    } else {
      text = std::move(line);
    }
    nlohmann::json out;
    if (o.offsets) {
      Encoding e = tok->encode_full(text, !o.no_special);
      out["ids"] = e.ids;
      nlohmann::json offs = nlohmann::json::array();
      for (auto [b, en] : byte_to_char_offsets(text, e.offsets)) offs.push_back({b, en});
      out["offsets"] = std::move(offs);
      print_json_line(out);
    } else {
      // Written directly: a JSON array value per id costs 16 bytes, 4x the ids themselves
      // (one 200 MB line has ~50M tokens).
      const std::vector<int32_t> ids = tok->encode(text, !o.no_special);
      std::string buf = "{\"ids\":[";
      buf.reserve(buf.size() + ids.size() * 7 + 3);
      char num[16];
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) buf.push_back(',');
        const auto r = std::to_chars(num, num + sizeof(num), ids[i]);
        buf.append(num, r.ptr);
      }
      buf += "]}\n";
      std::cout << buf;
      std::cout.flush();
    }
  }
}
}  // namespace

void register_tokenize(CLI::App& root) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = root.add_subcommand(
      "tokenize", "Token ids of stdin texts (one per line) with the model's tokenizer");
  cmd->add_option("--model", o->model,
                  "Model folder (tokenizer.json, or vocab.json + merges.txt, "
                  "or vocab.txt; plus tokenizer_config.json)")
      ->required();
  cmd->add_flag("--no-special", o->no_special, "Do not add special tokens (BOS, [CLS], ...)");
  cmd->add_flag("--jsonl", o->jsonl,
                "Read one {\"text\": ...} object per line instead of raw lines");
  cmd->add_flag("--offsets", o->offsets,
                "Also print \"offsets\": [[begin, end], ...] in Unicode code points of the text");
  set_examples(
      cmd,
      "  echo 'Hello world' | deepfuse tokenize --model /models/Qwen3-0.6B\n"
      "  echo '{\"text\": \"two\\nlines\"}' | deepfuse tokenize --model DIR --jsonl --offsets\n");
  cmd->callback([o] { run_tokenize(*o); });
}

}  // namespace deepfuse::cli
