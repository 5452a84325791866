// Adapter from an encoder model folder (the models module) to the retrieval Embedder interface.
#pragma once

#include <memory>
#include <string>

#include "retrieval/embedder.h"

namespace deepfuse::retrieval {

// Loads the encoder and its tokenizer (NotFound / FormatError / Unsupported from the models
// module, naming the file at fault).
std::shared_ptr<Embedder> make_model_embedder(const std::string& model_dir);

}  // namespace deepfuse::retrieval
