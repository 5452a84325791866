#include "tokenizer/jinja/parser.h"

#include <charconv>
#include <set>

#include "core/error.h"
#include "tokenizer/jinja/lexer.h"

namespace deepfuse::jinja {

namespace {

// Nesting deeper than this is refused: it protects the recursive parser and evaluator from
// hostile templates ("((((((...") and no real chat template comes close.
constexpr int kMaxNesting = 200;

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  std::shared_ptr<const Template> run() {
    auto tpl = std::make_shared<Template>();
    std::string end_tag;
    tpl->body = parse_body({}, &end_tag);
    return tpl;
  }

 private:
  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() { return t_[std::min(i_++, t_.size() - 1)]; }
  bool at_op(const char* op) const {
    return peek().type == TokenType::kOperator && peek().text == op;
  }
  bool at_name(const char* n) const { return peek().type == TokenType::kName && peek().text == n; }
  bool skip_op(const char* op) {
    if (!at_op(op)) return false;
    ++i_;
    return true;
  }
  bool skip_name(const char* n) {
    if (!at_name(n)) return false;
    ++i_;
    return true;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("chat template line " + std::to_string(peek().line) + ": " + what);
  }
  [[noreturn]] void unsupported(const std::string& what, int line) const {
    throw Unsupported("chat template line " + std::to_string(line) + ": " + what +
                      " is not supported by the deepfuse chat-template renderer");
  }

  std::string describe(const Token& t) const {
    switch (t.type) {
      case TokenType::kEnd:
        return "end of template";
      case TokenType::kBlockEnd:
        return "'%}'";
      case TokenType::kVarEnd:
        return "'}}'";
      case TokenType::kData:
        return "template text";
      default:
        return "'" + t.text + "'";
    }
  }

  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected '") + op + "', got " + describe(peek()));
  }
  std::string expect_name() {
    if (peek().type != TokenType::kName) fail("expected a name, got " + describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != TokenType::kBlockEnd) fail("expected '%}', got " + describe(peek()));
    ++i_;
  }

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p_(p) {
      if (++p_->depth_ > kMaxNesting)
        throw InvalidArgument("chat template line " + std::to_string(p_->peek().line) +
                              ": nesting deeper than " + std::to_string(kMaxNesting) + " levels");
    }
    ~DepthGuard() { --p_->depth_; }
    Parser* p_;
  };

  // Parses statements until one of `ends` (a block tag name) is reached; stores which in
  // *end_tag and leaves the tokens after the tag name unconsumed. Empty `ends`: to the end.
  Body parse_body(const std::set<std::string>& ends, std::string* end_tag) {
    DepthGuard g(this);
    Body body;
    while (true) {
      const Token& tok = peek();
      if (tok.type == TokenType::kEnd) {
        if (!ends.empty()) {
          std::string list;
          for (const auto& e : ends) list += (list.empty() ? "" : " or ") + ("{% " + e + " %}");
          fail("unexpected end of template, expected " + list);
        }
        return body;
      }
      if (tok.type == TokenType::kData) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kData;
        s->line = tok.line;
        s->text = tok.text;
        body.push_back(std::move(s));
        ++i_;
      } else if (tok.type == TokenType::kVarBegin) {
        ++i_;
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kOutput;
        s->line = tok.line;
        s->expr = parse_tuple_or_expr();
        if (peek().type != TokenType::kVarEnd) fail("expected '}}', got " + describe(peek()));
        ++i_;
        body.push_back(std::move(s));
      } else if (tok.type == TokenType::kBlockBegin) {
        const Token& name = peek(1);
        if (name.type != TokenType::kName) fail("expected a tag name after '{%'");
        if (ends.count(name.text)) {
          i_ += 2;
          *end_tag = name.text;
          return body;
        }
        i_ += 2;
        body.push_back(parse_statement(name.text, name.line));
      } else {
        fail("unexpected " + describe(tok));
      }
    }
  }

  StmtPtr parse_statement(const std::string& tag, int line) {
    auto s = std::make_unique<Stmt>();
    s->line = line;
    if (tag == "if") {
      s->kind = Stmt::Kind::kIf;
      s->conds.push_back(parse_expression());
      expect_block_end();
      while (true) {
        std::string end;
        s->bodies.push_back(parse_body({"elif", "else", "endif"}, &end));
        if (end == "elif") {
          s->conds.push_back(parse_expression());
          expect_block_end();
        } else if (end == "else") {
          expect_block_end();
          s->else_body = parse_body({"endif"}, &end);
          expect_block_end();
          break;
        } else {
          expect_block_end();
          break;
        }
      }
    } else if (tag == "for") {
      s->kind = Stmt::Kind::kFor;
      s->targets = parse_targets();
      if (!skip_name("in")) fail("expected 'in' in for loop, got " + describe(peek()));
      s->expr = parse_tuple_or_expr(/*no_condexpr=*/true);
      if (skip_name("if")) s->filter = parse_expression();
      if (at_name("recursive")) unsupported("recursive for loops", line);
      expect_block_end();
      std::string end;
      s->body = parse_body({"else", "endfor"}, &end);
      if (end == "else") {
        expect_block_end();
        s->else_body = parse_body({"endfor"}, &end);
      }
      expect_block_end();
    } else if (tag == "set") {
      std::string first = expect_name();
      if (skip_op(".")) {
        s->kind = Stmt::Kind::kSet;
        s->targets = {first};
        s->attr = expect_name();
        expect_op("=");
        s->expr = parse_tuple_or_expr();
        expect_block_end();
      } else if (peek().type == TokenType::kBlockEnd) {
        s->kind = Stmt::Kind::kSetBlock;
        s->name = first;
        ++i_;
        std::string end;
        s->body = parse_body({"endset"}, &end);
        expect_block_end();
      } else if (at_op("|")) {
        unsupported("filtered block set ({% set x | filter %})", line);
      } else {
        s->kind = Stmt::Kind::kSet;
        s->targets = {first};
        while (skip_op(",")) s->targets.push_back(expect_name());
        expect_op("=");
        s->expr = parse_tuple_or_expr();
        expect_block_end();
      }
    } else if (tag == "macro") {
      s->kind = Stmt::Kind::kMacro;
      s->name = expect_name();
      expect_op("(");
      s->params = parse_params();
      expect_block_end();
      std::string end;
      s->body = parse_body({"endmacro"}, &end);
      if (peek().type == TokenType::kName) ++i_;  // {% endmacro name %}
      expect_block_end();
    } else if (tag == "call") {
      s->kind = Stmt::Kind::kCallBlock;
      if (skip_op("(")) s->params = parse_params();
      s->expr = parse_expression();
      if (s->expr->kind != Expr::Kind::kCall) fail("expected a macro call after {% call %}");
      expect_block_end();
      std::string end;
      s->body = parse_body({"endcall"}, &end);
      expect_block_end();
    } else if (tag == "filter") {
      s->kind = Stmt::Kind::kFilterBlock;
      auto placeholder = std::make_unique<Expr>();
      placeholder->kind = Expr::Kind::kName;
      placeholder->name = "\x01filter_body";  // not a valid template name: cannot collide
      placeholder->line = line;
      ExprPtr e = std::move(placeholder);
      do {
        e = parse_filter(std::move(e));
      } while (skip_op("|"));
      s->expr = std::move(e);
      expect_block_end();
      std::string end;
      s->body = parse_body({"endfilter"}, &end);
      expect_block_end();
    } else if (tag == "break" || tag == "continue") {
      s->kind = tag == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      expect_block_end();
    } else if (tag == "generation") {
      s->kind = Stmt::Kind::kGeneration;
      expect_block_end();
      std::string end;
      s->body = parse_body({"endgeneration"}, &end);
      expect_block_end();
    } else if (tag == "raw" || tag == "extends" || tag == "include" || tag == "import" ||
               tag == "from" || tag == "block" || tag == "with" || tag == "autoescape" ||
               tag == "do" || tag == "trans") {
      unsupported("the {% " + tag + " %} tag", line);
    } else {
      fail("unknown tag '" + tag + "'");
    }
    return s;
  }

  std::vector<MacroParam> parse_params() {
    std::vector<MacroParam> params;
    while (!skip_op(")")) {
      if (!params.empty()) expect_op(",");
      if (skip_op(")")) break;
      MacroParam p;
      p.name = expect_name();
      if (skip_op("=")) p.default_value = parse_expression();
      params.push_back(std::move(p));
    }
    return params;
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    names.push_back(expect_name());
    while (skip_op(",")) {
      if (peek().type != TokenType::kName) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  ExprPtr make(Expr::Kind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }

  // A bare tuple "a, b" (as in {% set x = a, b %} or {{ a, b }}).
  ExprPtr parse_tuple_or_expr(bool no_condexpr = false) {
    int line = peek().line;
    ExprPtr first = no_condexpr ? parse_or() : parse_expression();
    if (!at_op(",")) return first;
    auto tup = make(Expr::Kind::kList, line);
    tup->is_tuple = true;
    tup->items.push_back(std::move(first));
    while (skip_op(",")) {
      if (peek().type == TokenType::kBlockEnd || peek().type == TokenType::kVarEnd) break;
      tup->items.push_back(no_condexpr ? parse_or() : parse_expression());
    }
    return tup;
  }

  ExprPtr parse_expression() {
    DepthGuard g(this);
    int line = peek().line;
    ExprPtr e = parse_or();
    while (skip_name("if")) {
      auto c = make(Expr::Kind::kCond, line);
      ExprPtr test = parse_or();
      ExprPtr other = skip_name("else") ? parse_expression() : nullptr;
      c->items.push_back(std::move(e));
      c->items.push_back(std::move(test));
      c->items.push_back(std::move(other));
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const char* op, ExprPtr l, ExprPtr r, int line) {
    auto b = make(Expr::Kind::kBinary, line);
    b->name = op;
    b->items.push_back(std::move(l));
    b->items.push_back(std::move(r));
    return b;
  }

  ExprPtr parse_or() {
    ExprPtr l = parse_and();
    while (at_name("or")) {
      int line = next().line;
      l = binary("or", std::move(l), parse_and(), line);
    }
    return l;
  }
  ExprPtr parse_and() {
    ExprPtr l = parse_not();
    while (at_name("and")) {
      int line = next().line;
      l = binary("and", std::move(l), parse_not(), line);
    }
    return l;
  }
  ExprPtr parse_not() {
    if (at_name("not")) {
      DepthGuard g(this);
      int line = next().line;
      auto n = make(Expr::Kind::kNot, line);
      n->operand = parse_not();
      return n;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    int line = peek().line;
    ExprPtr e = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (peek().type == TokenType::kOperator &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
           peek().text == "<=" || peek().text == ">=")) {
        op = next().text;
      } else if (skip_name("in")) {
        op = "in";
      } else if (at_name("not") && peek(1).type == TokenType::kName && peek(1).text == "in") {
        i_ += 2;
        op = "notin";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::Kind::kCompare, line);
        cmp->operand = std::move(e);
      }
      cmp->ops.push_back(op);
      cmp->items.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(e);
  }
  ExprPtr parse_math1() {
    ExprPtr l = parse_concat();
    while (at_op("+") || at_op("-")) {
      const Token& t = next();
      l = binary(t.text == "+" ? "+" : "-", std::move(l), parse_concat(), t.line);
    }
    return l;
  }
  ExprPtr parse_concat() {
    ExprPtr l = parse_math2();
    while (at_op("~")) {
      int line = next().line;
      l = binary("~", std::move(l), parse_math2(), line);
    }
    return l;
  }
  ExprPtr parse_math2() {
    ExprPtr l = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const Token& t = next();
      std::string op = t.text;
      int line = t.line;
      ExprPtr r = parse_pow();
      auto b = make(Expr::Kind::kBinary, line);
      b->name = op;
      b->items.push_back(std::move(l));
      b->items.push_back(std::move(r));
      l = std::move(b);
    }
    return l;
  }
  ExprPtr parse_pow() {
    ExprPtr l = parse_unary(true);
    while (at_op("**")) {
      int line = next().line;
      l = binary("**", std::move(l), parse_unary(true), line);
    }
    return l;
  }
  ExprPtr parse_unary(bool with_filter) {
    DepthGuard g(this);
    int line = peek().line;
    ExprPtr e;
    if (skip_op("-")) {
      e = make(Expr::Kind::kNeg, line);
      e->operand = parse_unary(false);
    } else if (skip_op("+")) {
      e = make(Expr::Kind::kPos, line);
      e->operand = parse_unary(false);
    } else {
      e = parse_postfix(parse_primary());
    }
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    int line = t.line;
    switch (t.type) {
      case TokenType::kName: {
        ++i_;
        auto lit = make(Expr::Kind::kLiteral, line);
        if (t.text == "true" || t.text == "True")
          lit->value = Value(true);
        else if (t.text == "false" || t.text == "False")
          lit->value = Value(false);
        else if (t.text == "none" || t.text == "None")
          lit->value = Value::none();
        else {
          auto n = make(Expr::Kind::kName, line);
          n->name = t.text;
          return n;
        }
        return lit;
      }
      case TokenType::kString: {
        std::string s;
        while (peek().type == TokenType::kString) s += next().text;  // adjacent literals join
        auto lit = make(Expr::Kind::kLiteral, line);
        lit->value = Value(std::move(s));
        return lit;
      }
      case TokenType::kInteger: {
        ++i_;
        int64_t v = 0;
        auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (r.ec != std::errc()) unsupported("integer literal " + t.text + " beyond 64 bits", line);
        auto lit = make(Expr::Kind::kLiteral, line);
        lit->value = Value(v);
        return lit;
      }
      case TokenType::kFloat: {
        ++i_;
        auto lit = make(Expr::Kind::kLiteral, line);
        lit->value = Value(std::strtod(t.text.c_str(), nullptr));
        return lit;
      }
      case TokenType::kOperator: {
        if (t.text == "(") {
          ++i_;
          if (skip_op(")")) {
            auto empty = make(Expr::Kind::kList, line);  // ()
            empty->is_tuple = true;
            return empty;
          }
          ExprPtr e = parse_expression();
          if (at_op(",")) {
            auto tup = make(Expr::Kind::kList, line);
            tup->is_tuple = true;
            tup->items.push_back(std::move(e));
            while (skip_op(",")) {
              if (at_op(")")) break;
              tup->items.push_back(parse_expression());
            }
            e = std::move(tup);
          }
          expect_op(")");
          return e;
        }
        if (t.text == "[") {
          ++i_;
          auto l = make(Expr::Kind::kList, line);
          while (!skip_op("]")) {
            if (!l->items.empty()) expect_op(",");
            if (skip_op("]")) break;
            l->items.push_back(parse_expression());
          }
          return l;
        }
        if (t.text == "{") {
          ++i_;
          auto d = make(Expr::Kind::kDict, line);
          while (!skip_op("}")) {
            if (!d->items.empty()) expect_op(",");
            if (skip_op("}")) break;
            d->items.push_back(parse_expression());
            expect_op(":");
            d->items.push_back(parse_expression());
          }
          return d;
        }
        break;
      }
      default:
        break;
    }
    fail("unexpected " + describe(t) + " in expression");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      int line = peek().line;
      if (skip_op(".")) {
        if (peek().type == TokenType::kInteger) {
          auto g = make(Expr::Kind::kGetItem, line);
          g->operand = std::move(e);
          auto lit = make(Expr::Kind::kLiteral, line);
          const std::string& digits = next().text;
          int64_t index = 0;
          if (std::from_chars(digits.data(), digits.data() + digits.size(), index).ec !=
              std::errc())
            unsupported("attribute index ." + digits + " beyond 64 bits", line);
          lit->value = Value(index);
          g->items.push_back(std::move(lit));
          e = std::move(g);
          continue;
        }
        auto g = make(Expr::Kind::kGetAttr, line);
        g->operand = std::move(e);
        g->name = expect_name();
        e = std::move(g);
      } else if (skip_op("[")) {
        e = parse_subscript(std::move(e), line);
      } else if (at_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj, int line) {
    ExprPtr parts[3];
    bool is_slice = false;
    int idx = 0;
    while (true) {
      if (at_op(":")) {
        ++i_;
        is_slice = true;
        DF_CHECK(++idx < 3, FormatError,
                 "chat template line " << line << ": too many ':' in slice");
        continue;
      }
      if (at_op("]")) break;
      if (parts[idx]) fail("expected ':' or ']' in subscript");
      parts[idx] = parse_expression();
    }
    expect_op("]");
    if (!is_slice) {
      if (!parts[0]) fail("empty subscript []");
      auto g = make(Expr::Kind::kGetItem, line);
      g->operand = std::move(obj);
      g->items.push_back(std::move(parts[0]));
      return g;
    }
    auto s = make(Expr::Kind::kSlice, line);
    s->operand = std::move(obj);
    for (auto& p : parts) s->items.push_back(std::move(p));
    return s;
  }

  void parse_args(Expr* e) {
    expect_op("(");
    while (!skip_op(")")) {
      if (!e->args.empty() || !e->kwargs.empty()) expect_op(",");
      if (skip_op(")")) break;
      if (at_op("*") || at_op("**")) unsupported("*args / **kwargs in calls", peek().line);
      if (peek().type == TokenType::kName && peek(1).type == TokenType::kOperator &&
          peek(1).text == "=") {
        std::string k = next().text;
        ++i_;
        e->kwargs.emplace_back(k, parse_expression());
      } else {
        if (!e->kwargs.empty()) fail("positional argument follows keyword argument");
        e->args.push_back(parse_expression());
      }
    }
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = make(Expr::Kind::kCall, peek().line);
    c->operand = std::move(callee);
    parse_args(c.get());
    return c;
  }

  ExprPtr parse_filter(ExprPtr operand) {
    int line = peek().line;
    auto f = make(Expr::Kind::kFilter, line);
    f->operand = std::move(operand);
    f->name = expect_name();
    while (skip_op(".")) f->name += "." + expect_name();
    if (at_op("(")) parse_args(f.get());
    return f;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (skip_op("|")) {
        e = parse_filter(std::move(e));
      } else if (at_name("is")) {
        int line = next().line;
        auto t = make(Expr::Kind::kTest, line);
        t->negated = skip_name("not");
        t->operand = std::move(e);
        t->name = expect_name();
        while (skip_op(".")) t->name += "." + expect_name();
        if (at_op("(")) {
          parse_args(t.get());
        } else if (starts_bare_test_arg()) {
          ExprPtr arg = parse_primary();
          t->args.push_back(parse_postfix(std::move(arg)));
        }
        e = std::move(t);
      } else if (at_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  // jinja2 accepts one argument without parentheses: `x is divisibleby 3`, `x is sameas false`.
  bool starts_bare_test_arg() const {
    const Token& t = peek();
    switch (t.type) {
      case TokenType::kString:
      case TokenType::kInteger:
      case TokenType::kFloat:
        return true;
      case TokenType::kName:
        return t.text != "else" && t.text != "or" && t.text != "and" && t.text != "is" &&
               t.text != "in" && t.text != "not" && t.text != "if";
      case TokenType::kOperator:
        return t.text == "[" || t.text == "{";
      default:
        return false;
    }
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

std::shared_ptr<const Template> parse_template(const std::string& source) {
  return Parser(tokenize(source)).run();
}

}  // namespace deepfuse::jinja
