// The value model of the Jinja2 renderer. Mirrors the Python objects a chat template sees when
// transformers renders it: None, bool, int, float, str, list, dict (insertion-ordered), plus
// jinja2's Undefined (missing variable/key: prints as "", falsy, `is defined` false), namespace
// objects and callables (macros, globals, bound methods).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace deepfuse::jinja {

class Value;
class Interpreter;

using ValueList = std::vector<Value>;

// Insertion-ordered string-keyed map (Python dicts keep insertion order; tojson must too).
struct ValueDict {
  std::vector<std::pair<std::string, Value>> items;
  uint32_t depth = 1;  // container nesting depth, set by Value::dict
  const Value* find(const std::string& key) const;
  Value* find(const std::string& key);
  void set(const std::string& key, Value v);
};

// Positional and keyword arguments of a call, after evaluation.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

struct Function {
  std::string name;
  std::function<Value(Interpreter&, CallArgs&)> call;
};

// A list created by map/select/selectattr/...: Python hands those out as generators, which are
// always truthy, have no len() and print as "<generator object ...>". We keep the items but
// remember the origin so those three cases can be reproduced or refused.
// Python tuples print as "(a, b)"; dict views (items/keys/values) print as "dict_items([...])".
enum class ListKind : uint8_t { kList, kTuple, kGenerator, kView };
struct ListBox {
  ValueList items;
  ListKind kind = ListKind::kList;
  uint32_t depth = 1;  // container nesting depth (bounded: printing/comparing recurse)
};

class Value {
 public:
  enum class Kind : uint8_t {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kNamespace,
    kFunction
  };

  Value() = default;  // Undefined
  static Value undefined(std::string hint = {});
  static Value none();
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double d);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  // markupsafe.Markup (from |safe, |escape): a str that HTML-escapes what is `+`-ed to it.
  static Value markup(std::string s);
  static Value list(ValueList items = {}, ListKind kind = ListKind::kList);
  static Value dict(ValueDict d = {});
  static Value make_namespace(ValueDict d = {});
  static Value function(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  // Python numbers: bool is an int subclass.
  bool is_number() const {
    return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool;
  }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_markup() const { return kind_ == Kind::kString && b_; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_function() const { return kind_ == Kind::kFunction; }
  bool is_generator() const { return kind_ == Kind::kList && list_->kind == ListKind::kGenerator; }
  ListKind list_kind() const { return list_->kind; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double as_double() const;
  const std::string& as_string() const { return s_; }
  const ValueList& as_list() const { return list_->items; }
  ValueList& as_list() { return list_->items; }
  const ValueDict& as_dict() const { return *dict_; }
  ValueDict& as_dict() { return *dict_; }
  const Function& as_function() const { return *fn_; }
  // Name of the missing variable/attribute an Undefined stands for (for error messages).
  const std::string& undefined_hint() const { return s_; }

  // Python truthiness.
  bool truthy() const;
  // Python type name as used in error messages ("str", "int", "dict", ...).
  std::string type_name() const;
  // Identity for `is sameas` on containers.
  const void* identity() const;

  // Containers may nest at most this deep: printing, comparing and freeing them recurse, so a
  // template building [[[[...]]]] in a loop must fail cleanly instead of overflowing the stack.
  static constexpr uint32_t kMaxDepth = 512;
  uint32_t depth() const;

  static Value from_json(const nlohmann::ordered_json& j);
  static Value from_json(const nlohmann::json& j);

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0.0;
  std::string s_;  // string payload, or the Undefined hint
  std::shared_ptr<ListBox> list_;
  std::shared_ptr<ValueDict> dict_;  // dict or namespace attributes
  std::shared_ptr<Function> fn_;
};

// Python ==, with int/float/bool cross-type equality.
bool values_equal(const Value& a, const Value& b);
// Python <; throws InvalidArgument for unorderable types.
bool values_less(const Value& a, const Value& b);

// Python str() and repr() of a value, as jinja2 prints it with `{{ }}`.
std::string to_python_str(const Value& v);
std::string to_python_repr(const Value& v);
// Python float.__repr__ (shortest round-trip, "1e-05", "1.0", "inf", "nan").
std::string python_float_repr(double d);

struct JsonOptions {
  bool ensure_ascii = false;
  bool has_indent = false;
  std::string indent;  // the indent unit when has_indent
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
// json.dumps(v, ...) as transformers' tojson filter calls it.
std::string to_json_string(const Value& v, const JsonOptions& opts);

}  // namespace deepfuse::jinja
