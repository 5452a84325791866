#include "core/dtype.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace deepfuse {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "float32";
    case DType::F16:
      return "float16";
    case DType::BF16:
      return "bfloat16";
    case DType::F8E4M3:
      return "float8_e4m3fn";
    case DType::I8:
      return "int8";
    case DType::I32:
      return "int32";
    case DType::I64:
      return "int64";
    case DType::U8:
      return "uint8";
    case DType::Bool:
      return "bool";
  }
  return "?";
}

const char* dtype_safetensors_name(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::F8E4M3:
      return "F8_E4M3";
    case DType::I8:
      return "I8";
    case DType::I32:
      return "I32";
    case DType::I64:
      return "I64";
    case DType::U8:
      return "U8";
    case DType::Bool:
      return "BOOL";
  }
  return "?";
}

bool dtype_from_safetensors(std::string_view s, DType* out) {
  static constexpr struct {
    std::string_view name;
    DType type;
  } kTable[] = {{"F32", DType::F32},        {"F16", DType::F16}, {"BF16", DType::BF16},
                {"F8_E4M3", DType::F8E4M3}, {"I8", DType::I8},   {"I32", DType::I32},
                {"I64", DType::I64},        {"U8", DType::U8},   {"BOOL", DType::Bool}};
  for (const auto& e : kTable) {
    if (e.name == s) {
      *out = e.type;
      return true;
    }
  }
  return false;
}

DType dtype_from_string(std::string_view s, std::string_view what) {
  static constexpr struct {
    std::string_view name;
    DType type;
  } kTable[] = {
      {"float32", DType::F32},
      {"fp32", DType::F32},
      {"f32", DType::F32},
      {"float", DType::F32},
      {"bfloat16", DType::BF16},
      {"bf16", DType::BF16},
      {"float16", DType::F16},
      {"fp16", DType::F16},
      {"f16", DType::F16},
      {"half", DType::F16},
      {"float8_e4m3fn", DType::F8E4M3},
      {"f8_e4m3", DType::F8E4M3},
      {"fp8", DType::F8E4M3},
      {"int8", DType::I8},
      {"int32", DType::I32},
      {"int64", DType::I64},
      {"uint8", DType::U8},
      {"bool", DType::Bool},
  };
  std::string_view v = s;
  if (v.substr(0, 6) == "torch.") v.remove_prefix(6);
  for (const auto& e : kTable)
    if (e.name == v) return e.type;
  throw InvalidArgument(std::string(what) + ": unknown dtype '" + std::string(s) +
                        "' (expected one of float32, bfloat16, float16, float8_e4m3fn)");
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (man << 13));  // inf / NaN
  if (exp == 0) {
    // Subnormal (or zero): value = man * 2^-24, exact in f32.
    const float v = static_cast<float>(man) * 5.9604644775390625e-08f;
    return sign ? -v : v;
  }
  return f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t f32_to_f16(float f) {
  const uint32_t u = f32_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u | static_cast<uint16_t>((a >> 13) & 0x3ffu);  // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520 -> inf
  if (a >= 0x38800000u) {
    // Normal half: rebias exponent (127 -> 15) and round the 13 dropped mantissa bits RNE.
    uint32_t r = a - (112u << 23);
    r += 0xfffu + ((r >> 13) & 1u);
    return sign | static_cast<uint16_t>(r >> 13);
  }
  // Subnormal half or zero: scale so the half ulp (2^-24) becomes 1 and round RNE in f32 space.
  // Adding 0.5f (2^-1) aligns the value's bits so that f32's own RNE performs the rounding.
  const float v = f32_from_bits(a) + 0.5f;
  return sign | static_cast<uint16_t>(f32_bits(v) - 0x3f000000u);
}

float f8e4m3_to_f32(uint8_t v) {
  const uint32_t sign = (v & 0x80u) << 24;
  const uint32_t exp = (v >> 3) & 0xf;
  const uint32_t man = v & 0x7u;
  if (exp == 0xf && man == 0x7) return f32_from_bits(sign | 0x7fc00000u);  // NaN
  if (exp == 0) {
    const float r = static_cast<float>(man) * 0.001953125f;  // man * 2^-9
    return sign ? -r : r;
  }
  return f32_from_bits(sign | ((exp + 120) << 23) | (man << 20));
}

uint8_t f32_to_f8e4m3(float f) {
  const uint32_t u = f32_bits(f);
  const uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7f;  // NaN
  // 480 = halfway between 448 (max finite) and the NaN encoding's would-be value: torch maps
  // everything that rounds beyond 448 (including inf) to NaN.
  if (a >= 0x43f00000u) return sign | 0x7f;
  if (a >= 0x3c800000u) {
    // Normal e4m3 (>= 2^-6): rebias exponent (127 -> 7) and round 20 dropped bits RNE.
    uint32_t r = a - (120u << 23);
    r += 0x7ffffu + ((r >> 20) & 1u);
    return sign | static_cast<uint8_t>(r >> 20);
  }
  // Subnormal e4m3 (or zero): ulp is 2^-9, so a * 2^9 (exact) is the mantissa count and
  // nearbyint rounds it RNE (the default floating-point environment). A count of 8 is the
  // smallest normal, whose encoding is also 8: the carry into the exponent is correct.
  const float scaled = f32_from_bits(a) * 512.0f;
  const float r = std::nearbyint(scaled);
  return sign | static_cast<uint8_t>(static_cast<uint32_t>(r));
}

namespace {

float load_float(const void* p, DType t, size_t i) {
  switch (t) {
    case DType::F32:
      return static_cast<const float*>(p)[i];
    case DType::F16:
      return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::BF16:
      return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::F8E4M3:
      return f8e4m3_to_f32(static_cast<const uint8_t*>(p)[i]);
    default:
      break;
  }
  throw InternalError("load_float on non-float dtype");
}

void store_float(void* p, DType t, size_t i, float v) {
  switch (t) {
    case DType::F32:
      static_cast<float*>(p)[i] = v;
      return;
    case DType::F16:
      static_cast<uint16_t*>(p)[i] = f32_to_f16(v);
      return;
    case DType::BF16:
      static_cast<uint16_t*>(p)[i] = f32_to_bf16(v);
      return;
    case DType::F8E4M3:
      static_cast<uint8_t*>(p)[i] = f32_to_f8e4m3(v);
      return;
    default:
      break;
  }
  throw InternalError("store_float on non-float dtype");
}

}  // namespace

void convert(const void* src, DType src_type, void* dst, DType dst_type, size_t n) {
  if (src_type == dst_type) {
    std::memcpy(dst, src, n * dtype_size(src_type));
    return;
  }
  if (!dtype_is_float(src_type) || !dtype_is_float(dst_type))
    throw Unsupported(std::string("conversion from ") + dtype_name(src_type) + " to " +
                      dtype_name(dst_type) + " (only between float types)");
  if (src_type == DType::BF16 && dst_type == DType::F32) {
    const auto* s = static_cast<const uint16_t*>(src);
    auto* d = static_cast<float*>(dst);
    for (size_t i = 0; i < n; ++i) d[i] = bf16_to_f32(s[i]);
    return;
  }
  for (size_t i = 0; i < n; ++i) store_float(dst, dst_type, i, load_float(src, src_type, i));
}

}  // namespace deepfuse
