// Typed, validated access to the fields of a JSON config file (config.json and friends).
// A missing required field or a field of the wrong type is a FormatError naming the file and
// the field and saying what was expected; unknown fields are ignored. Reusable by every
// family's config parser (DeepSeek's included).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace deepfuse {

class JsonFields {
 public:
  // `file` and `prefix` ("rope_scaling.") only appear in error messages.
  JsonFields(const nlohmann::json& j, std::string file, std::string prefix = "");
  // Reads and parses a JSON object file; NotFound / FormatError naming the file.
  static nlohmann::json load_file(const std::string& path);

  // True when the key is present and not null.
  bool has(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t def) const;
  double get_double(const std::string& key) const;
  double get_double(const std::string& key, double def) const;
  bool get_bool(const std::string& key, bool def) const;
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& def) const;
  // An integer or a list of integers (eos_token_id); empty when absent.
  std::vector<int64_t> get_int_list(const std::string& key) const;
  std::optional<int64_t> get_opt_int(const std::string& key) const;
  // A nested object; FormatError when present but not an object.
  std::optional<JsonFields> get_object(const std::string& key) const;
  // The first of several spellings that is present (e.g. "rope_type" / "type"), or "".
  std::string first_present(std::initializer_list<const char*> keys) const;

  const nlohmann::json& raw() const { return *j_; }
  const nlohmann::json& json() const { return *j_; }
  const std::string& file() const { return file_; }

 private:
  [[noreturn]] void fail(const std::string& key, const char* expected) const;
  const nlohmann::json* j_;
  std::string file_;
  std::string prefix_;
};

}  // namespace deepfuse
