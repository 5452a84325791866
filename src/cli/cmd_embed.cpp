// `deepfuse embed [--model DIR]`: one text per stdin line -> {"embedding":[...]} per line, pooled
// (CLS or mean, optional L2 normalisation) as the folder's sentence-transformers files say.
// Without --model: the shipped deepfuse-embed-small (assets/models/, see shipped_models.h).
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/encoder_input.h"
#include "cli/shipped_models.h"
#include "core/error.h"
#include "deepfuse/auto_model.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse::cli {

void register_embed(CLI::App& root) {
  auto* cmd = root.add_subcommand("embed", "Sentence embeddings of stdin texts (one per line)");
  static std::string model, dtype = "auto";
  static bool jsonl = false;
  static int threads = 0;
  cmd->add_option("--model", model,
                  "Encoder model folder (BERT, DistilBERT, XLM-R) with tokenizer.json "
                  "(default: the shipped deepfuse-embed-small)");
  cmd->add_option("--dtype", dtype,
                  "Weight dtype: auto (checkpoint's), float32, bfloat16, float16");
  cmd->add_flag("--jsonl", jsonl, "Read {\"text\": ...} objects instead of plain lines");
  add_threads_flag(cmd, &threads);
  set_examples(cmd,
               "  echo 'hello world' | deepfuse embed\n"
               "  echo 'hello world' | deepfuse embed --model models/all-MiniLM-L6-v2\n"
               "  deepfuse embed --model models/bge-small --jsonl < texts.jsonl > vectors.jsonl\n");
  cmd->callback([] {
    apply_threads(threads);
    if (model.empty()) model = require_shipped_model(kShippedEmbedder, "--model");
    auto enc = AutoModel::from_pretrained(model, {.dtype = dtype});
    auto tok = AutoTokenizer::from_pretrained(model);
    size_t n = 0;
    std::vector<int32_t> ids;
    while (read_encoder_ids(std::cin, jsonl, *tok, enc.info().max_positions, &n, &ids)) {
      print_json_line({{"embedding", enc.embed(ids)}});
    }
  });
}

}  // namespace deepfuse::cli
