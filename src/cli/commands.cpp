#include "cli/commands.h"

namespace deepfuse::cli {

const std::vector<Registrar>& registrars() {
  static const std::vector<Registrar> all = {
  };
  return all;
}

}  // namespace deepfuse::cli
