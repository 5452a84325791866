// RoPE frequency tables against transformers' formulas (modeling_rope_utils.py), re-derived
// here in double precision; config parsing for both config dialects.
// Tolerance: 2e-6 relative (the tables are computed in f32 as transformers does).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "layers/rope.h"

namespace deepfuse {
namespace {

using nlohmann::json;

void expect_rel(const std::vector<float>& got, const std::vector<double>& want, double tol = 2e-6) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::fabs(want[i])) << "index " << i;
}

std::vector<double> default_inv(double theta, int dim) {
  std::vector<double> v;
  for (int i = 0; i < dim; i += 2) v.push_back(1.0 / std::pow(theta, double(i) / dim));
  return v;
}

TEST(RopeFrequencies, DefaultKnownValues) {
  RopeConfig c;
  c.head_dim = 64;
  c.theta = 10000;
  const RopeFrequencies t = rope_frequencies(c);
  ASSERT_EQ(t.inv_freq.size(), 32u);
  EXPECT_FLOAT_EQ(t.inv_freq[0], 1.0f);
  EXPECT_NEAR(t.inv_freq[1], 0.7498942093324559, 1e-7);      // 10000^(-2/64)
  EXPECT_NEAR(t.inv_freq[31], 1.333521432163324e-4, 1e-10);  // 10000^(-62/64)
  EXPECT_EQ(t.attention_scaling, 1.f);
  expect_rel(t.inv_freq, default_inv(10000, 64));
}

TEST(RopeFrequencies, PartialRotaryAndLinear) {
  RopeConfig c;
  c.head_dim = 80;
  c.partial_rotary_factor = 0.5;
  c.theta = 1e6;
  c.type = RopeType::Linear;
  c.factor = 4.0;
  const RopeFrequencies t = rope_frequencies(c);
  std::vector<double> want = default_inv(1e6, 40);
  for (double& v : want) v /= 4;
  expect_rel(t.inv_freq, want);
}

TEST(RopeFrequencies, DynamicNtkOnlyBeyondMaxPositions) {
  RopeConfig c;
  c.head_dim = 32;
  c.type = RopeType::Dynamic;
  c.factor = 2.0;
  c.max_position_embeddings = 100;
  expect_rel(rope_frequencies(c, 50).inv_freq, default_inv(10000, 32));
  expect_rel(rope_frequencies(c, 100).inv_freq, default_inv(10000, 32));
  // seq_len 300: base = 10000 * (2 * 300 / 100 - 1)^(32 / 30)
  const double base = 10000 * std::pow(5.0, 32.0 / 30.0);
  expect_rel(rope_frequencies(c, 300).inv_freq, default_inv(base, 32), 4e-6);
}

TEST(RopeFrequencies, Llama3) {
  // Llama-3.1-8B: theta 500000, factor 8, low 1, high 4, original 8192, head_dim 128.
  RopeConfig c;
  c.head_dim = 128;
  c.theta = 500000;
  c.type = RopeType::Llama3;
  c.factor = 8;
  c.low_freq_factor = 1;
  c.high_freq_factor = 4;
  c.original_max_position_embeddings = 8192;
  c.max_position_embeddings = 131072;
  std::vector<double> want;
  int scaled = 0, kept = 0, smoothed = 0;
  for (double inv : default_inv(500000, 128)) {
    const double wavelen = 2 * M_PI / inv;
    if (wavelen < 8192.0 / 4) {
      want.push_back(inv);
      ++kept;
    } else if (wavelen > 8192.0 / 1) {
      want.push_back(inv / 8);
      ++scaled;
    } else {
      const double s = (8192 / wavelen - 1) / (4 - 1);
      want.push_back((1 - s) * inv / 8 + s * inv);
      ++smoothed;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(scaled, 0);
  EXPECT_GT(smoothed, 0);
  expect_rel(rope_frequencies(c).inv_freq, want, 4e-6);
}

// transformers' _compute_yarn_parameters in double.
std::vector<double> yarn_ref(double theta, int dim, double factor, double orig, double beta_fast,
                             double beta_slow) {
  auto corr = [&](double r) {
    return dim * std::log(orig / (r * 2 * M_PI)) / (2 * std::log(theta));
  };
  double low = std::max(std::floor(corr(beta_fast)), 0.0);
  double high = std::min(std::ceil(corr(beta_slow)), double(dim - 1));
  if (low == high) high += 0.001;
  std::vector<double> out;
  for (int j = 0; j < dim / 2; ++j) {
    const double pos = std::pow(theta, 2.0 * j / dim);
    const double ramp = std::clamp((j - low) / (high - low), 0.0, 1.0);
    const double e = 1 - ramp;
    out.push_back(1 / (factor * pos) * (1 - e) + 1 / pos * e);
  }
  return out;
}

TEST(RopeFrequencies, YarnDeepSeekV2Lite) {
  // DeepSeek-V2-Lite rope_scaling: factor 40, original 4096, beta 32/1, mscale 0.707 both.
  const json cfg = {{"max_position_embeddings", 163840},
                    {"rope_theta", 10000},
                    {"rope_scaling",
                     {{"type", "yarn"},
                      {"factor", 40},
                      {"original_max_position_embeddings", 4096},
                      {"beta_fast", 32},
                      {"beta_slow", 1},
                      {"mscale", 0.707},
                      {"mscale_all_dim", 0.707}}}};
  const RopeConfig c = rope_config_from_json(cfg, 64);
  EXPECT_EQ(c.type, RopeType::Yarn);
  const RopeFrequencies t = rope_frequencies(c);
  expect_rel(t.inv_freq, yarn_ref(10000, 64, 40, 4096, 32, 1), 4e-6);
  EXPECT_FLOAT_EQ(t.attention_scaling, 1.0f);  // mscale / mscale_all_dim cancel
  // Softmax scale: 192^-0.5 * (0.1 * 0.707 * ln 40 + 1)^2.
  const double m = 0.1 * 0.707 * std::log(40.0) + 1;
  EXPECT_NEAR(deepseek_softmax_scale(c, 192), m * m / std::sqrt(192.0), 1e-12);
}

TEST(RopeFrequencies, YarnQwenStyleAttentionFactor) {
  const json cfg = {
      {"max_position_embeddings", 32768},
      {"rope_theta", 1000000.0},
      {"rope_parameters",
       {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}}}};
  const RopeConfig c = rope_config_from_json(cfg, 128);
  const RopeFrequencies t = rope_frequencies(c);
  EXPECT_NEAR(t.attention_scaling, 0.1 * std::log(4.0) + 1, 1e-7);
  expect_rel(t.inv_freq, yarn_ref(1e6, 128, 4, 32768, 32, 1), 4e-6);
  // Without scaled rope the DeepSeek softmax scale is plain 1/sqrt(d).
  RopeConfig plain;
  plain.head_dim = 64;
  EXPECT_DOUBLE_EQ(deepseek_softmax_scale(plain, 192), 1 / std::sqrt(192.0));
}

TEST(RopeConfigJson, BothDialects) {
  // Hub: rope_theta at top level, rope_scaling with "type".
  const json hub = {{"rope_theta", 500000.0},
                    {"max_position_embeddings", 131072},
                    {"rope_scaling",
                     {{"rope_type", "llama3"},
                      {"factor", 8.0},
                      {"low_freq_factor", 1.0},
                      {"high_freq_factor", 4.0},
                      {"original_max_position_embeddings", 8192}}}};
  // transformers 5: everything inside rope_parameters.
  const json v5 = {{"max_position_embeddings", 131072},
                   {"rope_parameters",
                    {{"rope_type", "llama3"},
                     {"rope_theta", 500000.0},
                     {"factor", 8.0},
                     {"low_freq_factor", 1.0},
                     {"high_freq_factor", 4.0},
                     {"original_max_position_embeddings", 8192}}}};
  const RopeFrequencies a = rope_frequencies(rope_config_from_json(hub, 128));
  const RopeFrequencies b = rope_frequencies(rope_config_from_json(v5, 128));
  EXPECT_EQ(a.inv_freq, b.inv_freq);
  const RopeConfig none =
      rope_config_from_json({{"rope_scaling", nullptr}, {"partial_rotary_factor", 0.25}}, 64);
  EXPECT_EQ(none.type, RopeType::Default);
  EXPECT_EQ(none.rot_dim(), 16);
  EXPECT_EQ(none.theta, 10000.0);
}

TEST(RopeConfigJson, BadValuesAreTypedErrors) {
  EXPECT_THROW(rope_config_from_json({{"rope_scaling", {{"type", "linear"}, {"factor", "2"}}}}, 64),
               FormatError);
  EXPECT_THROW(rope_config_from_json({{"rope_scaling", {{"type", "linear"}}}}, 64), FormatError);
  EXPECT_THROW(rope_config_from_json({{"rope_scaling", {{"type", "longrope"}}}}, 64), Unsupported);
  EXPECT_THROW(rope_config_from_json({{"rope_scaling", {{"type", "llama3"}, {"factor", 8}}}}, 64),
               FormatError);
  EXPECT_THROW(rope_config_from_json({{"rope_scaling", 3}}, 64), FormatError);
  EXPECT_THROW(rope_config_from_json(json::array(), 64), FormatError);
  RopeConfig odd;
  odd.head_dim = 7;
  EXPECT_THROW(rope_frequencies(odd), InvalidArgument);
  RopeConfig yarn;
  yarn.head_dim = 64;
  yarn.type = RopeType::Yarn;
  yarn.factor = 4;
  EXPECT_THROW(rope_frequencies(yarn), InvalidArgument);  // no original max positions
}

}  // namespace
}  // namespace deepfuse
