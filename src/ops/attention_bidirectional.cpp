// Non-causal attention over a ragged batch of unpadded sequences (encoders).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace deepfuse::ops {

using namespace detail;

void attention_bidirectional(const Tensor& q, const Tensor& k, const Tensor& v,
                             const std::vector<int32_t>& seq_begin, float scale, Tensor& out) {
  DF_PROFILE_OP("attention_bidirectional");
  const char* op = "attention_bidirectional";
  require_f32(op, "q", q);
  require_f32(op, "k", k);
  require_f32(op, "v", v);
  require_f32(op, "out", out);
  DF_CHECK(q.ndim() == 3, InvalidArgument,
           op << ": 'q' must be 3-D [n_tokens, n_heads, head_dim], got " << q.shape().str());
  const int64_t n = q.dim(0), nh = q.dim(1), hd = q.dim(2);
  require_shape(op, "k", k, {n, nh, hd});
  require_shape(op, "v", v, {n, nh, hd});
  require_shape(op, "out", out, {n, nh, hd});
  DF_CHECK(seq_begin.size() >= 2 && seq_begin.front() == 0 && seq_begin.back() == n,
           InvalidArgument,
           op << ": seq_begin must hold n_seqs + 1 offsets from 0 to " << n << ", got "
              << seq_begin.size() << " offsets");
  for (size_t i = 1; i < seq_begin.size(); ++i)
    DF_CHECK(seq_begin[i] >= seq_begin[i - 1], InvalidArgument,
             op << ": seq_begin decreases at " << i);
  const float sc = scale > 0.f ? scale : 1.f / std::sqrt(static_cast<float>(hd));
  dispatch(op, {&q, &k, &v, &out}, [&] {
    // Sequence of each token (rows are back to back).
    std::vector<int32_t> seq_of(static_cast<size_t>(n));
    for (size_t s = 0; s + 1 < seq_begin.size(); ++s)
      for (int32_t t = seq_begin[s]; t < seq_begin[s + 1]; ++t)
        seq_of[static_cast<size_t>(t)] = static_cast<int32_t>(s);
    const float* Q = q.data<float>();
    const float* K = k.data<float>();
    const float* V = v.data<float>();
    float* O = out.data<float>();
    ThreadPool::current().parallel_for(n * nh, 1, [&](int64_t b, int64_t e) {
      std::vector<float> s;
      for (int64_t r = b; r < e; ++r) {
        const int64_t i = r / nh, h = r % nh;
        const int32_t sq = seq_of[static_cast<size_t>(i)];
        const int64_t j0 = seq_begin[static_cast<size_t>(sq)];
        const int64_t j1 = seq_begin[static_cast<size_t>(sq) + 1];
        s.resize(static_cast<size_t>(j1 - j0));
        const float* qi = Q + (i * nh + h) * hd;
        float mx = -INFINITY;
        for (int64_t j = j0; j < j1; ++j) {
          const float* kj = K + (j * nh + h) * hd;
          float dot = 0.f;
          for (int64_t d = 0; d < hd; ++d) dot += qi[d] * kj[d];
          s[static_cast<size_t>(j - j0)] = dot * sc;
          mx = std::max(mx, s[static_cast<size_t>(j - j0)]);
        }
        float sum = 0.f;
        for (auto& x : s) sum += (x = std::exp(x - mx));
        float* o = O + (i * nh + h) * hd;
        std::fill(o, o + hd, 0.f);
        for (int64_t j = j0; j < j1; ++j) {
          const float w = s[static_cast<size_t>(j - j0)] / sum;
          const float* vj = V + (j * nh + h) * hd;
          for (int64_t d = 0; d < hd; ++d) o[d] += w * vj[d];
        }
      }
    });
  });
}

}  // namespace deepfuse::ops
