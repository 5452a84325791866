#include "tokenizer/jinja/interpreter.h"

#include <cmath>

#include "core/error.h"
#include "tokenizer/jinja/text.h"

namespace deepfuse::jinja {

namespace {

void check_overflow(bool overflow, Interpreter& in) {
  if (overflow) in.unsupported("integer arithmetic beyond 64 bits");
}

// Python floor division and modulo for ints.
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t floor_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

}  // namespace

Value* Interpreter::Frame::find(const std::string& name) {
  for (auto& kv : vars)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

void Interpreter::Frame::set(const std::string& name, Value v) {
  if (Value* p = find(name)) {
    *p = std::move(v);
  } else {
    vars.emplace_back(name, std::move(v));
  }
}

Interpreter::Interpreter(const RenderLimits& limits, ValueDict context)
    : limits_(limits), context_(std::move(context)) {}

void Interpreter::fail(const std::string& what) const {
  throw InvalidArgument("chat template line " + std::to_string(line_) + ": " + what);
}

void Interpreter::unsupported(const std::string& what) const {
  throw Unsupported("chat template line " + std::to_string(line_) + ": " + what +
                    " is not supported by the deepfuse chat-template renderer");
}

void Interpreter::fail_undefined(const Value& v) const {
  fail(v.undefined_hint().empty() ? std::string("value is undefined") : v.undefined_hint());
}

void Interpreter::check_size(size_t bytes) const {
  if (bytes > limits_.max_output_bytes)
    fail("the template builds a string of " + std::to_string(bytes) + " bytes, over the " +
         std::to_string(limits_.max_output_bytes) + "-byte output limit");
}

void Interpreter::step() {
  if (++steps_ > limits_.max_steps)
    fail("evaluation exceeded " + std::to_string(limits_.max_steps) +
         " steps (a runaway loop?); the template is refused");
}

void Interpreter::emit(const std::string& text) {
  check_size(out_->size() + text.size());
  out_->append(text);
}

std::string Interpreter::render(const Template& tpl) {
  std::string out;
  out_ = &out;
  frames_.clear();
  frames_.emplace_back();
  barrier_ = 0;
  steps_ = 0;
  Flow f = exec_body(tpl.body);
  if (f != Flow::kNormal) fail("{% break %} / {% continue %} outside a for loop");
  return out;
}

std::string Interpreter::capture(const Body& body) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  try {
    Flow f = exec_body(body);
    out_ = saved;
    if (f != Flow::kNormal) fail("{% break %} / {% continue %} outside a for loop");
  } catch (...) {
    out_ = saved;
    throw;
  }
  return buf;
}

Interpreter::Flow Interpreter::exec_body(const Body& body) {
  for (const auto& s : body) {
    Flow f = exec(*s);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s) {
  step();
  line_ = s.line;
  switch (s.kind) {
    case Stmt::Kind::kData:
      emit(s.text);
      return Flow::kNormal;
    case Stmt::Kind::kOutput: {
      Value v = eval(*s.expr);
      line_ = s.line;
      emit(to_python_str(v));
      return Flow::kNormal;
    }
    case Stmt::Kind::kIf: {
      for (size_t i = 0; i < s.conds.size(); ++i) {
        if (eval(*s.conds[i]).truthy()) return exec_body(s.bodies[i]);
      }
      return exec_body(s.else_body);
    }
    case Stmt::Kind::kFor:
      return exec_for(s);
    case Stmt::Kind::kSet:
      exec_set(s);
      return Flow::kNormal;
    case Stmt::Kind::kSetBlock: {
      std::string text = capture(s.body);
      frames_.back().set(s.name, Value(std::move(text)));
      return Flow::kNormal;
    }
    case Stmt::Kind::kMacro:
      frames_.back().set(s.name, make_macro(s));
      return Flow::kNormal;
    case Stmt::Kind::kCallBlock: {
      // The body becomes a `caller` macro passed to the called macro.
      Stmt* self = const_cast<Stmt*>(&s);
      Value caller = Value::function("caller", [this, self](Interpreter&, CallArgs& args) {
        size_t saved_barrier = barrier_;
        barrier_ = 0;  // the body sees the scope around {% call %} (approximated by all scopes)
        frames_.emplace_back();
        for (size_t i = 0; i < self->params.size(); ++i) {
          Value v = i < args.positional.size() ? args.positional[i]
                    : self->params[i].default_value
                        ? eval(*self->params[i].default_value)
                        : Value::undefined("'" + self->params[i].name + "' is undefined");
          frames_.back().set(self->params[i].name, v);
        }
        std::string text;
        try {
          text = capture(self->body);
        } catch (...) {
          frames_.pop_back();
          barrier_ = saved_barrier;
          throw;
        }
        frames_.pop_back();
        barrier_ = saved_barrier;
        return Value(std::move(text));
      });
      const Expr& call = *s.expr;
      Value fn = eval(*call.operand);
      CallArgs args = eval_args(call);
      args.keyword.emplace_back("caller", caller);
      emit(to_python_str(this->call(fn, args)));
      return Flow::kNormal;
    }
    case Stmt::Kind::kFilterBlock: {
      std::string text = capture(s.body);
      frames_.emplace_back();
      frames_.back().set("\x01filter_body", Value(std::move(text)));
      Value v;
      try {
        v = eval(*s.expr);
      } catch (...) {
        frames_.pop_back();
        throw;
      }
      frames_.pop_back();
      emit(to_python_str(v));
      return Flow::kNormal;
    }
    case Stmt::Kind::kBreak:
      return Flow::kBreak;
    case Stmt::Kind::kContinue:
      return Flow::kContinue;
    case Stmt::Kind::kGeneration:
      return exec_body(s.body);
  }
  return Flow::kNormal;
}

namespace {

// The items a for loop (or a filter) iterates, with Python's rules per type.
ValueList iterate(Interpreter& in, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return {};  // jinja2's Undefined iterates as empty
    case Value::Kind::kList:
      return v.as_list();
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& kv : v.as_dict().items) keys.emplace_back(kv.first);
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      for (char32_t c : utf8_decode(v.as_string())) {
        std::string s;
        utf8_append(s, c);
        chars.emplace_back(std::move(s));
      }
      return chars;
    }
    default:
      in.fail("'" + v.type_name() + "' object is not iterable");
  }
}

}  // namespace

ValueList iterate_value(Interpreter& in, const Value& v) {
  return iterate(in, v);
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s) {
  Value seq = eval(*s.expr);
  line_ = s.line;
  ValueList items = iterate(*this, seq);
  auto bind = [&](Frame& f, const Value& item) {
    if (s.targets.size() == 1) {
      f.set(s.targets[0], item);
      return;
    }
    ValueList parts = iterate(*this, item);
    if (parts.size() != s.targets.size())
      fail("cannot unpack " + std::to_string(parts.size()) + " values into " +
           std::to_string(s.targets.size()) + " loop variables");
    for (size_t k = 0; k < parts.size(); ++k) f.set(s.targets[k], parts[k]);
  };
  if (s.filter) {
    ValueList kept;
    for (const auto& item : items) {
      step();
      frames_.emplace_back();
      bind(frames_.back(), item);
      bool keep;
      try {
        keep = eval(*s.filter).truthy();
      } catch (...) {
        frames_.pop_back();
        throw;
      }
      frames_.pop_back();
      if (keep) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec_body(s.else_body);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    step();
    ValueDict loop;
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(n - i));
    loop.set("revindex0", Value(n - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == n - 1));
    loop.set("length", Value(n));
    loop.set("depth", Value(int64_t{1}));
    loop.set("depth0", Value(int64_t{0}));
    if (i > 0) loop.set("previtem", items[static_cast<size_t>(i - 1)]);
    if (i + 1 < n) loop.set("nextitem", items[static_cast<size_t>(i + 1)]);
    loop.set("cycle", Value::function("cycle", [i](Interpreter& in, CallArgs& args) -> Value {
               if (args.positional.empty()) in.fail("loop.cycle() needs at least one argument");
               return args.positional[static_cast<size_t>(i) % args.positional.size()];
             }));
    frames_.emplace_back();
    Frame& f = frames_.back();
    bind(f, items[static_cast<size_t>(i)]);
    f.set("loop", Value::dict(std::move(loop)));
    Flow flow;
    try {
      flow = exec_body(s.body);
    } catch (...) {
      frames_.pop_back();
      throw;
    }
    frames_.pop_back();
    if (flow == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

namespace {

// True when `v` is, or (through lists, dicts and namespaces) holds, the container `target`.
bool holds(const Value& v, const ValueDict* target, int depth) {
  if (depth > 256) return false;  // deeper nesting than the render limits allow
  if (v.is_dict() || v.is_namespace()) {
    if (&v.as_dict() == target) return true;
    for (const auto& kv : v.as_dict().items)
      if (holds(kv.second, target, depth + 1)) return true;
  } else if (v.is_list()) {
    for (const Value& x : v.as_list())
      if (holds(x, target, depth + 1)) return true;
  }
  return false;
}

}  // namespace

void Interpreter::exec_set(const Stmt& s) {
  Value v = eval(*s.expr);
  line_ = s.line;
  if (!s.attr.empty()) {
    Value target = lookup(s.targets[0]);
    if (!target.is_namespace())
      fail("cannot assign attribute '" + s.attr + "' on '" + s.targets[0] +
           "': only namespace() objects accept {% set x.attr = ... %}");
    // Values share their containers, so `ns.a = ns` (or a list holding ns) would be a
    // reference cycle that is never freed (a fuzz_chat_template leak finding). Python's
    // collector copes; no real chat template does this, so it is refused by name.
    if (holds(v, &target.as_dict(), 0))
      unsupported("assigning namespace '" + s.targets[0] +
                  "' (or a value holding it) to its own "
                  "attribute '" +
                  s.attr + "'");
    target.as_dict().set(s.attr, std::move(v));
    return;
  }
  if (s.targets.size() == 1) {
    frames_.back().set(s.targets[0], std::move(v));
    return;
  }
  ValueList parts = iterate(*this, v);
  if (parts.size() != s.targets.size())
    fail("cannot unpack " + std::to_string(parts.size()) + " values into " +
         std::to_string(s.targets.size()) + " names");
  for (size_t k = 0; k < parts.size(); ++k) frames_.back().set(s.targets[k], parts[k]);
}

Value Interpreter::make_macro(const Stmt& s) {
  const Stmt* def = &s;
  return Value::function(s.name, [def](Interpreter& in, CallArgs& args) -> Value {
    if (in.call_depth_ >= in.limits_.max_call_depth)
      in.fail("macro '" + def->name + "' recursed deeper than " +
              std::to_string(in.limits_.max_call_depth) + " calls");
    if (args.positional.size() > def->params.size())
      in.fail("macro '" + def->name + "' takes " + std::to_string(def->params.size()) +
              " arguments, got " + std::to_string(args.positional.size()));
    Frame f;
    std::vector<bool> bound(def->params.size(), false);
    for (size_t i = 0; i < args.positional.size(); ++i) {
      f.set(def->params[i].name, args.positional[i]);
      bound[i] = true;
    }
    Value caller;
    bool has_caller = false;
    for (auto& kw : args.keyword) {
      if (kw.first == "caller") {
        caller = kw.second;
        has_caller = true;
        continue;
      }
      size_t k = 0;
      while (k < def->params.size() && def->params[k].name != kw.first) ++k;
      if (k == def->params.size())
        in.fail("macro '" + def->name + "' got an unexpected keyword argument '" + kw.first + "'");
      f.set(kw.first, kw.second);
      bound[k] = true;
    }
    // Defaults are evaluated in the macro's own scope, after the bound arguments.
    in.frames_.push_back(std::move(f));
    size_t saved_barrier = in.barrier_;
    in.barrier_ = in.frames_.size() - 1;
    ++in.call_depth_;
    std::string text;
    try {
      for (size_t i = 0; i < def->params.size(); ++i) {
        if (bound[i]) continue;
        Value d = def->params[i].default_value
                      ? in.eval(*def->params[i].default_value)
                      : Value::undefined("'" + def->params[i].name + "' is undefined");
        in.frames_.back().set(def->params[i].name, d);
      }
      if (has_caller) in.frames_.back().set("caller", caller);
      text = in.capture(def->body);
    } catch (...) {
      --in.call_depth_;
      in.barrier_ = saved_barrier;
      in.frames_.pop_back();
      throw;
    }
    --in.call_depth_;
    in.barrier_ = saved_barrier;
    in.frames_.pop_back();
    return Value(std::move(text));
  });
}

Value Interpreter::lookup(const std::string& name) {
  for (size_t i = frames_.size(); i-- > barrier_;) {
    if (Value* v = frames_[i].find(name)) return *v;
  }
  if (barrier_ > 0) {
    if (Value* v = frames_[0].find(name)) return *v;
  }
  if (const Value* v = context_.find(name)) return *v;
  return Value::undefined("'" + name + "' is undefined");
}

Value Interpreter::call(const Value& fn, CallArgs& args) {
  if (fn.is_undefined()) fail_undefined(fn);
  if (!fn.is_function()) fail("'" + fn.type_name() + "' object is not callable");
  step();
  int saved = line_;
  Value r = fn.as_function().call(*this, args);
  line_ = saved;
  return r;
}

Value Interpreter::apply_filter(const std::string& name, const Value& input, CallArgs& args) {
  return builtin_filter(*this, name, input, args);
}

bool Interpreter::apply_test(const std::string& name, const Value& input, CallArgs& args) {
  return builtin_test(*this, name, input, args);
}

Value Interpreter::get_attr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Value::Kind::kUndefined:
      fail_undefined(obj);
    case Value::Kind::kDict: {
      if (has_method(obj, name)) break;
      if (const Value* v = obj.as_dict().find(name)) return *v;
      return Value::undefined("'dict object' has no attribute '" + name + "'");
    }
    case Value::Kind::kNamespace: {
      if (const Value* v = obj.as_dict().find(name)) return *v;
      return Value::undefined("'Namespace object' has no attribute '" + name + "'");
    }
    default:
      break;
  }
  if (has_method(obj, name)) {
    Value self = obj;
    return Value::function(name, [self, name](Interpreter& in, CallArgs& args) {
      Value out;
      call_method(in, self, name, args, &out);
      return out;
    });
  }
  return Value::undefined("'" + obj.type_name() + " object' has no attribute '" + name + "'");
}

namespace {
bool to_index(const Value& key, int64_t size, int64_t* out) {
  if (!key.is_int() && !key.is_bool()) return false;
  int64_t i = key.as_int();
  if (i < 0) i += size;
  if (i < 0 || i >= size) return false;
  *out = i;
  return true;
}
}  // namespace

Value Interpreter::get_item(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Value::Kind::kUndefined:
      fail_undefined(obj);
    case Value::Kind::kDict:
      if (key.is_string()) {
        if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
        return get_attr(obj, key.as_string());
      }
      return Value::undefined("'dict object' has no attribute " + to_python_repr(key));
    case Value::Kind::kNamespace:
      if (key.is_string()) return get_attr(obj, key.as_string());
      break;
    case Value::Kind::kList: {
      if (obj.is_generator()) fail("'generator' object is not subscriptable");
      int64_t i;
      if (to_index(key, static_cast<int64_t>(obj.as_list().size()), &i))
        return obj.as_list()[static_cast<size_t>(i)];
      if (key.is_string()) return get_attr(obj, key.as_string());
      return Value::undefined(obj.type_name() + " object has no element " + to_python_repr(key));
    }
    case Value::Kind::kString: {
      if (key.is_int() || key.is_bool()) {
        auto cps = utf8_decode(obj.as_string());
        int64_t i;
        if (to_index(key, static_cast<int64_t>(cps.size()), &i)) {
          std::string s;
          utf8_append(s, cps[static_cast<size_t>(i)]);
          return Value(std::move(s));
        }
        return Value::undefined("str object has no element " + to_python_repr(key));
      }
      if (key.is_string()) return get_attr(obj, key.as_string());
      break;
    }
    default:
      break;
  }
  if (key.is_string()) return get_attr(obj, key.as_string());
  return Value::undefined("'" + obj.type_name() + " object' has no attribute " +
                          to_python_repr(key));
}

Value Interpreter::slice(const Value& obj, const Value& start_v, const Value& stop_v,
                         const Value& step_v) {
  if (obj.is_undefined()) fail_undefined(obj);
  auto opt_int = [&](const Value& v, const char* what) -> std::pair<bool, int64_t> {
    if (v.is_undefined() || v.is_none()) return {false, 0};
    if (!v.is_int() && !v.is_bool())
      fail(std::string("slice ") + what + " must be an integer or None");
    return {true, v.as_int()};
  };
  // Plain variables, not structured bindings: the lambda below captures `step`, which
  // clang 14 (the fuzz build) does not allow for bindings.
  const auto step_opt = opt_int(step_v, "step");
  int64_t step = step_opt.first ? step_opt.second : 1;
  if (step == 0) fail("slice step cannot be zero");
  auto [has_start, start] = opt_int(start_v, "start");
  auto [has_stop, stop] = opt_int(stop_v, "stop");
  bool is_str = obj.is_string();
  std::vector<char32_t> cps;
  if (is_str)
    cps = utf8_decode(obj.as_string());
  else if (!obj.is_list() || obj.is_generator())
    fail("'" + obj.type_name() + "' object is not subscriptable");
  int64_t n =
      is_str ? static_cast<int64_t>(cps.size()) : static_cast<int64_t>(obj.as_list().size());
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](bool has, int64_t v, int64_t dflt) {
    if (!has) return dflt;
    if (v < 0) {
      v += n;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= n) {
      v = step < 0 ? n - 1 : n;
    }
    return v;
  };
  int64_t b = adjust(has_start, start, step < 0 ? n - 1 : 0);
  int64_t e = adjust(has_stop, stop, step < 0 ? -1 : n);
  std::vector<int64_t> idx;
  if (step > 0) {
    for (int64_t i = b; i < e; i += step) idx.push_back(i);
  } else {
    for (int64_t i = b; i > e; i += step) idx.push_back(i);
  }
  if (is_str) {
    std::string s;
    for (int64_t i : idx) utf8_append(s, cps[static_cast<size_t>(i)]);
    return Value(std::move(s));
  }
  ValueList out;
  out.reserve(idx.size());
  for (int64_t i : idx) out.push_back(obj.as_list()[static_cast<size_t>(i)]);
  return Value::list(std::move(out),
                     obj.list_kind() == ListKind::kTuple ? ListKind::kTuple : ListKind::kList);
}

CallArgs Interpreter::eval_args(const Expr& e) {
  CallArgs a;
  for (const auto& x : e.args) a.positional.push_back(eval(*x));
  for (const auto& kv : e.kwargs) a.keyword.emplace_back(kv.first, eval(*kv.second));
  return a;
}

Value Interpreter::eval_call(const Expr& e) {
  if (e.operand->kind == Expr::Kind::kGetAttr) {
    Value obj = eval(*e.operand->operand);
    line_ = e.line;
    const std::string& name = e.operand->name;
    bool is_key = (obj.is_dict() && !has_method(obj, name)) || obj.is_namespace();
    if (!is_key && !obj.is_undefined() && has_method(obj, name)) {
      CallArgs args = eval_args(e);
      line_ = e.line;
      step();
      Value out;
      call_method(*this, obj, name, args, &out);
      return out;
    }
    Value fn = get_attr(obj, name);
    CallArgs args = eval_args(e);
    line_ = e.line;
    return call(fn, args);
  }
  Value fn = eval(*e.operand);
  CallArgs args = eval_args(e);
  line_ = e.line;
  return call(fn, args);
}

Value Interpreter::eval(const Expr& e) {
  line_ = e.line;
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.value;
    case Expr::Kind::kName:
      return lookup(e.name);
    case Expr::Kind::kList: {
      ValueList items;
      for (const auto& x : e.items) items.push_back(eval(*x));
      return Value::list(std::move(items), e.is_tuple ? ListKind::kTuple : ListKind::kList);
    }
    case Expr::Kind::kDict: {
      ValueDict d;
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value k = eval(*e.items[i]);
        Value v = eval(*e.items[i + 1]);
        if (!k.is_string()) {
          line_ = e.line;
          unsupported("a dict literal key of type " + k.type_name() + " (only string keys)");
        }
        d.set(k.as_string(), std::move(v));
      }
      return Value::dict(std::move(d));
    }
    case Expr::Kind::kGetAttr: {
      Value obj = eval(*e.operand);
      line_ = e.line;
      return get_attr(obj, e.name);
    }
    case Expr::Kind::kGetItem: {
      Value obj = eval(*e.operand);
      Value key = eval(*e.items[0]);
      line_ = e.line;
      return get_item(obj, key);
    }
    case Expr::Kind::kSlice: {
      Value obj = eval(*e.operand);
      Value parts[3];
      for (int k = 0; k < 3; ++k)
        if (e.items[static_cast<size_t>(k)]) parts[k] = eval(*e.items[static_cast<size_t>(k)]);
      line_ = e.line;
      return slice(obj, parts[0], parts[1], parts[2]);
    }
    case Expr::Kind::kCall:
      return eval_call(e);
    case Expr::Kind::kFilter: {
      Value input = eval(*e.operand);
      CallArgs args = eval_args(e);
      line_ = e.line;
      step();
      return apply_filter(e.name, input, args);
    }
    case Expr::Kind::kTest: {
      Value input = eval(*e.operand);
      CallArgs args = eval_args(e);
      line_ = e.line;
      bool r = apply_test(e.name, input, args);
      return Value(e.negated ? !r : r);
    }
    case Expr::Kind::kNot:
      return Value(!eval(*e.operand).truthy());
    case Expr::Kind::kNeg:
    case Expr::Kind::kPos: {
      Value v = eval(*e.operand);
      line_ = e.line;
      if (v.is_undefined()) fail_undefined(v);
      if (!v.is_number())
        fail("bad operand type for unary " + std::string(e.kind == Expr::Kind::kNeg ? "-" : "+") +
             ": '" + v.type_name() + "'");
      if (e.kind == Expr::Kind::kPos) return v.is_float() ? v : Value(v.as_int());
      if (v.is_float()) return Value(-v.as_double());
      if (v.as_int() == INT64_MIN) unsupported("integer arithmetic beyond 64 bits");
      return Value(-v.as_int());
    }
    case Expr::Kind::kBinary:
      return eval_binary(e);
    case Expr::Kind::kCompare:
      return eval_compare(e);
    case Expr::Kind::kCond: {
      if (eval(*e.items[1]).truthy()) return eval(*e.items[0]);
      if (e.items[2]) return eval(*e.items[2]);
      return Value::undefined("the inline if-expression evaluated to false and has no else");
    }
  }
  return Value();
}

Value Interpreter::eval_binary(const Expr& e) {
  const std::string& op = e.name;
  if (op == "and") {
    Value l = eval(*e.items[0]);
    return l.truthy() ? eval(*e.items[1]) : l;
  }
  if (op == "or") {
    Value l = eval(*e.items[0]);
    return l.truthy() ? l : eval(*e.items[1]);
  }
  Value a = eval(*e.items[0]);
  Value b = eval(*e.items[1]);
  line_ = e.line;
  if (op == "~") {
    std::string s = to_python_str(a);
    std::string t = to_python_str(b);
    check_size(s.size() + t.size());
    return Value(s + t);
  }
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  auto type_error = [&]() {
    fail("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" +
         b.type_name() + "'");
  };
  if (a.is_number() && b.is_number()) {
    bool fl = a.is_float() || b.is_float();
    if (op == "/") {
      if (b.as_double() == 0.0) fail("division by zero");
      return Value(a.as_double() / b.as_double());
    }
    if (fl) {
      double x = a.as_double(), y = b.as_double();
      if (op == "+") return Value(x + y);
      if (op == "-") return Value(x - y);
      if (op == "*") return Value(x * y);
      if (op == "**") return Value(std::pow(x, y));
      if (y == 0.0) fail("float division by zero");
      if (op == "//") return Value(std::floor(x / y));
      if (op == "%") {
        double r = std::fmod(x, y);
        if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
        return Value(r);
      }
    } else {
      int64_t x = a.as_int(), y = b.as_int(), r = 0;
      if (op == "+") {
        check_overflow(__builtin_add_overflow(x, y, &r), *this);
        return Value(r);
      }
      if (op == "-") {
        check_overflow(__builtin_sub_overflow(x, y, &r), *this);
        return Value(r);
      }
      if (op == "*") {
        check_overflow(__builtin_mul_overflow(x, y, &r), *this);
        return Value(r);
      }
      if (op == "**") {
        if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
        int64_t acc = 1;
        for (int64_t k = 0; k < y; ++k) {
          check_overflow(__builtin_mul_overflow(acc, x, &r), *this);
          acc = r;
          if (acc == 0 || acc == 1) break;
          if (acc == -1) {
            acc = ((y - k - 1) % 2 == 0) ? -1 : 1;
            break;
          }
        }
        return Value(acc);
      }
      if (y == 0) fail("integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) unsupported("integer arithmetic beyond 64 bits");
      if (op == "//") return Value(floor_div(x, y));
      if (op == "%") return Value(floor_mod(x, y));
    }
    type_error();
  }
  if (op == "+") {
    if (a.is_markup() || b.is_markup())
      unsupported(
          "'+' with a Markup string from |safe or |escape (Python HTML-escapes the other side)");
    if (a.is_string() && b.is_string()) {
      check_size(a.as_string().size() + b.as_string().size());
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && !a.is_generator() && !b.is_generator()) {
      check_size((a.as_list().size() + b.as_list().size()) * sizeof(Value));
      ValueList items = a.as_list();
      items.insert(items.end(), b.as_list().begin(), b.as_list().end());
      return Value::list(std::move(items));
    }
    if (a.is_string() && !b.is_string())
      fail("can only concatenate str (not \"" + b.type_name() + "\") to str");
    type_error();
  }
  if (op == "*") {
    const Value* seq = (a.is_string() || a.is_list()) ? &a : &b;
    const Value* cnt = seq == &a ? &b : &a;
    if ((seq->is_string() || (seq->is_list() && !seq->is_generator())) &&
        (cnt->is_int() || cnt->is_bool())) {
      int64_t n = std::max<int64_t>(0, cnt->as_int());
      size_t unit =
          seq->is_string() ? seq->as_string().size() : seq->as_list().size() * sizeof(Value);
      if (unit > 0 && static_cast<uint64_t>(n) > limits_.max_output_bytes / unit + 1)
        check_size(limits_.max_output_bytes + 1);
      check_size(unit * static_cast<size_t>(n));
      if (seq->is_string()) {
        std::string s;
        for (int64_t k = 0; k < n; ++k) s += seq->as_string();
        return Value(std::move(s));
      }
      ValueList items;
      for (int64_t k = 0; k < n; ++k)
        items.insert(items.end(), seq->as_list().begin(), seq->as_list().end());
      return Value::list(std::move(items));
    }
    type_error();
  }
  if (op == "%" && a.is_string()) unsupported("printf-style string formatting ('...' % args)");
  type_error();
  return Value();
}

Value Interpreter::eval_compare(const Expr& e) {
  Value left = eval(*e.operand);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.items[i]);
    line_ = e.line;
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") {
      r = values_equal(left, right);
    } else if (op == "!=") {
      r = !values_equal(left, right);
    } else if (op == "in" || op == "notin") {
      CallArgs args;
      args.positional.push_back(right);
      r = builtin_test(*this, "in", left, args);
      if (op == "notin") r = !r;
    } else {
      if (left.is_undefined()) fail_undefined(left);
      if (right.is_undefined()) fail_undefined(right);
      if (op == "<")
        r = values_less(left, right);
      else if (op == ">")
        r = values_less(right, left);
      else if (op == "<=")
        r = !values_less(right, left);
      else
        r = !values_less(left, right);
    }
    if (!r) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

}  // namespace deepfuse::jinja
