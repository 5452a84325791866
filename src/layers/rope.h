// Rotary position embedding variants, computed exactly as transformers' modeling_rope_utils.py
// does (transformers 5; the Hub's `rope_scaling` and transformers 5's `rope_parameters` config
// dialects both parse). Produces inv_freq [rot_dim / 2] and the attention scaling that
// multiplies cos/sin; ops::rope_angles / ops::rope_inplace apply them.
//
// Formulas (f32 unless noted; i = 0, 2, ..., rot_dim - 2; rot_dim = int(head_dim * partial)):
//   default:  inv[i/2] = 1 / theta^(f32(i) / rot_dim)                       (powf, f32 divide)
//   linear:   default / factor
//   dynamic:  when seq_len > max_position_embeddings, theta' = theta * (factor * seq_len /
//             max_pos - (factor - 1))^(rot_dim / (rot_dim - 2)) (double), then default with
//             theta'; otherwise default. (HF's module state resets the same way.)
//   llama3:   wavelen = 2*pi / inv; wavelen > orig/low_freq_factor -> inv / factor;
//             wavelen < orig/high_freq_factor -> inv; in between
//             s = (orig / wavelen - low) / (high - low), inv' = (1 - s) * inv / factor + s * inv
//   yarn:     pos = theta^(f32(i) / rot_dim); extrap = 1 / pos; interp = 1 / (factor * pos);
//             d(r) = rot_dim * ln(orig / (r * 2*pi)) / (2 ln theta) (double);
//             low = max(floor(d(beta_fast)), 0), high = min(ceil(d(beta_slow)), rot_dim - 1)
//             (no floor/ceil when truncate = false); ramp_j = clamp((j - low) / (high - low), 0, 1)
//             (high += 0.001 when equal); e = 1 - ramp; inv = interp * (1 - e) + extrap * e.
//             attention_scaling = attention_factor if given, else
//             get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim) when both are
//             set and non-zero, else get_mscale(factor); get_mscale(s, m) = 0.1 m ln(s) + 1
//             (1 when s <= 1). factor defaults to max_pos / orig when absent.
// DeepSeek-V2/V3 also scale the softmax: qk_head_dim^-0.5 * mscale^2 with
// mscale = get_mscale(factor, mscale_all_dim) when rope_type != default and mscale_all_dim != 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "formats/hf_config.h"

namespace deepfuse {

enum class RopeType { Default, Linear, Dynamic, Llama3, Yarn };

struct RopeConfig {
  RopeType type = RopeType::Default;
  double theta = 10000.0;
  int64_t head_dim = 0;                // dims per head the rotary part is taken from
  double partial_rotary_factor = 1.0;  // rot_dim = int(head_dim * partial_rotary_factor)
  int64_t max_position_embeddings = 0;
  std::optional<double> factor;                  // linear, dynamic, llama3, yarn
  int64_t original_max_position_embeddings = 0;  // llama3, yarn (0 = max_position_embeddings)
  double low_freq_factor = 1.0;                  // llama3
  double high_freq_factor = 4.0;                 // llama3
  std::optional<double> attention_factor;        // yarn
  std::optional<double> beta_fast;               // yarn (default 32)
  std::optional<double> beta_slow;               // yarn (default 1)
  std::optional<double> mscale;                  // yarn
  std::optional<double> mscale_all_dim;          // yarn; DeepSeek softmax scale
  bool truncate = true;                          // yarn

  int64_t rot_dim() const {
    return static_cast<int64_t>(static_cast<double>(head_dim) * partial_rotary_factor);
  }
};

struct RopeFrequencies {
  std::vector<float> inv_freq;    // [rot_dim / 2]
  float attention_scaling = 1.f;  // multiplies cos and sin
};

const char* rope_type_name(RopeType t);

// Reads RoPE settings from a parsed config.json through formats' parse_rope_params (the one
// parser of `rope_parameters` (transformers 5) / `rope_scaling` (Hub), `rope_theta`,
// `partial_rotary_factor`, `original_max_position_embeddings`) plus `max_position_embeddings`.
// `head_dim` is the per-head size RoPE applies to (DeepSeek: qk_rope_head_dim).
// FormatError naming the field for malformed values; Unsupported for other rope types.
RopeConfig rope_config_from_json(const nlohmann::json& config, int64_t head_dim);

// The same settings from formats' dialect-normalised RopeParams (what the model families'
// config parsers produce). `head_dim` is the per-head size RoPE applies to; the params'
// partial_rotary_factor is kept. Unsupported (naming `where`) for rope types other than
// default, linear, dynamic, llama3 and yarn.
RopeConfig rope_config_from_params(const RopeParams& p, int64_t head_dim,
                                   int64_t max_position_embeddings, const std::string& where);

// inv_freq and attention scaling. `seq_len` (max position + 1 in the step) matters only for
// dynamic scaling. InvalidArgument for inconsistent settings (odd/zero rot_dim, factor < 1...).
RopeFrequencies rope_frequencies(const RopeConfig& cfg, int64_t seq_len = 0);

// 0.1 * mscale * ln(scale) + 1, or 1 when scale <= 1 (transformers' yarn get_mscale).
double yarn_get_mscale(double scale, double mscale);

// DeepSeek-V2/V3 softmax scale: qk_head_dim^-0.5, times mscale^2 for scaled rope with a
// non-zero mscale_all_dim (modeling_deepseek_v3.py).
double deepseek_softmax_scale(const RopeConfig& cfg, int64_t qk_head_dim);

}  // namespace deepfuse
