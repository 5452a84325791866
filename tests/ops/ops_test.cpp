// Op front-ends: results against plain definitions, and argument validation (typed errors
// naming the op and the tensor).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/ops.h"

namespace deepfuse::ops {
namespace {

Tensor randn(Shape s, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (float& x : v) x = nd(rng);
  return Tensor::from_vector(v, s);
}

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(Linear, MatchesDefinitionWithBiasAndLeadingDims) {
  const Tensor x = randn({2, 3, 37}, 1);
  const Tensor w = randn({11, 37}, 2, 0.2f);
  const Tensor b = randn({11}, 3).to(DType::BF16);
  const Tensor y = linear(x, w, &b);
  ASSERT_EQ(y.shape(), Shape({2, 3, 11}));
  const auto xv = x.to_f32_vector(), wv = w.to_f32_vector(), bv = b.to_f32_vector(),
             yv = y.to_f32_vector();
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 11; ++j) {
      double s = bv[j];
      for (int k = 0; k < 37; ++k) s += double(xv[i * 37 + k]) * wv[j * 37 + k];
      EXPECT_NEAR(yv[i * 11 + j], s, 1e-5);
    }
}

TEST(Linear, Bf16WeightsRoundActivations) {
  const Tensor x = randn({3, 50}, 4);
  const Tensor w = randn({7, 50}, 5, 0.2f).to(DType::BF16);
  const Tensor y = linear(x, w);
  const auto xv = x.to_f32_vector(), wv = w.to_f32_vector(), yv = y.to_f32_vector();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 7; ++j) {
      double s = 0, mag = 0;
      for (int k = 0; k < 50; ++k) {
        const double p = double(bf16_to_f32(f32_to_bf16(xv[i * 50 + k]))) * wv[j * 50 + k];
        s += p;
        mag += std::fabs(p);
      }
      EXPECT_NEAR(yv[i * 7 + j], s, 2e-6 * mag + 1e-6);
    }
}

TEST(Linear, RejectsBadShapesNamingTheTensor) {
  const Tensor x = randn({2, 8}, 1);
  const Tensor w = randn({4, 9}, 2);
  EXPECT_NE(error_of([&] { linear(x, w); }).find("linear: tensor 'x' must have last dimension 9"),
            std::string::npos);
  const Tensor w2 = randn({4, 8}, 2);
  const Tensor bad_bias = randn({5}, 3);
  EXPECT_NE(error_of([&] { linear(x, w2, &bad_bias); }).find("'bias' must have shape [4]"),
            std::string::npos);
  Tensor y = Tensor::empty(DType::F32, {2, 5});
  EXPECT_NE(error_of([&] { linear(x, w2, nullptr, y); }).find("'y'"), std::string::npos);
  const Tensor xi = Tensor::from_vector(std::vector<int32_t>{1, 2}, {1, 2});
  EXPECT_THROW(linear(xi, randn({3, 2}, 1)), InvalidArgument);
  EXPECT_THROW(linear(x, Tensor()), InvalidArgument);
}

TEST(Embedding, GathersAndConverts) {
  const Tensor table = randn({10, 6}, 7).to(DType::F16);
  const Tensor e = embedding(table, {3, 0, 9, 3});
  const auto tv = table.to_f32_vector(), ev = e.to_f32_vector();
  const int ids[] = {3, 0, 9, 3};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) EXPECT_EQ(ev[i * 6 + j], tv[ids[i] * 6 + j]);
  EXPECT_NE(error_of([&] {
              embedding(table, {1, 10});
            }).find("token id 10 at index 1"),
            std::string::npos);
  EXPECT_THROW(embedding(table, {-1}), InvalidArgument);
}

TEST(Norms, RmsAndLayerNormInPlace) {
  Tensor x = randn({4, 33}, 8, 3.f);
  const Tensor w = randn({33}, 9).to(DType::BF16);
  const auto xv = x.to_f32_vector(), wv = w.to_f32_vector();
  Tensor y = Tensor::empty(DType::F32, {4, 33});
  rms_norm(x, w, 1e-5f, y);
  rms_norm(x, w, 1e-5f, x);  // in place
  EXPECT_EQ(x.to_f32_vector(), y.to_f32_vector());
  const auto yv = y.to_f32_vector();
  for (int r = 0; r < 4; ++r) {
    double ss = 0;
    for (int i = 0; i < 33; ++i) ss += double(xv[r * 33 + i]) * xv[r * 33 + i];
    const double inv = 1 / std::sqrt(ss / 33 + 1e-5);
    for (int i = 0; i < 33; ++i) EXPECT_NEAR(yv[r * 33 + i], xv[r * 33 + i] * inv * wv[i], 1e-5);
  }
  Tensor z = Tensor::empty(DType::F32, {4, 33});
  const Tensor b = randn({33}, 10);
  layer_norm(Tensor::from_vector(xv, {4, 33}), w, &b, 1e-5f, z);
  const auto zv = z.to_f32_vector(), bv = b.to_f32_vector();
  for (int r = 0; r < 4; ++r) {
    double m = 0, v = 0;
    for (int i = 0; i < 33; ++i) m += xv[r * 33 + i];
    m /= 33;
    for (int i = 0; i < 33; ++i) v += (xv[r * 33 + i] - m) * (xv[r * 33 + i] - m);
    v /= 33;
    for (int i = 0; i < 33; ++i)
      EXPECT_NEAR(zv[r * 33 + i], (xv[r * 33 + i] - m) / std::sqrt(v + 1e-5) * wv[i] + bv[i], 1e-5);
  }
  EXPECT_THROW(rms_norm(x, randn({32}, 1), 1e-5f, x), InvalidArgument);
  EXPECT_THROW(rms_norm(x, w, -1.f, x), InvalidArgument);
}

TEST(Activations, ParseHfNamesAndGatedMlp) {
  EXPECT_EQ(activation_from_string("silu"), Activation::SiLU);
  EXPECT_EQ(activation_from_string("swish"), Activation::SiLU);
  EXPECT_EQ(activation_from_string("gelu"), Activation::GELU);
  EXPECT_EQ(activation_from_string("gelu_new"), Activation::GELUTanh);
  EXPECT_EQ(activation_from_string("gelu_pytorch_tanh"), Activation::GELUTanh);
  EXPECT_EQ(activation_from_string("quick_gelu"), Activation::GELUQuick);
  EXPECT_EQ(activation_from_string("relu"), Activation::ReLU);
  EXPECT_NE(error_of([] { activation_from_string("mish"); }).find("\"mish\""), std::string::npos);

  const Tensor g = randn({3, 40}, 11), u = randn({3, 40}, 12);
  Tensor out = Tensor::empty(DType::F32, {3, 40});
  act_mul(g, u, Activation::SiLU, out);
  // Fused [gate | up] layout gives the same result.
  std::vector<float> gu;
  const auto gv = g.to_f32_vector(), uv = u.to_f32_vector();
  for (int r = 0; r < 3; ++r) {
    gu.insert(gu.end(), gv.begin() + r * 40, gv.begin() + (r + 1) * 40);
    gu.insert(gu.end(), uv.begin() + r * 40, uv.begin() + (r + 1) * 40);
  }
  Tensor fused_out = Tensor::empty(DType::F32, {3, 40});
  act_mul_fused(Tensor::from_vector(gu, {3, 80}), Activation::SiLU, fused_out);
  EXPECT_EQ(out.to_f32_vector(), fused_out.to_f32_vector());
  const auto ov = out.to_f32_vector();
  for (int i = 0; i < 120; ++i)
    EXPECT_NEAR(ov[i], gv[i] / (1 + std::exp(-double(gv[i]))) * uv[i], 1e-5);
  Tensor g2 = g.clone();
  act_inplace(g2, Activation::ReLU);
  for (float v : g2.to_f32_vector()) EXPECT_GE(v, 0.f);
  EXPECT_THROW(act_mul(g, randn({3, 41}, 1), Activation::SiLU, out), InvalidArgument);
  EXPECT_THROW(act_mul_fused(randn({3, 41}, 1), Activation::SiLU, out), InvalidArgument);
}

TEST(Elementwise, AddBiasScaleSoftmax) {
  Tensor x = randn({2, 5}, 13);
  const auto xv = x.to_f32_vector();
  const Tensor y = randn({2, 5}, 14);
  add_inplace(x, y);
  const auto yv = y.to_f32_vector();
  for (int i = 0; i < 10; ++i) EXPECT_FLOAT_EQ(x.to_f32_vector()[i], xv[i] + yv[i]);
  const Tensor b = randn({5}, 15);
  Tensor x2 = Tensor::from_vector(xv, {2, 5});
  add_bias_inplace(x2, b);
  for (int i = 0; i < 10; ++i)
    EXPECT_FLOAT_EQ(x2.to_f32_vector()[i], xv[i] + b.to_f32_vector()[i % 5]);
  scale_inplace(x2, 2.f);
  Tensor s = randn({3, 7}, 16);
  softmax_inplace(s);
  const auto sv = s.to_f32_vector();
  for (int r = 0; r < 3; ++r) {
    double sum = 0;
    for (int i = 0; i < 7; ++i) sum += sv[r * 7 + i];
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
  EXPECT_THROW(add_inplace(x, randn({3}, 1)), InvalidArgument);
  EXPECT_THROW(add_bias_inplace(x, randn({4}, 1)), InvalidArgument);
}

TEST(Profiler, RecordsSelfTimePerOp) {
  Profiler& p = Profiler::global();
  p.reset();
  p.set_enabled(true);
  {
    DF_PROFILE_OP("layer");
    const Tensor x = randn({4, 64}, 1);
    const Tensor w = randn({64, 64}, 2);
    for (int i = 0; i < 3; ++i) (void)linear(x, w);
  }
  p.set_enabled(false);
  (void)linear(randn({1, 4}, 1), randn({2, 4}, 2));  // not recorded while disabled
  const auto rows = p.rows();
  int64_t linear_calls = -1, layer_calls = -1;
  double share = 0;
  for (const auto& r : rows) {
    if (r.name == "linear") linear_calls = r.calls;
    if (r.name == "layer") layer_calls = r.calls;
    share += r.share;
    EXPECT_GE(r.total_ms, 0.0);
  }
  EXPECT_EQ(linear_calls, 3);
  EXPECT_EQ(layer_calls, 1);
  EXPECT_NEAR(share, 1.0, 1e-9);
  const std::string table = p.table();
  EXPECT_NE(table.find("linear"), std::string::npos);
  EXPECT_NE(table.find("Self time total"), std::string::npos);
  p.reset();
  EXPECT_TRUE(p.rows().empty());
}

}  // namespace
}  // namespace deepfuse::ops
