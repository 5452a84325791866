#include "cli/commands.h"

namespace deepfuse::cli {

const std::vector<Registrar>& registrars() {
  static const std::vector<Registrar> all = {
      register_inspect, register_logits,   register_generate,   register_chat,
      register_embed,   register_classify, register_bench,      register_kb,
      register_mask,    register_tokenize, register_detokenize,
  };
  return all;
}

}  // namespace deepfuse::cli
