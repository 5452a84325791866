#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/error.h"
#include "tokenizer/jinja/text.h"

namespace deepfuse::jinja {

const Value* ValueDict::find(const std::string& key) const {
  for (const auto& kv : items)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Value* ValueDict::find(const std::string& key) {
  for (auto& kv : items)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

void ValueDict::set(const std::string& key, Value v) {
  if (Value* existing = find(key)) {
    *existing = std::move(v);
  } else {
    items.emplace_back(key, std::move(v));
  }
}

Value Value::undefined(std::string hint) {
  Value v;
  v.s_ = std::move(hint);
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value::Value(bool b) : kind_(Kind::kBool), b_(b) {}
Value::Value(int64_t i) : kind_(Kind::kInt), i_(i) {}
Value::Value(double d) : kind_(Kind::kFloat), f_(d) {}
Value::Value(std::string s) : kind_(Kind::kString), s_(std::move(s)) {}

Value Value::markup(std::string s) {
  Value v(std::move(s));
  v.b_ = true;
  return v;
}

uint32_t Value::depth() const {
  if (kind_ == Kind::kList) return list_->depth;
  if (kind_ == Kind::kDict) return dict_->depth;
  return 0;  // scalars; namespaces count as leaves (their printing/serialisation is refused)
}

namespace {
uint32_t nested_depth(const ValueList& items) {
  uint32_t d = 0;
  for (const auto& x : items) d = std::max(d, x.depth());
  if (d + 1 > Value::kMaxDepth)
    throw InvalidArgument("chat template: lists/dicts nested deeper than " +
                          std::to_string(Value::kMaxDepth) + " levels");
  return d + 1;
}
}  // namespace

Value Value::list(ValueList items, ListKind kind) {
  uint32_t depth = nested_depth(items);
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::make_shared<ListBox>();
  v.list_->items = std::move(items);
  v.list_->kind = kind;
  v.list_->depth = depth;
  return v;
}

Value Value::dict(ValueDict d) {
  uint32_t depth = 0;
  for (const auto& kv : d.items) depth = std::max(depth, kv.second.depth());
  if (depth + 1 > kMaxDepth)
    throw InvalidArgument("chat template: lists/dicts nested deeper than " +
                          std::to_string(kMaxDepth) + " levels");
  d.depth = depth + 1;
  Value v;
  v.kind_ = Kind::kDict;
  v.dict_ = std::make_shared<ValueDict>(std::move(d));
  return v;
}

Value Value::make_namespace(ValueDict d) {
  Value v = dict(std::move(d));
  v.kind_ = Kind::kNamespace;
  return v;
}

Value Value::function(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.fn_ = std::make_shared<Function>(Function{std::move(name), std::move(fn)});
  return v;
}

double Value::as_double() const {
  switch (kind_) {
    case Kind::kFloat:
      return f_;
    case Kind::kInt:
      return static_cast<double>(i_);
    case Kind::kBool:
      return b_ ? 1.0 : 0.0;
    default:
      return 0.0;
  }
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return b_;
    case Kind::kInt:
      return i_ != 0;
    case Kind::kFloat:
      return f_ != 0.0;
    case Kind::kString:
      return !s_.empty();
    case Kind::kList:
      return list_->kind == ListKind::kGenerator || !list_->items.empty();
    case Kind::kDict:
      return !dict_->items.empty();
    case Kind::kNamespace:
    case Kind::kFunction:
      return true;
  }
  return false;
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      switch (list_->kind) {
        case ListKind::kTuple:
          return "tuple";
        case ListKind::kGenerator:
          return "generator";
        case ListKind::kView:
          return "dict_view";
        default:
          return "list";
      }
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kFunction:
      return "function";
  }
  return "?";
}

const void* Value::identity() const {
  if (list_) return list_.get();
  if (dict_) return dict_.get();
  if (fn_) return fn_.get();
  return nullptr;
}

namespace {
template <typename J>
Value from_json_impl(const J& j, uint32_t depth = 0) {
  DF_CHECK(depth < Value::kMaxDepth, InvalidArgument,
           "chat template input: JSON nested deeper than " << Value::kMaxDepth << " levels");
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::none();
    case nlohmann::json::value_t::boolean:
      return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = j.template get<uint64_t>();
      DF_CHECK(u <= static_cast<uint64_t>(INT64_MAX), Unsupported,
               "chat template input: integer " << u << " does not fit in 64 bits");
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      ValueList items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json_impl(e, depth + 1));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      ValueDict d;
      for (auto it = j.begin(); it != j.end(); ++it)
        d.items.emplace_back(it.key(), from_json_impl(it.value(), depth + 1));  // keys are unique
      return Value::dict(std::move(d));
    }
    default:
      throw InvalidArgument("chat template input: binary JSON values are not supported");
  }
}
}  // namespace

Value Value::from_json(const nlohmann::ordered_json& j) {
  return from_json_impl(j);
}
Value Value::from_json(const nlohmann::json& j) {
  return from_json_impl(j);
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.as_string() == b.as_string();
    case Value::Kind::kList: {
      if (a.is_generator() || b.is_generator()) return a.identity() == b.identity();
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!values_equal(x[i], y[i])) return false;
      return true;
    }
    case Value::Kind::kDict: {
      const auto& x = a.as_dict().items;
      const auto& y = b.as_dict();
      if (x.size() != y.items.size()) return false;
      for (const auto& kv : x) {
        const Value* o = y.find(kv.first);
        if (!o || !values_equal(kv.second, *o)) return false;
      }
      return true;
    }
    default:
      return a.identity() == b.identity();
  }
}

bool values_less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) {
    // Python compares code points; UTF-8 byte order is the same order.
    return a.as_string() < b.as_string();
  }
  if (a.is_list() && b.is_list() && !a.is_generator() && !b.is_generator()) {
    const auto& x = a.as_list();
    const auto& y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!values_equal(x[i], y[i])) return values_less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  throw InvalidArgument("chat template: '<' not supported between instances of '" + a.type_name() +
                        "' and '" + b.type_name() + "'");
}

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. "-1.2345e-05"
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp10 = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits.push_back(c);
  int decpt = exp10 + 1;  // position of the decimal point relative to the digits
  std::string out = neg ? "-" : "";
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    } else if (static_cast<size_t>(decpt) >= digits.size()) {
      out += digits + std::string(static_cast<size_t>(decpt) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(decpt)) + "." +
             digits.substr(static_cast<size_t>(decpt));
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    int e = decpt - 1;
    out += e < 0 ? "e-" : "e+";
    std::string es = std::to_string(std::abs(e));
    if (es.size() < 2) es = "0" + es;
    out += es;
  }
  return out;
}

std::string to_python_repr(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kString:
      return py_str_repr(v.as_string());
    case Value::Kind::kList: {
      if (v.is_generator())
        throw Unsupported(
            "chat template: printing a generator (the result of map/select/"
            "selectattr without |list) gives a memory address in Python");
      if (v.list_kind() == ListKind::kView)
        throw Unsupported("chat template: printing a dict view (items()/keys()/values())");
      bool tuple = v.list_kind() == ListKind::kTuple;
      std::string out = tuple ? "(" : "[";
      bool first = true;
      for (const auto& e : v.as_list()) {
        if (!first) out += ", ";
        first = false;
        out += to_python_repr(e);
      }
      if (tuple && v.as_list().size() == 1) out += ",";
      return out + (tuple ? ")" : "]");
    }
    case Value::Kind::kDict: {
      std::string out = "{";
      bool first = true;
      for (const auto& kv : v.as_dict().items) {
        if (!first) out += ", ";
        first = false;
        out += py_str_repr(kv.first) + ": " + to_python_repr(kv.second);
      }
      return out + "}";
    }
    default:
      return to_python_str(v);
  }
}

std::string to_python_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return "";
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kBool:
      return v.as_bool() ? "True" : "False";
    case Value::Kind::kInt:
      return std::to_string(v.as_int());
    case Value::Kind::kFloat:
      return python_float_repr(v.as_double());
    case Value::Kind::kString:
      return v.as_string();
    case Value::Kind::kList:
    case Value::Kind::kDict:
      return to_python_repr(v);
    case Value::Kind::kNamespace:
      throw Unsupported("chat template: printing a namespace object (Python prints its address)");
    case Value::Kind::kFunction:
      throw Unsupported("chat template: printing the function '" + v.as_function().name +
                        "' (Python prints its address)");
  }
  return "";
}

namespace {

void json_escape(std::string& out, const std::string& s, bool ensure_ascii) {
  static const char* kHex = "0123456789abcdef";
  out.push_back('"');
  auto hex4 = [&](uint32_t c) {
    out += "\\u";
    for (int k = 3; k >= 0; --k) out.push_back(kHex[(c >> (4 * k)) & 0xF]);
  };
  for (char32_t c : utf8_decode(s)) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          hex4(c);
        } else if (ensure_ascii && c > 0x7E) {
          if (c >= 0x10000) {
            uint32_t v = static_cast<uint32_t>(c) - 0x10000;
            hex4(0xD800 | (v >> 10));
            hex4(0xDC00 | (v & 0x3FF));
          } else {
            hex4(c);
          }
        } else {
          utf8_append(out, c);
        }
    }
  }
  out.push_back('"');
}

void json_dump(std::string& out, const Value& v, const JsonOptions& o, int level, int depth) {
  DF_CHECK(depth < 512, InvalidArgument,
           "chat template: tojson input nested deeper than 512 levels");
  auto newline = [&](int lvl) {
    out.push_back('\n');
    for (int i = 0; i < lvl; ++i) out += o.indent;
  };
  switch (v.kind()) {
    case Value::Kind::kNone:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::kInt:
      out += std::to_string(v.as_int());
      return;
    case Value::Kind::kFloat: {
      double d = v.as_double();
      if (std::isnan(d))
        out += "NaN";
      else if (std::isinf(d))
        out += d > 0 ? "Infinity" : "-Infinity";
      else
        out += python_float_repr(d);
      return;
    }
    case Value::Kind::kString:
      json_escape(out, v.as_string(), o.ensure_ascii);
      return;
    case Value::Kind::kList: {
      if (v.is_generator())
        throw InvalidArgument(
            "chat template: tojson: Object of type generator is not JSON serializable");
      const auto& items = v.as_list();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += o.item_separator;
        if (o.has_indent) newline(level + 1);
        json_dump(out, items[i], o, level + 1, depth + 1);
      }
      if (o.has_indent) newline(level);
      out.push_back(']');
      return;
    }
    case Value::Kind::kDict: {
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.as_dict().items) items.push_back(&kv);
      if (items.empty()) {
        out += "{}";
        return;
      }
      if (o.sort_keys)
        std::stable_sort(items.begin(), items.end(),
                         [](auto* a, auto* b) { return a->first < b->first; });
      out.push_back('{');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += o.item_separator;
        if (o.has_indent) newline(level + 1);
        json_escape(out, items[i]->first, o.ensure_ascii);
        out += o.key_separator;
        json_dump(out, items[i]->second, o, level + 1, depth + 1);
      }
      if (o.has_indent) newline(level);
      out.push_back('}');
      return;
    }
    default:
      throw InvalidArgument("chat template: tojson: Object of type " + v.type_name() +
                            " is not JSON serializable");
  }
}

}  // namespace

std::string to_json_string(const Value& v, const JsonOptions& opts) {
  std::string out;
  json_dump(out, v, opts, 0, 0);
  return out;
}

}  // namespace deepfuse::jinja
