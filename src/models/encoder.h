// The interface of encoder models (BERT, DistilBERT, XLM-R): embeddings and sequence
// classification. retrieval/ and the `embed` / `classify` CLI talk only to this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "deepfuse/model_info.h"  // EncoderInfo, Pooling

namespace deepfuse {

class EncoderModel {
 public:
  virtual ~EncoderModel() = default;
  virtual const EncoderInfo& info() const = 0;
  // Last hidden states of one sequence (no padding): f32 [ids.size(), hidden].
  Tensor encode(const std::vector<int32_t>& ids);
  // Several sequences in one ragged call (back to back, no padding, each attends only to
  // itself): one f32 [batch[i].size(), hidden] per sequence, equal to encode(batch[i]).
  virtual std::vector<Tensor> encode_batch(const std::vector<std::vector<int32_t>>& batch) = 0;
  // Pooled (and, when configured, L2-normalised) embedding: [hidden].
  std::vector<float> embed(const std::vector<int32_t>& ids);
  // Classification logits [num_labels]; Unsupported for models without a head.
  virtual std::vector<float> classify(const std::vector<int32_t>& ids);
};

}  // namespace deepfuse
