// Evaluates a parsed template the way jinja2's ImmutableSandboxedEnvironment does for
// transformers: Python value semantics, jinja2 scoping (for loops and macros open a scope,
// if does not; namespace objects carry state out of loops), default Undefined.
// Hostile templates are bounded: output size, evaluation steps and call depth have limits and
// exceeding one throws InvalidArgument naming the limit.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace deepfuse::jinja {

struct RenderLimits {
  size_t max_output_bytes = size_t{32} << 20;  // also bounds every string the template builds
  int64_t max_steps = 20'000'000;              // statements + loop iterations + calls
  int max_call_depth = 64;                     // macro recursion
};

class Interpreter {
 public:
  Interpreter(const RenderLimits& limits, ValueDict context);

  std::string render(const Template& tpl);

  // Used by builtins (filters calling other filters, map/select, macros as callables).
  Value call(const Value& fn, CallArgs& args);
  Value apply_filter(const std::string& name, const Value& input, CallArgs& args);
  bool apply_test(const std::string& name, const Value& input, CallArgs& args);
  void check_size(size_t bytes) const;
  // Throws InvalidArgument prefixed with the current template line.
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void unsupported(const std::string& what) const;
  [[noreturn]] void fail_undefined(const Value& v) const;
  int line() const { return line_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  struct Frame {
    std::vector<std::pair<std::string, Value>> vars;
    Value* find(const std::string& name);
    void set(const std::string& name, Value v);
  };

  Flow exec_body(const Body& body);
  Flow exec(const Stmt& s);
  Flow exec_for(const Stmt& s);
  void exec_set(const Stmt& s);
  Value eval(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_call(const Expr& e);
  Value lookup(const std::string& name);
  Value get_attr(const Value& obj, const std::string& name);
  Value get_item(const Value& obj, const Value& key);
  Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
  CallArgs eval_args(const Expr& e);
  Value make_macro(const Stmt& s);
  std::string capture(const Body& body);
  void emit(const std::string& text);
  void step();

  RenderLimits limits_;
  ValueDict context_;
  std::vector<Frame> frames_;
  size_t barrier_ = 0;  // frames below this index (except the root) are hidden (macro scope)
  std::string* out_ = nullptr;
  int64_t steps_ = 0;
  int call_depth_ = 0;
  int line_ = 0;
};

// Builtins (builtins.cpp): jinja2 filters and tests, Python str/dict methods, globals.
Value builtin_filter(Interpreter& in, const std::string& name, const Value& input, CallArgs& args);
bool builtin_test(Interpreter& in, const std::string& name, const Value& input, CallArgs& args);
// Returns true and sets *out when `obj` has a Python method `name` (str, dict) and calls it.
bool call_method(Interpreter& in, const Value& obj, const std::string& name, CallArgs& args,
                 Value* out);
bool has_method(const Value& obj, const std::string& name);
// raise_exception, strftime_now, namespace, range, dict.
void add_globals(ValueDict& globals);

}  // namespace deepfuse::jinja
