// Exhaustive checks of the 16-bit and 8-bit float conversions against reference formulas:
// every encoding decodes to sign * 2^e * (1 + m / 2^M) (or the subnormal form), every finite
// value round-trips, and the exact midpoints between neighbours round to the even encoding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "core/dtype.h"
#include "core/error.h"

namespace deepfuse {
namespace {

// Reference decoder for a binary float with `e_bits` exponent bits, `m_bits` mantissa bits.
double ref_decode(uint32_t v, int e_bits, int m_bits, bool ieee_inf) {
  const uint32_t sign = (v >> (e_bits + m_bits)) & 1;
  const uint32_t exp = (v >> m_bits) & ((1u << e_bits) - 1);
  const uint32_t man = v & ((1u << m_bits) - 1);
  const int bias = (1 << (e_bits - 1)) - 1;
  const double s = sign ? -1.0 : 1.0;
  const uint32_t exp_max = (1u << e_bits) - 1;
  if (ieee_inf && exp == exp_max) return man ? NAN : s * INFINITY;
  if (exp == 0) return s * std::ldexp(static_cast<double>(man), 1 - bias - m_bits);
  return s * std::ldexp(1.0 + std::ldexp(static_cast<double>(man), -m_bits),
                        static_cast<int>(exp) - bias);
}

void expect_same(double ref, float got, uint32_t enc) {
  if (std::isnan(ref)) {
    EXPECT_TRUE(std::isnan(got)) << "encoding " << enc;
  } else {
    EXPECT_EQ(static_cast<float>(ref), got) << "encoding " << enc;
    EXPECT_EQ(std::signbit(ref), std::signbit(got)) << "encoding " << enc;
  }
}

TEST(DType, F16DecodeAll65536) {
  for (uint32_t h = 0; h < 65536; ++h)
    expect_same(ref_decode(h, 5, 10, true), f16_to_f32(static_cast<uint16_t>(h)), h);
}

TEST(DType, BF16DecodeAll65536) {
  for (uint32_t h = 0; h < 65536; ++h)
    expect_same(ref_decode(h, 8, 7, true), bf16_to_f32(static_cast<uint16_t>(h)), h);
}

TEST(DType, F8E4M3DecodeAll256) {
  for (uint32_t v = 0; v < 256; ++v) {
    const bool nan = (v & 0x7f) == 0x7f;  // e4m3fn: only S.1111.111 is NaN, no infinities
    const double ref = nan ? NAN : ref_decode(v, 4, 3, false);
    expect_same(ref, f8e4m3_to_f32(static_cast<uint8_t>(v)), v);
  }
  EXPECT_EQ(f8e4m3_to_f32(0x7e), 448.0f);
}

// For every pair of adjacent non-negative finite encodings (a, a+1): the values themselves
// round-trip; the exact midpoint rounds to the even one; one f32 ulp either side of the
// midpoint rounds to the nearer neighbour. Negative values are checked by symmetry.
template <typename Dec, typename Enc>
void check_rne(uint32_t max_finite, Dec dec, Enc enc) {
  for (uint32_t a = 0; a <= max_finite; ++a) {
    const float va = dec(a);
    ASSERT_EQ(enc(va), a) << "round trip of encoding " << a;
    ASSERT_EQ(enc(-va), a | (enc(-0.0f))) << "negative round trip of encoding " << a;
    if (a == max_finite) break;
    const float vb = dec(a + 1);
    const double mid_d = (static_cast<double>(va) + static_cast<double>(vb)) / 2;
    const float mid = static_cast<float>(mid_d);
    ASSERT_EQ(static_cast<double>(mid), mid_d) << "midpoint not exact in f32 at " << a;
    const uint32_t even = (a % 2 == 0) ? a : a + 1;
    ASSERT_EQ(enc(mid), even) << "tie between " << a << " and " << a + 1;
    ASSERT_EQ(enc(std::nextafter(mid, 0.0f)), a) << "below midpoint of " << a;
    ASSERT_EQ(enc(std::nextafter(mid, INFINITY)), a + 1) << "above midpoint of " << a;
  }
}

TEST(DType, F16EncodeRoundsToNearestEven) {
  check_rne(
      0x7bff, [](uint32_t h) { return f16_to_f32(static_cast<uint16_t>(h)); },
      [](float f) { return static_cast<uint32_t>(f32_to_f16(f)); });
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // halfway past max finite rounds to inf
  EXPECT_EQ(f32_to_f16(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(f32_to_f16(INFINITY), 0x7c00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  EXPECT_EQ(f32_to_f16(1e-9f), 0);  // below half the smallest subnormal
}

TEST(DType, BF16EncodeRoundsToNearestEven) {
  check_rne(
      0x7f7f, [](uint32_t h) { return bf16_to_f32(static_cast<uint16_t>(h)); },
      [](float f) { return static_cast<uint32_t>(f32_to_bf16(f)); });
  EXPECT_EQ(f32_to_bf16(INFINITY), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST(DType, F8E4M3EncodeRoundsToNearestEven) {
  check_rne(
      0x7e, [](uint32_t v) { return f8e4m3_to_f32(static_cast<uint8_t>(v)); },
      [](float f) { return static_cast<uint32_t>(f32_to_f8e4m3(f)); });
  // Like torch.float8_e4m3fn: values rounding beyond 448 (and inf) become NaN, not saturated.
  EXPECT_EQ(f32_to_f8e4m3(464.0f), 0x7e);  // tie between 448 and 480 -> even (448)
  EXPECT_EQ(f32_to_f8e4m3(480.0f), 0x7f);
  EXPECT_EQ(f32_to_f8e4m3(INFINITY), 0x7f);
  EXPECT_EQ(f32_to_f8e4m3(-1000.0f), 0xff);
}

TEST(DType, ConvertBuffers) {
  const float src[4] = {1.0f, -2.5f, 3.140625f, 0.0f};
  uint16_t bf[4];
  convert(src, DType::F32, bf, DType::BF16, 4);
  float back[4];
  convert(bf, DType::BF16, back, DType::F32, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(back[i], src[i]);
  int32_t ints[4];
  EXPECT_THROW(convert(src, DType::F32, ints, DType::I32, 4), Unsupported);
}

TEST(DType, Names) {
  DType t;
  ASSERT_TRUE(dtype_from_safetensors("F8_E4M3", &t));
  EXPECT_EQ(t, DType::F8E4M3);
  EXPECT_FALSE(dtype_from_safetensors("F4", &t));
  EXPECT_EQ(dtype_from_string("torch.bfloat16", "dtype"), DType::BF16);
  EXPECT_THROW(dtype_from_string("float13", "dtype"), InvalidArgument);
}

}  // namespace
}  // namespace deepfuse
