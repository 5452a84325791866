// ops::bmm (batched matmul, both weight layouts) against the plain definition on random
// inputs, its independence from the thread count, and its argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/bmm.h"
#include "ops/ops.h"

namespace deepfuse::ops {
namespace {

std::vector<float> randv(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

struct BmmShape {
  int64_t batch, m, k, n;
};

TEST(Bmm, BothLayoutsMatchTheDefinition) {
  std::mt19937 rng(7);
  // Decode (m = 1, many heads), prefill-like, odd sizes not multiples of any vector width.
  for (const BmmShape& sh : {BmmShape{16, 1, 128, 512}, BmmShape{3, 7, 33, 17},
                             BmmShape{1, 1, 1, 1}, BmmShape{5, 0, 4, 4}, BmmShape{2, 19, 64, 96}}) {
    for (BmmLayout layout : {BmmLayout::NK, BmmLayout::KN}) {
      SCOPED_TRACE(testing::Message() << sh.batch << "x" << sh.m << "x" << sh.k << "x" << sh.n
                                      << (layout == BmmLayout::NK ? " NK" : " KN"));
      const auto xv = randv(static_cast<size_t>(sh.batch * sh.m * sh.k), rng);
      const auto wv = randv(static_cast<size_t>(sh.batch * sh.k * sh.n), rng);
      const Tensor x = Tensor::from_vector(xv, {sh.batch, sh.m, sh.k});
      const Tensor w = Tensor::from_vector(
          wv, layout == BmmLayout::NK ? Shape{sh.batch, sh.n, sh.k} : Shape{sh.batch, sh.k, sh.n});
      const Tensor y = bmm(x, w, layout);
      ASSERT_EQ(y.shape(), (Shape{sh.batch, sh.m, sh.n}));
      std::vector<float> ref(static_cast<size_t>(sh.batch * sh.m * sh.n));
      cpu::bmm_reference(layout == BmmLayout::NK ? cpu::BmmWeightLayout::NK
                                                 : cpu::BmmWeightLayout::KN,
                         xv.data(), wv.data(), ref.data(), sh.batch, sh.m, sh.k, sh.n);
      for (size_t i = 0; i < ref.size(); ++i)
        // f32 sums of k products of unit normals: error ~ k * eps * sqrt(k) at worst.
        ASSERT_NEAR(y.data<float>()[i], ref[i], 1e-5 * static_cast<double>(sh.k) + 1e-6)
            << "element " << i;
    }
  }
}

TEST(Bmm, SameBitsOnAnyThreadCount) {
  std::mt19937 rng(11);
  const auto xv = randv(8 * 3 * 40, rng);
  const auto wv = randv(8 * 40 * 24, rng);
  const Tensor x = Tensor::from_vector(xv, {8, 3, 40});
  const Tensor w = Tensor::from_vector(wv, {8, 24, 40});
  std::vector<std::vector<float>> outs;
  for (int threads : {1, 2, 5}) {
    ThreadPool pool(threads);
    ThreadPool::Scope scope(pool);
    const Tensor y = bmm(x, w, BmmLayout::NK);
    outs.emplace_back(y.data<float>(), y.data<float>() + y.numel());
  }
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(outs[0], outs[2]);
}

TEST(Bmm, RejectsMismatchedShapesAndDtypes) {
  const Tensor x = Tensor::zeros(DType::F32, {2, 3, 4});
  // k mismatch, batch mismatch, 2-D weight, wrong output shape, bf16 input, aliasing output.
  EXPECT_THROW(bmm(x, Tensor::zeros(DType::F32, {2, 5, 5}), BmmLayout::NK), InvalidArgument);
  EXPECT_THROW(bmm(x, Tensor::zeros(DType::F32, {3, 4, 5}), BmmLayout::KN), InvalidArgument);
  EXPECT_THROW(bmm(x, Tensor::zeros(DType::F32, {4, 5}), BmmLayout::KN), InvalidArgument);
  Tensor bad = Tensor::zeros(DType::F32, {2, 3, 6});
  EXPECT_THROW(bmm(x, Tensor::zeros(DType::F32, {2, 5, 4}), BmmLayout::NK, bad), InvalidArgument);
  EXPECT_THROW(bmm(Tensor::zeros(DType::BF16, {2, 3, 4}), Tensor::zeros(DType::F32, {2, 5, 4}),
                   BmmLayout::NK),
               InvalidArgument);
  Tensor sq = Tensor::zeros(DType::F32, {2, 4, 4});
  EXPECT_THROW(bmm(sq, Tensor::zeros(DType::F32, {2, 4, 4}), BmmLayout::NK, sq), InvalidArgument);
  try {
    bmm(x, Tensor::zeros(DType::F32, {2, 5, 5}), BmmLayout::NK);
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("bmm"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace deepfuse::ops
