#include "retrieval/model_embedder.h"

#include "core/error.h"

namespace deepfuse::retrieval {

std::shared_ptr<Embedder> make_model_embedder(const std::string& model_dir) {
  throw Unsupported("embedding with model folder '" + model_dir +
                    "' needs the encoder model API (include/deepfuse/auto_model.h), which this "
                    "build does not have yet; use --embedder hash:DIM");
}

}  // namespace deepfuse::retrieval
