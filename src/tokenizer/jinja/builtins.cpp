// jinja2's builtin filters and tests, the Python str/dict methods templates call, and the
// globals transformers adds (raise_exception, strftime_now) plus jinja2's (namespace, range,
// dict). Names outside this set raise Unsupported naming the filter/test/method.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <initializer_list>

#include <utf8proc.h>

#include "core/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text.h"

namespace deepfuse::jinja {

ValueList iterate_value(Interpreter& in, const Value& v);  // interpreter.cpp

namespace {

// Binds positional/keyword arguments of a builtin by parameter name, rejecting extras.
class Params {
 public:
  Params(Interpreter& in, CallArgs& a, std::string fn, std::initializer_list<const char*> names)
      : in_(in), a_(a), fn_(std::move(fn)), names_(names) {
    if (a.positional.size() > names_.size())
      in.fail(fn_ + "() takes at most " + std::to_string(names_.size()) + " arguments (" +
              std::to_string(a.positional.size()) + " given)");
    for (const auto& kw : a.keyword) {
      auto it =
          std::find_if(names_.begin(), names_.end(), [&](const char* n) { return kw.first == n; });
      if (it == names_.end())
        in.fail(fn_ + "() got an unexpected keyword argument '" + kw.first + "'");
      if (static_cast<size_t>(it - names_.begin()) < a.positional.size())
        in.fail(fn_ + "() got multiple values for argument '" + kw.first + "'");
    }
  }
  // The argument at `pos` (named names[pos]) or nullptr when not given.
  const Value* get(size_t pos) const {
    if (pos < a_.positional.size()) return &a_.positional[pos];
    for (const auto& kw : a_.keyword)
      if (kw.first == names_[pos]) return &kw.second;
    return nullptr;
  }
  bool has(size_t pos) const { return get(pos) != nullptr && !get(pos)->is_none(); }
  std::string str(size_t pos, const std::string& dflt) const {
    const Value* v = get(pos);
    if (!v || v->is_none()) return dflt;
    if (!v->is_string())
      in_.fail(fn_ + "(): argument '" + names_[pos] + "' must be a string, got " + v->type_name());
    return v->as_string();
  }
  int64_t integer(size_t pos, int64_t dflt) const {
    const Value* v = get(pos);
    if (!v || v->is_none()) return dflt;
    if (!v->is_int() && !v->is_bool())
      in_.fail(fn_ + "(): argument '" + names_[pos] + "' must be an integer, got " +
               v->type_name());
    return v->as_int();
  }
  bool flag(size_t pos, bool dflt) const {
    const Value* v = get(pos);
    return v ? v->truthy() : dflt;
  }

 private:
  Interpreter& in_;
  CallArgs& a_;
  std::string fn_;
  std::vector<const char*> names_;
};

std::string soft_str(const Value& v) {
  return to_python_str(v);
}

Value make_tuple(Value a, Value b) {
  return Value::list({std::move(a), std::move(b)}, ListKind::kTuple);
}

int64_t py_len(Interpreter& in, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return 0;
    case Value::Kind::kString:
      return static_cast<int64_t>(utf8_length(v.as_string()));
    case Value::Kind::kList:
      if (v.is_generator()) in.fail("object of type 'generator' has no len()");
      return static_cast<int64_t>(v.as_list().size());
    case Value::Kind::kDict:
      return static_cast<int64_t>(v.as_dict().items.size());
    default:
      in.fail("object of type '" + v.type_name() + "' has no len()");
  }
}

// jinja2's make_attrgetter: "a.b.0" looks up a, then b, then index 0, with [] semantics.
Value get_path(Interpreter& in, const Value& item, const std::string& path) {
  Value cur = item;
  size_t pos = 0;
  while (true) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(),
                                               [](char c) { return c >= '0' && c <= '9'; });
    if (cur.is_undefined()) in.fail_undefined(cur);
    int64_t index = 0;
    if (digits && std::from_chars(part.data(), part.data() + part.size(), index).ec != std::errc())
      digits = false;  // beyond 64 bits: cannot index anything
    Value key = digits ? Value(index) : Value(part);
    if (cur.is_dict()) {
      const Value* v = key.is_string() ? cur.as_dict().find(key.as_string()) : nullptr;
      cur = v ? *v : Value::undefined("'dict object' has no attribute '" + part + "'");
    } else if (cur.is_namespace()) {
      const Value* v = cur.as_dict().find(part);
      cur = v ? *v : Value::undefined("'Namespace object' has no attribute '" + part + "'");
    } else if ((cur.is_list() && !cur.is_generator()) || cur.is_string()) {
      int64_t n = cur.is_string() ? static_cast<int64_t>(utf8_decode(cur.as_string()).size())
                                  : static_cast<int64_t>(cur.as_list().size());
      if (!key.is_int()) {
        cur = Value::undefined("'" + cur.type_name() + " object' has no attribute '" + part + "'");
      } else {
        int64_t i = key.as_int();
        if (i >= n) {
          cur = Value::undefined(cur.type_name() + " object has no element " + part);
        } else if (cur.is_string()) {
          std::string s;
          utf8_append(s, utf8_decode(cur.as_string())[static_cast<size_t>(i)]);
          cur = Value(std::move(s));
        } else {
          cur = cur.as_list()[static_cast<size_t>(i)];
        }
      }
    } else {
      cur = Value::undefined("'" + cur.type_name() + " object' has no attribute '" + part + "'");
    }
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

// Case folding jinja2 applies for sort/unique/dictsort when case_sensitive is false.
Value ignore_case(const Value& v) {
  return v.is_string() ? Value(py_lower(v.as_string())) : v;
}

std::vector<std::string> py_splitlines(const std::string& s) {
  std::vector<std::string> out;
  auto cps = utf8_decode(s);
  std::string cur;
  for (size_t i = 0; i < cps.size(); ++i) {
    char32_t c = cps[i];
    bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D ||
               c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) {
      utf8_append(cur, c);
      continue;
    }
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    out.push_back(std::move(cur));
    cur.clear();
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Value filter_tojson(Interpreter& in, const Value& v, CallArgs& a) {
  Params p(in, a, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonOptions o;
  o.ensure_ascii = p.flag(0, false);
  if (const Value* ind = p.get(1); ind && !ind->is_none()) {
    o.has_indent = true;
    if (ind->is_string())
      o.indent = ind->as_string();
    else if (ind->is_int() || ind->is_bool())
      o.indent = std::string(
          static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(ind->as_int(), 1024))), ' ');
    else
      in.fail("tojson(): indent must be an int or a string");
    o.item_separator = ",";
  }
  if (const Value* sep = p.get(2); sep && !sep->is_none()) {
    if (!sep->is_list() || sep->as_list().size() != 2 || !sep->as_list()[0].is_string() ||
        !sep->as_list()[1].is_string())
      in.fail("tojson(): separators must be a pair of strings");
    o.item_separator = sep->as_list()[0].as_string();
    o.key_separator = sep->as_list()[1].as_string();
  }
  o.sort_keys = p.flag(3, false);
  std::string s = to_json_string(v, o);
  in.check_size(s.size());
  return Value(std::move(s));
}

Value filter_map(Interpreter& in, const Value& v, CallArgs& a) {
  ValueList items = iterate_value(in, v);
  ValueList out;
  const Value* attr = nullptr;
  const Value* dflt = nullptr;
  for (const auto& kw : a.keyword) {
    if (kw.first == "attribute")
      attr = &kw.second;
    else if (kw.first == "default")
      dflt = &kw.second;
  }
  if (a.positional.empty() && attr) {
    if (!attr->is_string() && !attr->is_int()) in.fail("map(): attribute must be a string");
    std::string path = attr->is_string() ? attr->as_string() : std::to_string(attr->as_int());
    for (const auto& it : items) {
      Value r = get_path(in, it, path);
      if (r.is_undefined() && dflt) r = *dflt;
      out.push_back(r);
    }
  } else {
    if (a.positional.empty() || !a.positional[0].is_string())
      in.fail("map(): expected a filter name or attribute=");
    std::string name = a.positional[0].as_string();
    CallArgs rest;
    rest.positional.assign(a.positional.begin() + 1, a.positional.end());
    rest.keyword = a.keyword;
    for (const auto& it : items) {
      CallArgs copy = rest;
      out.push_back(in.apply_filter(name, it, copy));
    }
  }
  return Value::list(std::move(out), ListKind::kGenerator);
}

Value filter_select(Interpreter& in, const Value& v, CallArgs& a, bool by_attr, bool keep) {
  ValueList items = iterate_value(in, v);
  size_t first_test_arg = by_attr ? 1 : 0;
  std::string attr;
  if (by_attr) {
    if (a.positional.empty() || !a.positional[0].is_string())
      in.fail("selectattr/rejectattr(): expected an attribute name");
    attr = a.positional[0].as_string();
  }
  std::string test;
  bool has_test = a.positional.size() > first_test_arg;
  if (has_test) {
    if (!a.positional[first_test_arg].is_string())
      in.fail("select(): the test name must be a string");
    test = a.positional[first_test_arg].as_string();
  }
  CallArgs targs;
  if (has_test)
    targs.positional.assign(a.positional.begin() + static_cast<std::ptrdiff_t>(first_test_arg) + 1,
                            a.positional.end());
  targs.keyword = a.keyword;
  ValueList out;
  for (const auto& it : items) {
    Value subject = by_attr ? get_path(in, it, attr) : it;
    bool r;
    if (has_test) {
      CallArgs copy = targs;
      r = in.apply_test(test, subject, copy);
    } else {
      r = subject.truthy();
    }
    if (r == keep) out.push_back(it);
  }
  return Value::list(std::move(out), ListKind::kGenerator);
}

Value filter_sort(Interpreter& in, const Value& v, CallArgs& a) {
  Params p(in, a, "sort", {"reverse", "case_sensitive", "attribute"});
  bool reverse = p.flag(0, false);
  bool cs = p.flag(1, false);
  std::string attr = p.has(2) ? soft_str(*p.get(2)) : "";
  ValueList items = iterate_value(in, v);
  auto key = [&](const Value& x) {
    Value k = attr.empty() ? x : get_path(in, x, attr);
    return cs ? k : ignore_case(k);
  };
  std::vector<std::pair<Value, Value>> keyed;
  for (const auto& x : items) keyed.emplace_back(key(x), x);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& l, const auto& r) {
    return reverse ? values_less(r.first, l.first) : values_less(l.first, r.first);
  });
  ValueList out;
  for (auto& kv : keyed) out.push_back(kv.second);
  return Value::list(std::move(out));
}

Value filter_indent(Interpreter& in, const Value& v, CallArgs& a) {
  Params p(in, a, "indent", {"width", "first", "blank"});
  std::string ind;
  if (const Value* w = p.get(0); w && w->is_string())
    ind = w->as_string();
  else
    ind = std::string(static_cast<size_t>(std::clamp<int64_t>(p.integer(0, 4), 0, 1024)), ' ');
  std::string s = soft_str(v) + "\n";
  auto lines = py_splitlines(s);
  std::string rv;
  if (p.flag(2, false)) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    if (lines.size() > 1) {
      rv += "\n";
      for (size_t i = 1; i < lines.size(); ++i) {
        if (i > 1) rv += "\n";
        rv += lines[i].empty() ? lines[i] : ind + lines[i];
      }
    }
  }
  if (p.flag(1, false)) rv = ind + rv;
  in.check_size(rv.size());
  return Value(std::move(rv));
}

Value parse_int(const std::string& text, bool* ok) {
  std::string s = py_strip(text, nullptr, true, true);
  std::string digits;
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9')
      digits.push_back(s[i]);
    else if (s[i] == '_' && !digits.empty() && i + 1 < s.size() && s[i + 1] != '_')
      continue;
    else {
      *ok = false;
      return Value();
    }
  }
  if (digits.empty() || digits.size() > 18) {
    *ok = false;
    return Value();
  }
  *ok = true;
  int64_t v = std::stoll(digits);
  return Value(neg ? -v : v);
}

Value parse_float(const std::string& text, bool* ok) {
  std::string s = py_strip(text, nullptr, true, true);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  *ok = !s.empty() && end == s.c_str() + s.size() && s.find_first_of("xXpP") == std::string::npos;
  return Value(d);
}

}  // namespace

Value builtin_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& a) {
  if (name == "tojson") return filter_tojson(in, v, a);
  if (name == "trim") {
    Params p(in, a, "trim", {"chars"});
    std::string chars = p.str(0, "");
    return Value(py_strip(soft_str(v), p.has(0) ? &chars : nullptr, true, true));
  }
  if (name == "length" || name == "count") {
    Params p(in, a, name, {});
    return Value(py_len(in, v));
  }
  if (name == "upper") return Value(py_upper(soft_str(v)));
  if (name == "lower") return Value(py_lower(soft_str(v)));
  if (name == "capitalize") return Value(py_capitalize(soft_str(v)));
  if (name == "title") {
    // jinja2: words start after runs of [-\s({\[<]; first char upper, rest lower.
    auto cps = utf8_decode(soft_str(v));
    std::string out;
    bool at_start = true;
    for (char32_t c : cps) {
      bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c);
      std::string one;
      utf8_append(one, c);
      if (sep) {
        out += one;
        at_start = true;
      } else {
        out += at_start ? py_upper(one) : py_lower(one);
        at_start = false;
      }
    }
    return Value(std::move(out));
  }
  if (name == "default" || name == "d") {
    Params p(in, a, name, {"default_value", "boolean"});
    bool use = p.flag(1, false) ? !v.truthy() : v.is_undefined();
    if (!use) return v;
    const Value* d = p.get(0);
    return d ? *d : Value(std::string());
  }
  if (name == "first" || name == "last") {
    if (v.is_generator() && name == "last") in.fail("'generator' object is not reversible");
    ValueList items = iterate_value(in, v);
    if (items.empty()) return Value::undefined("No " + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    Params p(in, a, "join", {"d", "attribute"});
    std::string sep = p.has(0) ? soft_str(*p.get(0)) : "";
    std::string attr = p.has(1) ? soft_str(*p.get(1)) : "";
    std::string out;
    bool first = true;
    for (const auto& it : iterate_value(in, v)) {
      if (!first) out += sep;
      first = false;
      out += soft_str(attr.empty() ? it : get_path(in, it, attr));
      in.check_size(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "list") return Value::list(iterate_value(in, v));
  if (name == "map") return filter_map(in, v, a);
  if (name == "select") return filter_select(in, v, a, false, true);
  if (name == "reject") return filter_select(in, v, a, false, false);
  if (name == "selectattr") return filter_select(in, v, a, true, true);
  if (name == "rejectattr") return filter_select(in, v, a, true, false);
  if (name == "items") {
    if (v.is_undefined()) return Value::list({}, ListKind::kView);
    if (!v.is_dict()) in.fail("items(): expected a mapping, got " + v.type_name());
    ValueList out;
    for (const auto& kv : v.as_dict().items) out.push_back(make_tuple(Value(kv.first), kv.second));
    return Value::list(std::move(out), ListKind::kView);
  }
  if (name == "dictsort") {
    Params p(in, a, "dictsort", {"case_sensitive", "by", "reverse"});
    if (!v.is_dict()) in.fail("dictsort(): expected a mapping, got " + v.type_name());
    bool cs = p.flag(0, false);
    bool by_value = p.str(1, "key") == "value";
    bool reverse = p.flag(2, false);
    ValueList out;
    for (const auto& kv : v.as_dict().items) out.push_back(make_tuple(Value(kv.first), kv.second));
    std::stable_sort(out.begin(), out.end(), [&](const Value& l, const Value& r) {
      Value x = l.as_list()[by_value ? 1 : 0], y = r.as_list()[by_value ? 1 : 0];
      if (!cs) {
        x = ignore_case(x);
        y = ignore_case(y);
      }
      return reverse ? values_less(y, x) : values_less(x, y);
    });
    return Value::list(std::move(out));
  }
  if (name == "string") return Value(soft_str(v));
  if (name == "safe") return Value::markup(soft_str(v));
  if (name == "escape" || name == "e" || name == "forceescape") {
    if (v.is_markup() && name != "forceescape") return v;
    return Value::markup(html_escape(soft_str(v)));
  }
  if (name == "int") {
    Params p(in, a, "int", {"default", "base"});
    Value dflt = p.get(0) ? *p.get(0) : Value(int64_t{0});
    if (p.integer(1, 10) != 10) in.unsupported("int(base != 10)");
    if (v.is_int()) return v;
    if (v.is_bool()) return Value(v.as_int());
    if (v.is_float()) {
      double d = v.as_double();
      if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return dflt;
      return Value(static_cast<int64_t>(d));
    }
    if (v.is_string()) {
      bool ok = false;
      Value r = parse_int(v.as_string(), &ok);
      if (ok) return r;
      Value f = parse_float(v.as_string(), &ok);
      if (ok && std::isfinite(f.as_double()) && std::fabs(f.as_double()) < 9.2e18)
        return Value(static_cast<int64_t>(f.as_double()));
    }
    return dflt;
  }
  if (name == "float") {
    Params p(in, a, "float", {"default"});
    Value dflt = p.get(0) ? *p.get(0) : Value(0.0);
    if (v.is_number()) return Value(v.as_double());
    if (v.is_string()) {
      bool ok = false;
      Value f = parse_float(v.as_string(), &ok);
      if (ok) return f;
    }
    return dflt;
  }
  if (name == "abs") {
    if (v.is_float()) return Value(std::fabs(v.as_double()));
    if (v.is_number()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    in.fail("bad operand type for abs(): '" + v.type_name() + "'");
  }
  if (name == "replace") {
    Params p(in, a, "replace", {"old", "new", "count"});
    if (!p.get(0) || !p.get(1)) in.fail("replace() needs the old and new strings");
    std::string r =
        py_replace(soft_str(v), soft_str(*p.get(0)), soft_str(*p.get(1)), p.integer(2, -1));
    in.check_size(r.size());
    return Value(std::move(r));
  }
  if (name == "unique") {
    Params p(in, a, "unique", {"case_sensitive", "attribute"});
    bool cs = p.flag(0, false);
    std::string attr = p.has(1) ? soft_str(*p.get(1)) : "";
    ValueList out, seen;
    for (const auto& it : iterate_value(in, v)) {
      Value k = attr.empty() ? it : get_path(in, it, attr);
      if (!cs) k = ignore_case(k);
      if (std::none_of(seen.begin(), seen.end(),
                       [&](const Value& s) { return values_equal(s, k); })) {
        seen.push_back(k);
        out.push_back(it);
      }
    }
    return Value::list(std::move(out), ListKind::kGenerator);
  }
  if (name == "reverse") {
    if (v.is_string()) {
      auto cps = utf8_decode(v.as_string());
      std::reverse(cps.begin(), cps.end());
      return Value(utf8_encode(cps));
    }
    ValueList items = iterate_value(in, v);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items), ListKind::kGenerator);
  }
  if (name == "sort") return filter_sort(in, v, a);
  if (name == "indent") return filter_indent(in, v, a);
  if (name == "sum") {
    Params p(in, a, "sum", {"attribute", "start"});
    Value acc = p.get(1) ? *p.get(1) : Value(int64_t{0});
    std::string attr = p.has(0) ? soft_str(*p.get(0)) : "";
    for (const auto& it : iterate_value(in, v)) {
      Value x = attr.empty() ? it : get_path(in, it, attr);
      if (!acc.is_number() || !x.is_number()) in.fail("sum(): unsupported operand types");
      if (acc.is_float() || x.is_float())
        acc = Value(acc.as_double() + x.as_double());
      else
        acc = Value(acc.as_int() + x.as_int());
    }
    return acc;
  }
  in.unsupported("the filter '" + name + "'");
}

bool builtin_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& a) {
  auto arg0 = [&]() -> const Value& {
    if (a.positional.empty()) in.fail("test '" + name + "' needs an argument");
    return a.positional[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (name == "sequence")
    return v.is_undefined() || v.is_string() || (v.is_list() && !v.is_generator()) || v.is_dict();
  if (name == "callable") return v.is_function();
  if (name == "sameas") {
    const Value& o = arg0();
    if (v.identity() || o.identity()) return v.identity() == o.identity();
    if (v.kind() != o.kind()) return false;
    return values_equal(v, o);  // None, bools, small ints and interned strings are singletons
  }
  if (name == "eq" || name == "equalto" || name == "==") return values_equal(v, arg0());
  if (name == "ne" || name == "!=") return !values_equal(v, arg0());
  if (name == "lt" || name == "lessthan" || name == "<") return values_less(v, arg0());
  if (name == "gt" || name == "greaterthan" || name == ">") return values_less(arg0(), v);
  if (name == "le" || name == "<=") return !values_less(arg0(), v);
  if (name == "ge" || name == ">=") return !values_less(v, arg0());
  if (name == "in") {
    const Value& c = arg0();
    switch (c.kind()) {
      case Value::Kind::kUndefined:
        return false;
      case Value::Kind::kString:
        if (!v.is_string())
          in.fail("'in <string>' requires string as left operand, not " + v.type_name());
        return c.as_string().find(v.as_string()) != std::string::npos;
      case Value::Kind::kList:
        return std::any_of(c.as_list().begin(), c.as_list().end(),
                           [&](const Value& x) { return values_equal(x, v); });
      case Value::Kind::kDict:
        return v.is_string() && c.as_dict().find(v.as_string()) != nullptr;
      default:
        in.fail("argument of type '" + c.type_name() + "' is not iterable");
    }
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!v.is_int() && !v.is_bool()) in.fail("test '" + name + "' needs an integer");
    int64_t n = v.as_int();
    if (name == "odd") return n % 2 != 0;
    if (name == "even") return n % 2 == 0;
    const Value& d = arg0();
    if (!d.is_int() || d.as_int() == 0) in.fail("divisibleby needs a non-zero integer");
    return n % d.as_int() == 0;
  }
  if (name == "lower" || name == "upper") {
    std::string s = to_python_str(v);
    return name == "lower" ? py_lower(s) == s && py_upper(s) != s
                           : py_upper(s) == s && py_lower(s) != s;
  }
  in.unsupported("the test '" + name + "'");
}

namespace {

bool is_str_method(const std::string& n) {
  static const char* kNames[] = {"strip",      "lstrip",     "rstrip",     "split",   "rsplit",
                                 "startswith", "endswith",   "replace",    "upper",   "lower",
                                 "title",      "capitalize", "find",       "rfind",   "count",
                                 "join",       "isdigit",    "isalpha",    "isalnum", "isspace",
                                 "islower",    "isupper",    "splitlines", "format"};
  return std::any_of(std::begin(kNames), std::end(kNames), [&](const char* k) { return n == k; });
}
bool is_dict_method(const std::string& n) {
  return n == "get" || n == "items" || n == "keys" || n == "values";
}

bool all_cat(const std::string& s, bool (*pred)(char32_t)) {
  auto cps = utf8_decode(s);
  return !cps.empty() && std::all_of(cps.begin(), cps.end(), pred);
}
bool is_alpha_cp(char32_t c) {
  auto k = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}
bool is_digit_cp(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND;
}

}  // namespace

bool has_method(const Value& obj, const std::string& name) {
  if (obj.is_string()) return is_str_method(name);
  if (obj.is_dict()) return is_dict_method(name);
  return false;
}

bool call_method(Interpreter& in, const Value& obj, const std::string& name, CallArgs& a,
                 Value* out) {
  if (obj.is_dict()) {
    const ValueDict& d = obj.as_dict();
    if (name == "get") {
      Params p(in, a, "dict.get", {"key", "default"});
      if (!p.get(0)) in.fail("dict.get() needs a key");
      const Value* v = p.get(0)->is_string() ? d.find(p.get(0)->as_string()) : nullptr;
      *out = v ? *v : (p.get(1) ? *p.get(1) : Value::none());
      return true;
    }
    Params p(in, a, "dict." + name, {});
    ValueList items;
    for (const auto& kv : d.items) {
      if (name == "items")
        items.push_back(make_tuple(Value(kv.first), kv.second));
      else if (name == "keys")
        items.emplace_back(kv.first);
      else
        items.push_back(kv.second);
    }
    *out = Value::list(std::move(items), ListKind::kView);
    return true;
  }
  if (!obj.is_string()) return false;
  const std::string& s = obj.as_string();
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    Params p(in, a, "str." + name, {"chars"});
    std::string chars = p.str(0, "");
    *out = Value(py_strip(s, p.has(0) ? &chars : nullptr, name != "rstrip", name != "lstrip"));
  } else if (name == "split" || name == "rsplit") {
    Params p(in, a, "str." + name, {"sep", "maxsplit"});
    std::string sep = p.str(0, "");
    ValueList parts;
    for (auto& x : py_split(s, p.has(0) ? &sep : nullptr, p.integer(1, -1), name == "rsplit"))
      parts.emplace_back(std::move(x));
    *out = Value::list(std::move(parts));
  } else if (name == "startswith" || name == "endswith") {
    Params p(in, a, "str." + name, {"prefix"});
    if (!p.get(0)) in.fail("str." + name + "() needs an argument");
    ValueList cands = p.get(0)->is_list() ? p.get(0)->as_list() : ValueList{*p.get(0)};
    bool r = false;
    for (const auto& c : cands) {
      if (!c.is_string())
        in.fail("str." + name + "() arguments must be strings, got " + c.type_name());
      const std::string& t = c.as_string();
      if (t.size() <= s.size() &&
          (name == "startswith" ? s.compare(0, t.size(), t) == 0
                                : s.compare(s.size() - t.size(), t.size(), t) == 0))
        r = true;
    }
    *out = Value(r);
  } else if (name == "replace") {
    Params p(in, a, "str.replace", {"old", "new", "count"});
    std::string r = py_replace(s, p.str(0, ""), p.str(1, ""), p.integer(2, -1));
    in.check_size(r.size());
    *out = Value(std::move(r));
  } else if (name == "upper") {
    *out = Value(py_upper(s));
  } else if (name == "lower") {
    *out = Value(py_lower(s));
  } else if (name == "title") {
    *out = Value(py_title(s));
  } else if (name == "capitalize") {
    *out = Value(py_capitalize(s));
  } else if (name == "find" || name == "rfind" || name == "count") {
    Params p(in, a, "str." + name, {"sub"});
    std::string sub = p.str(0, "");
    if (name == "count") {
      int64_t n = 0;
      if (sub.empty()) {
        n = static_cast<int64_t>(utf8_length(s)) + 1;
      } else {
        for (size_t pos = s.find(sub); pos != std::string::npos;
             pos = s.find(sub, pos + sub.size()))
          ++n;
      }
      *out = Value(n);
    } else {
      size_t pos = name == "find" ? s.find(sub) : s.rfind(sub);
      *out = Value(pos == std::string::npos
                       ? int64_t{-1}
                       : static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, pos))));
    }
  } else if (name == "join") {
    Params p(in, a, "str.join", {"iterable"});
    if (!p.get(0)) in.fail("str.join() needs an iterable");
    std::string r;
    bool first = true;
    for (const auto& it : iterate_value(in, *p.get(0))) {
      if (!it.is_string())
        in.fail("sequence item: expected str instance, " + it.type_name() + " found");
      if (!first) r += s;
      first = false;
      r += it.as_string();
      in.check_size(r.size());
    }
    *out = Value(std::move(r));
  } else if (name == "isdigit") {
    *out = Value(all_cat(s, is_digit_cp));
  } else if (name == "isalpha") {
    *out = Value(all_cat(s, is_alpha_cp));
  } else if (name == "isalnum") {
    *out = Value(all_cat(s, [](char32_t c) { return is_alpha_cp(c) || is_digit_cp(c); }));
  } else if (name == "isspace") {
    *out = Value(all_cat(s, py_isspace));
  } else if (name == "islower" || name == "isupper") {
    bool lower = name == "islower";
    *out = Value(
        (lower ? py_lower(s) == s && py_upper(s) != s : py_upper(s) == s && py_lower(s) != s));
  } else if (name == "splitlines") {
    ValueList parts;
    for (auto& x : py_splitlines(s)) parts.emplace_back(std::move(x));
    *out = Value::list(std::move(parts));
  } else {
    in.unsupported("the string method '" + name + "'");
  }
  return true;
}

void add_globals(ValueDict& g) {
  g.set("raise_exception",
        Value::function("raise_exception", [](Interpreter& in, CallArgs& a) -> Value {
          (void)in;
          // transformers raises jinja2's TemplateError with the template's own message.
          throw InvalidArgument(a.positional.empty()
                                    ? std::string("chat template raised an exception")
                                    : to_python_str(a.positional[0]));
        }));
  g.set("strftime_now", Value::function("strftime_now", [](Interpreter& in, CallArgs& a) -> Value {
          Params p(in, a, "strftime_now", {"format"});
          std::string fmt = p.str(0, "");
          if (fmt.size() > 256) in.fail("strftime_now(): format longer than 256 characters");
          std::time_t t = std::time(nullptr);
          std::tm tm{};
          localtime_r(&t, &tm);
          char buf[2048];
          size_t n = fmt.empty() ? 0 : std::strftime(buf, sizeof(buf), fmt.c_str(), &tm);
          return Value(std::string(buf, n));
        }));
  g.set("namespace", Value::function("namespace", [](Interpreter& in, CallArgs& a) -> Value {
          ValueDict d;
          for (const auto& x : a.positional) {
            if (!x.is_dict()) in.fail("namespace() positional arguments must be mappings");
            for (const auto& kv : x.as_dict().items) d.set(kv.first, kv.second);
          }
          for (const auto& kv : a.keyword) d.set(kv.first, kv.second);
          return Value::make_namespace(std::move(d));
        }));
  g.set("dict", Value::function("dict", [](Interpreter& in, CallArgs& a) -> Value {
          ValueDict d;
          for (const auto& x : a.positional) {
            if (!x.is_dict()) in.fail("dict() positional arguments must be mappings");
            for (const auto& kv : x.as_dict().items) d.set(kv.first, kv.second);
          }
          for (const auto& kv : a.keyword) d.set(kv.first, kv.second);
          return Value::dict(std::move(d));
        }));
  g.set("range", Value::function("range", [](Interpreter& in, CallArgs& a) -> Value {
          if (!a.keyword.empty()) in.fail("range() takes no keyword arguments");
          std::vector<int64_t> n;
          for (const auto& x : a.positional) {
            if (!x.is_int() && !x.is_bool())
              in.fail("range() arguments must be integers, got " + x.type_name());
            n.push_back(x.as_int());
          }
          if (n.empty() || n.size() > 3) in.fail("range() expects 1 to 3 arguments");
          int64_t start = n.size() == 1 ? 0 : n[0];
          int64_t stop = n.size() == 1 ? n[0] : n[1];
          int64_t step = n.size() == 3 ? n[2] : 1;
          if (step == 0) in.fail("range() arg 3 must not be zero");
          // jinja2's sandbox refuses ranges longer than MAX_RANGE = 100000.
          long double len = step > 0 ? std::ceil((static_cast<long double>(stop) - start) / step)
                                     : std::ceil((static_cast<long double>(start) - stop) / -step);
          if (len > 100000)
            in.fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
          ValueList out;
          for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
          return Value::list(std::move(out), ListKind::kView);
        }));
}

}  // namespace deepfuse::jinja
