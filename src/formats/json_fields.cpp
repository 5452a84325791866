#include "formats/json_fields.h"

#include <cmath>

#include "core/error.h"
#include "core/json_reader.h"
#include "core/mapped_file.h"

namespace deepfuse {

using Json = nlohmann::json;

JsonFields::JsonFields(const Json& j, std::string file, std::string prefix)
    : j_(&j), file_(std::move(file)), prefix_(std::move(prefix)) {
  if (!j.is_object())
    throw FormatError(file_ + ": expected a JSON object" +
                      (prefix_.empty() ? "" : " at '" + prefix_ + "'"));
}

Json JsonFields::load_file(const std::string& path) {
  const Json j = load_json_file(path);
  if (!j.is_object()) throw FormatError(path + ": expected a JSON object at the top level");
  return j;
}

void JsonFields::fail(const std::string& key, const char* expected) const {
  if (!has(key))
    throw FormatError(file_ + ": required field '" + prefix_ + key + "' is missing (expected " +
                      expected + ")");
  throw FormatError(file_ + ": field '" + prefix_ + key + "' is " + json_excerpt((*j_)[key]) +
                    " (expected " + expected + ")");
}

bool JsonFields::has(const std::string& key) const {
  auto it = j_->find(key);
  return it != j_->end() && !it->is_null();
}

int64_t JsonFields::get_int(const std::string& key) const {
  if (!has(key)) fail(key, "an integer");
  const Json& v = (*j_)[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  // Some exporters write integral values as floats (e.g. 8192.0).
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  fail(key, "an integer");
}

int64_t JsonFields::get_int(const std::string& key, int64_t def) const {
  return has(key) ? get_int(key) : def;
}

double JsonFields::get_double(const std::string& key) const {
  if (!has(key) || !(*j_)[key].is_number()) fail(key, "a number");
  return (*j_)[key].get<double>();
}

double JsonFields::get_double(const std::string& key, double def) const {
  return has(key) ? get_double(key) : def;
}

bool JsonFields::get_bool(const std::string& key, bool def) const {
  if (!has(key)) return def;
  if (!(*j_)[key].is_boolean()) fail(key, "true or false");
  return (*j_)[key].get<bool>();
}

std::string JsonFields::get_string(const std::string& key) const {
  if (!has(key) || !(*j_)[key].is_string()) fail(key, "a string");
  return (*j_)[key].get<std::string>();
}

std::string JsonFields::get_string(const std::string& key, const std::string& def) const {
  return has(key) ? get_string(key) : def;
}

std::vector<int64_t> JsonFields::get_int_list(const std::string& key) const {
  std::vector<int64_t> out;
  if (!has(key)) return out;
  const Json& v = (*j_)[key];
  if (v.is_number_integer()) return {v.get<int64_t>()};
  if (!v.is_array()) fail(key, "an integer or a list of integers");
  for (const Json& x : v) {
    if (!x.is_number_integer()) fail(key, "an integer or a list of integers");
    out.push_back(x.get<int64_t>());
  }
  return out;
}

std::optional<int64_t> JsonFields::get_opt_int(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key);
}

std::optional<JsonFields> JsonFields::get_object(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  if (!(*j_)[key].is_object()) fail(key, "an object");
  return JsonFields((*j_)[key], file_, prefix_ + key + ".");
}

std::string JsonFields::first_present(std::initializer_list<const char*> keys) const {
  for (const char* k : keys)
    if (has(k)) return k;
  return "";
}

}  // namespace deepfuse
