// Syntax tree of a parsed Jinja2 template. Expressions and statements are plain tagged structs:
// the evaluator switches on `kind`; `line` is kept for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace deepfuse::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Expr {
  enum class Kind {
    kLiteral,  // value
    kName,     // name
    kList,     // items (also tuples)
    kDict,     // items as key, value pairs (keys at even positions)
    kGetAttr,  // a.name: operand, name
    kGetItem,  // a[b]: operand, items[0]
    kSlice,    // a[b:c:d]: operand, items = {start, stop, step} (null = omitted)
    kCall,     // operand(args..., kwargs...)
    kFilter,   // operand | name(args...)
    kTest,     // operand is [not] name(args...)
    kNot,
    kNeg,
    kPos,
    kBinary,   // name = operator: "+", "-", "*", "/", "//", "%", "**", "~", "and", "or"
    kCompare,  // operand, then ops[i] applied with items[i]: chained comparison
    kCond,     // items = {then, test, else (may be null)}
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name;
  ExprPtr operand;
  std::vector<ExprPtr> items;
  std::vector<std::string> ops;                         // kCompare operators
  std::vector<ExprPtr> args;                            // call/filter/test positional
  std::vector<std::pair<std::string, ExprPtr>> kwargs;  // call/filter/test keyword
  bool negated = false;                                 // kTest with `is not`
  bool is_tuple = false;                                // kList written as a tuple
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required (Undefined when missing, as in jinja2)
};

struct Stmt {
  enum class Kind {
    kData,         // text
    kOutput,       // {{ expr }}
    kIf,           // conds[i] guards bodies[i]; else_body
    kFor,          // targets in expr [if filter] body else_body
    kSet,          // targets (or attribute target) = expr
    kSetBlock,     // {% set name %}body{% endset %}
    kMacro,        // name(params) body
    kCallBlock,    // {% call(params) expr %}body{% endcall %}
    kFilterBlock,  // {% filter f %}body{% endfilter %}: expr is a kFilter chain over a placeholder
    kBreak,
    kContinue,
    kGeneration,  // {% generation %}body{% endgeneration %} (transformers' AssistantTracker)
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // kFor: loop filter condition
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<std::string> targets;  // kFor/kSet names (more than one: tuple unpacking)
  std::string attr;                  // kSet on a namespace: targets[0].attr
  std::string name;                  // kMacro / kSetBlock name
  std::vector<MacroParam> params;    // kMacro / kCallBlock
};

struct Template {
  Body body;
};

}  // namespace deepfuse::jinja
