#include "layers/rope.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/json_fields.h"

namespace deepfuse {

namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> default_inv_freq(double theta, int64_t dim) {
  std::vector<float> inv(static_cast<size_t>(dim / 2));
  const float base = static_cast<float>(theta);
  for (int64_t i = 0; i < dim; i += 2) {
    const float e = static_cast<float>(i) / static_cast<float>(dim);
    inv[static_cast<size_t>(i / 2)] = 1.0f / std::pow(base, e);
  }
  return inv;
}

}  // namespace

const char* rope_type_name(RopeType t) {
  switch (t) {
    case RopeType::Default:
      return "default";
    case RopeType::Linear:
      return "linear";
    case RopeType::Dynamic:
      return "dynamic";
    case RopeType::Llama3:
      return "llama3";
    case RopeType::Yarn:
      return "yarn";
  }
  return "?";
}

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

RopeConfig rope_config_from_params(const RopeParams& p, int64_t head_dim,
                                   int64_t max_position_embeddings, const std::string& where) {
  RopeConfig c;
  c.head_dim = head_dim;
  c.theta = p.theta;
  c.partial_rotary_factor = p.partial_rotary_factor;
  c.max_position_embeddings = max_position_embeddings;
  if (p.type == "default")
    c.type = RopeType::Default;
  else if (p.type == "linear")
    c.type = RopeType::Linear;
  else if (p.type == "dynamic")
    c.type = RopeType::Dynamic;
  else if (p.type == "llama3")
    c.type = RopeType::Llama3;
  else if (p.type == "yarn")
    c.type = RopeType::Yarn;
  else
    throw Unsupported(where + ": rope type '" + p.type +
                      "' is not supported (expected default, linear, dynamic, llama3 or yarn)");
  if (c.type != RopeType::Default) c.factor = p.factor;
  c.original_max_position_embeddings = p.original_max_position_embeddings;
  c.low_freq_factor = p.low_freq_factor;
  c.high_freq_factor = p.high_freq_factor;
  c.attention_factor = p.attention_factor;
  c.beta_fast = p.beta_fast;
  c.beta_slow = p.beta_slow;
  c.mscale = p.mscale;
  c.mscale_all_dim = p.mscale_all_dim;
  c.truncate = p.truncate;
  return c;
}

RopeConfig rope_config_from_json(const nlohmann::json& config, int64_t head_dim) {
  DF_CHECK(config.is_object(), FormatError, "config.json must be a JSON object");
  const JsonFields f(config, "config.json");
  return rope_config_from_params(parse_rope_params(f), head_dim,
                                 f.get_int("max_position_embeddings", 0), "config.json");
}

RopeFrequencies rope_frequencies(const RopeConfig& cfg, int64_t seq_len) {
  const int64_t dim = cfg.rot_dim();
  DF_CHECK(dim >= 2 && dim % 2 == 0, InvalidArgument,
           "rope: rotary dimension int(head_dim " << cfg.head_dim << " * partial_rotary_factor "
                                                  << cfg.partial_rotary_factor << ") = " << dim
                                                  << " must be a positive even number");
  DF_CHECK(cfg.theta > 0, InvalidArgument, "rope: rope_theta must be > 0, got " << cfg.theta);
  const double factor = cfg.factor.value_or(1.0);
  if (cfg.type != RopeType::Default && cfg.type != RopeType::Yarn)
    DF_CHECK(factor > 0, InvalidArgument, "rope: factor must be > 0, got " << factor);
  const int64_t orig = cfg.original_max_position_embeddings > 0
                           ? cfg.original_max_position_embeddings
                           : cfg.max_position_embeddings;
  RopeFrequencies t;
  switch (cfg.type) {
    case RopeType::Default:
      t.inv_freq = default_inv_freq(cfg.theta, dim);
      break;
    case RopeType::Linear: {
      t.inv_freq = default_inv_freq(cfg.theta, dim);
      const float f = static_cast<float>(factor);
      for (float& v : t.inv_freq) v /= f;
      break;
    }
    case RopeType::Dynamic: {
      double base = cfg.theta;
      const int64_t max_pos = cfg.max_position_embeddings;
      if (max_pos > 0 && seq_len > max_pos) {
        const double ratio =
            factor * static_cast<double>(seq_len) / static_cast<double>(max_pos) - (factor - 1.0);
        base = base * std::pow(ratio, static_cast<double>(dim) / static_cast<double>(dim - 2));
      }
      t.inv_freq = default_inv_freq(base, dim);
      break;
    }
    case RopeType::Llama3: {
      DF_CHECK(orig > 0, InvalidArgument,
               "rope: llama3 needs original_max_position_embeddings > 0");
      DF_CHECK(cfg.high_freq_factor != cfg.low_freq_factor, InvalidArgument,
               "rope: llama3 high_freq_factor must differ from low_freq_factor");
      t.inv_freq = default_inv_freq(cfg.theta, dim);
      const float f = static_cast<float>(factor);
      const float low_wavelen = static_cast<float>(static_cast<double>(orig) / cfg.low_freq_factor);
      const float high_wavelen =
          static_cast<float>(static_cast<double>(orig) / cfg.high_freq_factor);
      const float two_pi = static_cast<float>(2 * kPi);
      for (float& inv : t.inv_freq) {
        const float wavelen = two_pi / inv;
        float v = wavelen > low_wavelen ? inv / f : inv;
        const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
        if (medium) {
          const float s =
              (static_cast<float>(orig) / wavelen - static_cast<float>(cfg.low_freq_factor)) /
              static_cast<float>(cfg.high_freq_factor - cfg.low_freq_factor);
          v = (1.f - s) * v / f + s * v;
        }
        inv = v;
      }
      break;
    }
    case RopeType::Yarn: {
      DF_CHECK(orig > 0, InvalidArgument, "rope: yarn needs original_max_position_embeddings > 0");
      const double yf =
          cfg.factor ? *cfg.factor
                     : static_cast<double>(cfg.max_position_embeddings) / static_cast<double>(orig);
      DF_CHECK(yf > 0, InvalidArgument, "rope: yarn factor must be > 0, got " << yf);
      const double beta_fast = cfg.beta_fast && *cfg.beta_fast != 0 ? *cfg.beta_fast : 32.0;
      const double beta_slow = cfg.beta_slow && *cfg.beta_slow != 0 ? *cfg.beta_slow : 1.0;
      auto correction_dim = [&](double rotations) {
        return (static_cast<double>(dim) *
                std::log(static_cast<double>(orig) / (rotations * 2 * kPi))) /
               (2 * std::log(cfg.theta));
      };
      double low = correction_dim(beta_fast);
      double high = correction_dim(beta_slow);
      if (cfg.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, static_cast<double>(dim - 1));
      if (low == high) high += 0.001;
      const float lowf = static_cast<float>(low);
      const float span = static_cast<float>(high - low);
      const float base = static_cast<float>(cfg.theta);
      const float ff = static_cast<float>(yf);
      t.inv_freq.resize(static_cast<size_t>(dim / 2));
      for (int64_t j = 0; j < dim / 2; ++j) {
        const float pos = std::pow(base, static_cast<float>(2 * j) / static_cast<float>(dim));
        const float extrap = 1.0f / pos;
        const float interp = 1.0f / (ff * pos);
        float ramp = (static_cast<float>(j) - lowf) / span;
        ramp = ramp < 0.f ? 0.f : (ramp > 1.f ? 1.f : ramp);
        const float e = 1.f - ramp;
        t.inv_freq[static_cast<size_t>(j)] = interp * (1.f - e) + extrap * e;
      }
      double att;
      if (cfg.attention_factor) {
        att = *cfg.attention_factor;
      } else if (cfg.mscale && *cfg.mscale != 0 && cfg.mscale_all_dim && *cfg.mscale_all_dim != 0) {
        att = yarn_get_mscale(yf, *cfg.mscale) / yarn_get_mscale(yf, *cfg.mscale_all_dim);
      } else {
        att = yarn_get_mscale(yf, 1.0);
      }
      t.attention_scaling = static_cast<float>(att);
      break;
    }
  }
  return t;
}

double deepseek_softmax_scale(const RopeConfig& cfg, int64_t qk_head_dim) {
  DF_CHECK(qk_head_dim > 0, InvalidArgument, "deepseek softmax scale: qk_head_dim must be > 0");
  double scale = 1.0 / std::sqrt(static_cast<double>(qk_head_dim));
  if (cfg.type != RopeType::Default && cfg.mscale_all_dim && *cfg.mscale_all_dim != 0) {
    const double m = yarn_get_mscale(cfg.factor.value_or(1.0), *cfg.mscale_all_dim);
    scale = scale * m * m;
  }
  return scale;
}

}  // namespace deepfuse
