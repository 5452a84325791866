// `deepfuse embed --model DIR`: one text per stdin line -> {"embedding":[...]} per line, pooled
// (CLS or mean, optional L2 normalisation) as the folder's sentence-transformers files say.
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "deepfuse/auto_model.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse::cli {

// Truncates an encoding to `max_len` ids, keeping its last id (the [SEP] / </s> it ends with).
void truncate_keep_last(std::vector<int32_t>& ids, int64_t max_len) {
  if (max_len <= 0 || static_cast<int64_t>(ids.size()) <= max_len) return;
  const int32_t last = ids.back();
  ids.resize(static_cast<size_t>(max_len));
  ids.back() = last;
}

void register_embed(CLI::App& root) {
  auto* cmd = root.add_subcommand("embed", "Sentence embeddings of stdin texts (one per line)");
  static std::string model, dtype = "auto";
  static bool jsonl = false;
  static int threads = 0;
  cmd->add_option("--model", model,
                  "Encoder model folder (BERT, DistilBERT, XLM-R) with tokenizer.json")
      ->required();
  cmd->add_option("--dtype", dtype,
                  "Weight dtype: auto (checkpoint's), float32, bfloat16, float16");
  cmd->add_flag("--jsonl", jsonl, "Read {\"text\": ...} objects instead of plain lines");
  add_threads_flag(cmd, &threads);
  set_examples(cmd,
               "  echo 'hello world' | deepfuse embed --model models/all-MiniLM-L6-v2\n"
               "  deepfuse embed --model models/bge-small --jsonl < texts.jsonl > vectors.jsonl\n");
  cmd->callback([] {
    apply_threads(threads);
    auto enc = AutoModel::from_pretrained(model, {.dtype = dtype});
    auto tok = AutoTokenizer::from_pretrained(model);
    std::string line;
    size_t n = 0;
    while (read_line(std::cin, &line)) {
      ++n;
      std::string text = line;
      if (jsonl) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        DF_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(), InvalidArgument,
                 "stdin line " << n << ": expected {\"text\": \"...\"}");
        text = j["text"].get<std::string>();
      }
      std::vector<int32_t> ids = tok->encode(text);
      DF_CHECK(!ids.empty(), InvalidArgument, "stdin line " << n << ": text encodes to no tokens");
      truncate_keep_last(ids, enc.info().max_positions);
      print_json_line({{"embedding", enc.embed(ids)}});
    }
  });
}

}  // namespace deepfuse::cli
