// `deepfuse classify --model DIR`: one text per stdin line -> {"label":..,"score":..} per line
// (softmax probability of the top label; labels from config.json id2label). Without --model: the
// shipped deepfuse-finsent-small financial sentiment classifier (negative / neutral / positive).
#include <cmath>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/encoder_input.h"
#include "cli/shipped_models.h"
#include "core/error.h"
#include "deepfuse/auto_model.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse::cli {

void register_classify(CLI::App& root) {
  auto* cmd = root.add_subcommand("classify",
                                  "Classify stdin texts (one per line) with a sequence classifier");
  static std::string model, dtype = "auto";
  static bool jsonl = false, all_scores = false;
  static int threads = 0;
  cmd->add_option("--model", model,
                  "*ForSequenceClassification model folder with tokenizer.json (default: the "
                  "shipped deepfuse-finsent-small, financial sentiment, zh/en)");
  cmd->add_option("--dtype", dtype,
                  "Weight dtype: auto (checkpoint's), float32, bfloat16, float16");
  cmd->add_flag("--jsonl", jsonl, "Read {\"text\": ...} objects instead of plain lines");
  cmd->add_flag("--all-scores", all_scores, "Also print every label's probability");
  add_threads_flag(cmd, &threads);
  set_examples(cmd,
               "  echo 'Shares rose sharply.' | deepfuse classify\n"
               "  echo 'Shares rose sharply.' | deepfuse classify --model models/finbert\n"
               "  deepfuse classify --model models/sst2 --all-scores < reviews.txt\n");
  cmd->callback([] {
    apply_threads(threads);
    if (model.empty()) model = require_shipped_model(kShippedClassifier, "--model");
    auto clf = AutoModelForSequenceClassification::from_pretrained(model, {.dtype = dtype});
    auto tok = AutoTokenizer::from_pretrained(model);
    size_t n = 0;
    std::vector<int32_t> ids;
    while (read_encoder_ids(std::cin, jsonl, *tok, clf.info().max_positions, &n, &ids)) {
      const Classification c = clf.classify(ids);
      nlohmann::json j = {{"label", c.label}, {"score", c.score}};
      if (all_scores) {
        double mx = c.logits[static_cast<size_t>(c.label_id)], sum = 0;
        for (float x : c.logits) sum += std::exp(x - mx);
        nlohmann::json s = nlohmann::json::object();
        const auto& labels = clf.info().id2label;
        for (size_t i = 0; i < c.logits.size(); ++i) {
          auto it = labels.find(static_cast<int64_t>(i));
          s[it != labels.end() ? it->second : "LABEL_" + std::to_string(i)] =
              std::exp(c.logits[i] - mx) / sum;
        }
        j["scores"] = s;
      }
      print_json_line(j);
    }
  });
}

}  // namespace deepfuse::cli
