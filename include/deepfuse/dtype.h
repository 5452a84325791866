// Element types and exact scalar conversions.
//
// Conversions to narrower float types round to nearest, ties to even (RNE), as torch does.
// f8_e4m3 is the "fn" variant used by DeepSeek-V3 checkpoints (torch.float8_e4m3fn): no
// infinities, 0x7F/0xFF are NaN, largest finite value 448. Like torch, values whose rounded
// magnitude would exceed 448 become NaN (no saturation).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace deepfuse {

enum class DType : uint8_t { F32, F16, BF16, F8E4M3, I8, I32, I64, U8, Bool };

// Bytes per element.
constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32:
      return 4;
    case DType::F16:
      return 2;
    case DType::BF16:
      return 2;
    case DType::F8E4M3:
      return 1;
    case DType::I8:
      return 1;
    case DType::I32:
      return 4;
    case DType::I64:
      return 8;
    case DType::U8:
      return 1;
    case DType::Bool:
      return 1;
  }
  return 0;
}

constexpr bool dtype_is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F8E4M3;
}

// Lower-case name as torch prints it: "float32", "bfloat16", "float8_e4m3fn", ...
const char* dtype_name(DType t);
// Name used in safetensors headers: "F32", "BF16", "F8_E4M3", ...
const char* dtype_safetensors_name(DType t);
// Parses a safetensors dtype string; returns false when unknown.
bool dtype_from_safetensors(std::string_view s, DType* out);
// Parses user/config spellings: "float32", "fp32", "f32", "bfloat16", "bf16", "float16", "fp16",
// "half", "float8_e4m3fn", ... Throws InvalidArgument naming `what` when unknown.
DType dtype_from_string(std::string_view s, std::string_view what);

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// ---- bfloat16: the top 16 bits of an f32 ----
inline float bf16_to_f32(uint16_t h) {
  return f32_from_bits(static_cast<uint32_t>(h) << 16);
}
inline uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even on the dropped 16 bits
  return static_cast<uint16_t>(u >> 16);
}

// ---- IEEE binary16 ----
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// ---- float8 e4m3fn ----
float f8e4m3_to_f32(uint8_t v);
uint8_t f32_to_f8e4m3(float f);

// Converts `n` elements between float dtypes (any of F32/F16/BF16/F8E4M3) or identical dtypes.
// Throws Unsupported for other pairs.
void convert(const void* src, DType src_type, void* dst, DType dst_type, size_t n);

}  // namespace deepfuse
