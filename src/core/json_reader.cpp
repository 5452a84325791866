#include "core/json_reader.h"

#include <simdjson.h>

#include "core/error.h"
#include "core/mapped_file.h"

namespace deepfuse {

struct JsonReader::Impl {
  simdjson::dom::parser parser;
  size_t allocated_capacity = 0;
};

namespace {

// Copies a simdjson DOM value into an nlohmann value. Recursion depth is bounded by the parser's
// max_depth (simdjson rejects deeper documents before this runs).
template <class Json>
void convert(simdjson::dom::element e, Json* out) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      *out = Json::object();
      // Copied out of the result first: value_unsafe() refers into the temporary result.
      const simdjson::dom::object obj = e.get_object().value_unsafe();
      for (auto field : obj) {
        Json& slot = (*out)[std::string(field.key)];  // a repeated key keeps the last value
        convert(field.value, &slot);
      }
      break;
    }
    case element_type::ARRAY: {
      const simdjson::dom::array arr = e.get_array().value_unsafe();
      *out = Json::array();
      out->template get_ref<typename Json::array_t&>().reserve(arr.size());
      for (auto v : arr) {
        out->emplace_back();
        convert(v, &out->back());
      }
      break;
    }
    case element_type::STRING:
      *out = std::string(e.get_string().value_unsafe());
      break;
    case element_type::INT64: {
      // nlohmann::json::parse stores non-negative integers as unsigned; callers test for that.
      const int64_t v = e.get_int64().value_unsafe();
      if (v >= 0)
        *out = static_cast<uint64_t>(v);
      else
        *out = v;
      break;
    }
    case element_type::UINT64:
      *out = e.get_uint64().value_unsafe();
      break;
    case element_type::DOUBLE:
      *out = e.get_double().value_unsafe();
      break;
    case element_type::BOOL:
      *out = e.get_bool().value_unsafe();
      break;
    case element_type::NULL_VALUE:
      *out = nullptr;
      break;
  }
}

}  // namespace

JsonReader::JsonReader(JsonLimits limits) : limits_(limits), impl_(std::make_unique<Impl>()) {}
JsonReader::~JsonReader() = default;

namespace {

// simdjson rejects integers beyond 64 bits, which transformers writes (model_max_length
// 1000000000000000019884624838656 in Llama tokenizer_config.json files) and nlohmann reads as a
// double. Such documents are re-read by nlohmann (an iterative parser: deep input cannot
// overflow its stack), with the same depth limit enforced by its callback.
template <class Json>
Json parse_big_numbers(std::string_view text, const std::string& source, const JsonLimits& lim) {
  const auto too_deep = [&](int depth, typename Json::parse_event_t, Json&) {
    if (static_cast<size_t>(depth) > lim.max_depth)
      throw FormatError(source + ": JSON nested deeper than " + std::to_string(lim.max_depth) +
                        " levels (starts \"" + excerpt(text, 40) + "\")");
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), too_deep);
  } catch (const typename Json::exception& e) {  // parse_error, or out_of_range (overflow)
    throw FormatError(source + ": invalid JSON (" + excerpt(e.what(), 120) + ")");
  }
}

template <class Json>
Json parse_impl(simdjson::dom::parser& parser, size_t& allocated_capacity, const JsonLimits& lim,
                std::string_view text, const std::string& source) {
  if (text.size() > lim.max_bytes)
    throw FormatError(source + ": JSON document of " + std::to_string(text.size()) +
                      " bytes is larger than the limit of " + std::to_string(lim.max_bytes) +
                      " bytes");
  // simdjson needs its buffer to cover the document; the depth limit is fixed at allocation.
  // Small documents share one minimum-size allocation so a stream of short lines allocates once.
  const size_t want = std::max<size_t>(text.size(), 4096);
  if (allocated_capacity < want) {
    // simdjson counts the document itself as one level; ours counts arrays and objects only.
    if (parser.allocate(want, lim.max_depth + 1) != simdjson::SUCCESS)
      throw OutOfMemory(source + ": cannot allocate the JSON parser for " +
                        std::to_string(text.size()) + " bytes");
    allocated_capacity = want;
  }
  simdjson::padded_string padded(text);  // simdjson reads up to 64 bytes past the end
  simdjson::dom::element root;
  const auto err = parser.parse(padded).get(root);
  if (err == simdjson::DEPTH_ERROR)
    throw FormatError(source + ": JSON nested deeper than " + std::to_string(lim.max_depth) +
                      " levels (starts \"" + excerpt(text, 40) + "\")");
  if (err == simdjson::EMPTY) throw FormatError(source + ": empty input where JSON was expected");
  if (err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE)
    return parse_big_numbers<Json>(text, source, lim);
  if (err)
    throw FormatError(source + ": invalid JSON (" + simdjson::error_message(err) +
                      "; input starts \"" + excerpt(text, 40) + "\")");
  Json out;
  convert(root, &out);
  return out;
}

}  // namespace

nlohmann::json JsonReader::parse(std::string_view text, const std::string& source) {
  return parse_impl<nlohmann::json>(impl_->parser, impl_->allocated_capacity, limits_, text,
                                    source);
}

nlohmann::ordered_json JsonReader::parse_ordered(std::string_view text, const std::string& source) {
  return parse_impl<nlohmann::ordered_json>(impl_->parser, impl_->allocated_capacity, limits_, text,
                                            source);
}

nlohmann::json parse_json(std::string_view text, const std::string& source,
                          const JsonLimits& limits) {
  JsonReader reader(limits);
  return reader.parse(text, source);
}

nlohmann::json load_json_file(const std::string& path, const JsonLimits& limits) {
  const std::string text = read_file(path);
  return parse_json(text, path, limits);
}

std::string excerpt(std::string_view text, size_t max_chars) {
  if (text.size() <= max_chars) return std::string(text);
  size_t cut = max_chars;
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

namespace {

// Appends a compact dump of `v` to `out`, stopping once `out` holds more than `budget` bytes,
// so a huge value costs only what is shown.
void bounded_dump(const nlohmann::json& v, size_t budget, std::string* out) {
  if (out->size() > budget) return;
  if (v.is_array()) {
    out->push_back('[');
    bool first = true;
    for (const auto& x : v) {
      if (out->size() > budget) return;
      if (!first) out->push_back(',');
      first = false;
      bounded_dump(x, budget, out);
    }
    out->push_back(']');
  } else if (v.is_object()) {
    out->push_back('{');
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out->size() > budget) return;
      if (!first) out->push_back(',');
      first = false;
      *out += nlohmann::json(it.key()).dump();
      out->push_back(':');
      bounded_dump(it.value(), budget, out);
    }
    out->push_back('}');
  } else if (v.is_string() && v.get_ref<const std::string&>().size() > budget) {
    *out += "\"" + excerpt(v.get_ref<const std::string&>(), budget) + "\"";
  } else {
    *out += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace

std::string json_excerpt(const nlohmann::json& value, size_t max_chars) {
  std::string s;
  bounded_dump(value, max_chars, &s);
  return excerpt(s, max_chars);
}

}  // namespace deepfuse
