#include "retrieval/model_embedder.h"

#include <cmath>
#include <mutex>

#include "core/error.h"
#include "deepfuse/auto_model.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse::retrieval {
namespace {

// An encoder model folder (BERT, DistilBERT, XLM-R with tokenizer.json) through the models
// module's AutoModel: pooled as the folder's modules.json says, then L2-normalised here (cosine
// similarity as inner product), whatever the model's own setting.
class ModelEmbedder : public Embedder {
 public:
  explicit ModelEmbedder(const std::string& dir)
      : dir_(dir),
        model_(AutoModel::from_pretrained(dir)),
        tok_(AutoTokenizer::from_pretrained(dir)) {
    dim_ = static_cast<int>(model_.info().hidden_size);
  }
  int dim() const override { return dim_; }
  std::string spec() const override { return dir_; }

  std::vector<float> embed(const std::vector<std::string>& texts) override {
    std::vector<float> out;
    out.reserve(texts.size() * dim_);
    std::lock_guard<std::mutex> lk(mu_);  // the model's forward is not re-entrant
    for (const auto& t : texts) {
      std::vector<int32_t> ids = tok_->encode(t);
      DF_CHECK(!ids.empty(), InvalidArgument, "text encodes to no tokens for model " << dir_);
      const int64_t max_len = model_.info().max_positions;
      if (max_len > 0 && static_cast<int64_t>(ids.size()) > max_len) {
        int32_t last = ids.back();  // keep the closing special token ([SEP] / </s>)
        ids.resize(static_cast<size_t>(max_len));
        ids.back() = last;
      }
      std::vector<float> e = model_.embed(ids);  // [hidden]
      DF_CHECK(static_cast<int>(e.size()) == dim_, InternalError,
               "model " << dir_ << " returned an embedding of " << e.size() << " values, expected "
                        << dim_);
      double norm = 0;
      for (float x : e) norm += static_cast<double>(x) * x;
      const float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
      for (float x : e) out.push_back(x * inv);
    }
    return out;
  }

 private:
  std::string dir_;
  AutoModel model_;
  std::shared_ptr<const Tokenizer> tok_;
  int dim_ = 0;
  std::mutex mu_;
};

}  // namespace

std::shared_ptr<Embedder> make_model_embedder(const std::string& model_dir) {
  return std::make_shared<ModelEmbedder>(model_dir);
}

}  // namespace deepfuse::retrieval
