// Where the models deepfuse ships (assets/models/, trained by tools/train/) are found, so that
// `embed`, `classify` and the knowledge base's dense/hybrid modes work without --model.
#pragma once

#include <string>

namespace deepfuse::cli {

inline constexpr const char* kShippedEmbedder = "deepfuse-embed-small";
inline constexpr const char* kShippedClassifier = "deepfuse-finsent-small";

// The folder of shipped model `name`, searched in order: $DEEPFUSE_MODELS_DIR/NAME,
// <binary dir>/../assets/models/NAME (a build tree), <binary dir>/../share/deepfuse/models/NAME
// (an install), then the source tree's assets/models/NAME. "" when none holds a config.json.
std::string find_shipped_model(const std::string& name);

// As find_shipped_model, but NotFound naming the places searched and the flag (`flag`) that
// names a folder instead.
std::string require_shipped_model(const std::string& name, const std::string& flag);

}  // namespace deepfuse::cli
