// Tokenize a prompt and generate a few tokens with the public C++ API only (include/deepfuse/).
//
//   generate MODEL_DIR [PROMPT] [MAX_NEW_TOKENS]
//
// Greedy decoding twice: AutoModelForCausalLM::generate (the transformers-shaped helper) and the
// engine's Generator (what `deepfuse generate` runs). Both must give the same tokens; the
// program prints them and the decoded text, and exits 1 if they differ, 2 on bad input.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <deepfuse/auto_model.h>
#include <deepfuse/error.h>
#include <deepfuse/generation.h>
#include <deepfuse/tokenizer.h>

namespace {

int usage(const std::string& why) {
  std::cerr << "generate: " << why
            << " (usage: generate MODEL_DIR [PROMPT] [MAX_NEW_TOKENS], MAX_NEW_TOKENS 1..256)\n";
  return 2;
}

void print_ids(const char* label, const std::vector<int32_t>& ids) {
  std::cout << label;
  for (int32_t id : ids) std::cout << ' ' << id;
  std::cout << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) return usage("expected 1 to 3 arguments");
  const std::string dir = argv[1];
  const std::string prompt = argc > 2 ? argv[2] : "Once upon a time";
  int max_new = 8;
  if (argc > 3) {
    char* end = nullptr;
    const long n = std::strtol(argv[3], &end, 10);
    if (end == argv[3] || *end != '\0' || n < 1 || n > 256) {
      return usage("MAX_NEW_TOKENS '" + std::string(argv[3]) + "' is not an integer in 1..256");
    }
    max_new = static_cast<int>(n);
  }

  try {
    std::shared_ptr<const deepfuse::Tokenizer> tok = deepfuse::AutoTokenizer::from_pretrained(dir);
    auto lm = deepfuse::AutoModelForCausalLM::from_pretrained(dir);
    const std::vector<int32_t> prompt_ids = tok->encode(prompt);
    print_ids("prompt_ids:", prompt_ids);

    // The helper stops at an EOS id of generation_config.json, as the Generator does.
    const std::vector<int32_t> greedy = lm.generate(prompt_ids, max_new);

    deepfuse::Generator gen(lm.model(), deepfuse::make_token_text_source(tok));
    deepfuse::GenerationRequest req;
    req.prompt_ids = prompt_ids;
    req.config = deepfuse::GenerationConfig::from_model_dir(dir);
    deepfuse::GenerationConfig mine;
    mine.do_sample = false;
    mine.max_new_tokens = max_new;
    req.config.merge(mine);
    const deepfuse::GenerationResult r = gen.generate(req);

    print_ids("generated_ids:", greedy);
    std::cout << "text: " << r.text << '\n';
    std::cout << "finish_reason: " << r.finish_reason << '\n';
    if (r.ids != greedy) {
      print_ids("generator_ids:", r.ids);
      std::cerr << "generate: AutoModelForCausalLM::generate and Generator disagree\n";
      return 1;
    }
    return 0;
  } catch (const deepfuse::Error& e) {
    std::cerr << "generate: " << e.what() << '\n';
    return e.exit_code();
  }
}
