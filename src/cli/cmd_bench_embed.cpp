// `deepfuse bench embed`: sentence-embedding throughput (sentences/s) of an encoder model through
// the knowledge base's Embedder interface (tokenizer + forward + pooling + L2 norm), for texts of
// exactly --tokens tokens ([CLS] + words + [SEP]) at each --batch size. Default model: the
// shipped deepfuse-embed-small.
#include <algorithm>
#include <chrono>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/bench_registry.h"
#include "cli/cli_util.h"
#include "cli/shipped_models.h"
#include "core/error.h"
#include "deepfuse/tokenizer.h"
#include "retrieval/embedder.h"

namespace deepfuse::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model;
  int tokens = 32, sentences = 256, threads = 0;
  std::vector<int> batches = {1, 64};
};

// Texts of `n` distinct random whole words of the vocabulary (plain lower-case ASCII tokens,
// one token each), checked to encode to exactly `tokens` ids.
std::vector<std::string> make_texts(const Tokenizer& tok, int tokens, int n) {
  std::vector<std::string> words;
  for (size_t id = 0; id < tok.vocab_size(); ++id) {
    auto t = tok.id_to_token(static_cast<int32_t>(id));
    if (t && t->size() >= 3 &&
        std::all_of(t->begin(), t->end(), [](char c) { return c >= 'a' && c <= 'z'; }))
      words.push_back(*t);
  }
  DF_CHECK(words.size() >= 100, Unsupported,
           "the model's vocabulary has too few plain English words to build benchmark texts");
  std::mt19937 rng(1234);
  std::vector<std::string> texts;
  for (int i = 0; i < n; ++i) {
    std::string s;
    for (int w = 0; w < tokens - 2; ++w) s += (w ? " " : "") + words[rng() % words.size()];
    DF_CHECK(static_cast<int>(tok.encode(s).size()) == tokens, InternalError,
             "benchmark text does not encode to " << tokens << " tokens: " << s);
    texts.push_back(std::move(s));
  }
  return texts;
}

void run(Options o) {
  DF_CHECK(o.tokens >= 3 && o.tokens <= 512, InvalidArgument,
           "--tokens must be in 3..512, got " << o.tokens);
  DF_CHECK(o.sentences >= 1, InvalidArgument, "--sentences must be >= 1, got " << o.sentences);
  if (o.model.empty()) o.model = require_shipped_model(kShippedEmbedder, "--model");
  apply_threads(o.threads);
  auto tok = AutoTokenizer::from_pretrained(o.model);
  auto emb = retrieval::make_embedder(o.model);
  const auto texts = make_texts(*tok, o.tokens, o.sentences);
  emb->embed({texts[0]});  // warm-up: page in the weights
  for (int b : o.batches) {
    DF_CHECK(b >= 1, InvalidArgument, "--batch sizes must be >= 1, got " << b);
    auto t0 = Clock::now();
    size_t done = 0;
    while (done < texts.size()) {
      const size_t end = std::min(texts.size(), done + static_cast<size_t>(b));
      std::vector<std::string> chunk(texts.begin() + done, texts.begin() + end);
      emb->embed(chunk);
      done = end;
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    print_json_line({{"bench", "embed"},
                     {"model", o.model},
                     {"tokens", o.tokens},
                     {"batch", b},
                     {"sentences", texts.size()},
                     {"seconds", s},
                     {"sentences_per_s", static_cast<double>(texts.size()) / s},
                     {"dim", emb->dim()},
                     {"threads", o.threads}});
  }
}

void add_bench_embed(CLI::App& bench) {
  CLI::App* cmd = bench.add_subcommand("embed", "Sentence-embedding throughput (sentences/s)");
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Encoder model folder (default: the shipped embedder)");
  cmd->add_option("--tokens", o->tokens, "Tokens per text, [CLS] and [SEP] included")
      ->default_val(32);
  cmd->add_option("--sentences", o->sentences, "Texts per measurement")->default_val(256);
  cmd->add_option("--batch", o->batches, "Batch sizes (texts per embed call)")
      ->delimiter(',')
      ->default_str("1,64");
  add_threads_flag(cmd, &o->threads);
  set_examples(cmd, "  deepfuse bench embed --tokens 32 --batch 1,64\n");
  cmd->callback([o] { run(*o); });
}

const bool kRegistered = register_bench_command("embed", &add_bench_embed);

}  // namespace
}  // namespace deepfuse::cli
