#include "retrieval/embedder.h"

#include <cmath>
#include <cstdint>
#include <filesystem>

#include "core/error.h"
#include "retrieval/analyzer.h"
#include "retrieval/model_embedder.h"

namespace deepfuse::retrieval {
namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

HashEmbedder::HashEmbedder(int dim) : dim_(dim) {
  DF_CHECK(dim >= 2 && dim <= 65536, InvalidArgument,
           "hash embedder dimension " << dim << " out of range: expected 2..65536");
}

std::vector<float> HashEmbedder::embed(const std::vector<std::string>& texts) {
  std::vector<float> out(texts.size() * dim_, 0.0f);
  std::vector<std::string> terms;
  for (size_t i = 0; i < texts.size(); ++i) {
    terms.clear();
    analyze(AnalyzerKind::kStandard, texts[i], &terms);
    float* v = out.data() + i * dim_;
    for (const auto& t : terms) {
      uint64_t h = fnv1a(t);
      v[h % dim_] += (h >> 63) ? 1.0f : -1.0f;
    }
    double norm = 0;
    for (int d = 0; d < dim_; ++d) norm += static_cast<double>(v[d]) * v[d];
    if (norm > 0) {
      float inv = static_cast<float>(1.0 / std::sqrt(norm));
      for (int d = 0; d < dim_; ++d) v[d] *= inv;
    }
  }
  return out;
}

}  // namespace deepfuse::retrieval

namespace deepfuse {

std::shared_ptr<Embedder> make_embedder(const std::string& spec) {
  if (spec.rfind("hash:", 0) == 0) {
    std::string n = spec.substr(5);
    int dim = 0;
    try {
      size_t used = 0;
      dim = std::stoi(n, &used);
      if (used != n.size()) dim = 0;
    } catch (const std::exception&) {
      dim = 0;
    }
    DF_CHECK(dim > 0, InvalidArgument,
             "malformed embedder '" << spec << "': expected hash:DIM (e.g. hash:256)");
    return std::make_shared<retrieval::HashEmbedder>(dim);
  }
  DF_CHECK(std::filesystem::is_directory(spec), NotFound,
           "embedder model folder '"
               << spec << "' not found: expected hash:DIM or an encoder model folder");
  return retrieval::make_model_embedder(spec);
}

}  // namespace deepfuse
