#include "retrieval/filter.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include "core/error.h"

namespace deepfuse::retrieval {
namespace {

constexpr const char* kSyntax =
    "expected field=value, field!=value, field>N, field>=N, field<N or field<=N";

std::optional<double> parse_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// The numeric value of a field of `doc`, if it has one.
std::optional<double> numeric_field(const Document& doc, const std::string& field) {
  if (field == "year") {
    if (doc.year) return static_cast<double>(*doc.year);
    return std::nullopt;
  }
  if (field == "date") return date_number(doc.date);
  auto it = doc.numbers.find(field);
  if (it != doc.numbers.end()) return it->second;
  auto s = doc.fields.find(field);
  if (s != doc.fields.end()) return parse_number(s->second);
  return std::nullopt;
}

std::optional<std::string> string_field(const Document& doc, const std::string& field) {
  if (field == "id") return doc.id;
  if (field == "domain") return doc.domain.empty() ? std::nullopt : std::optional(doc.domain);
  if (field == "source") return doc.source.empty() ? std::nullopt : std::optional(doc.source);
  if (field == "title") return doc.title.empty() ? std::nullopt : std::optional(doc.title);
  if (field == "date") return doc.date.empty() ? std::nullopt : std::optional(doc.date);
  if (field == "year") {
    if (doc.year) return std::to_string(*doc.year);
    return std::nullopt;
  }
  auto it = doc.fields.find(field);
  if (it != doc.fields.end()) return it->second;
  return std::nullopt;
}

}  // namespace

std::optional<double> date_number(const std::string& d) {
  // YYYY, YYYY-MM or YYYY-MM-DD (a time part after 'T' or ' ' is ignored).
  std::string s = d.substr(0, d.find_first_of("T "));
  if (s.size() != 4 && s.size() != 7 && s.size() != 10) return std::nullopt;
  std::string y = s.substr(0, 4);
  if (!all_digits(y)) return std::nullopt;
  double v = std::stod(y) * 10000;
  if (s.size() >= 7) {
    if (s[4] != '-' || !all_digits(s.substr(5, 2))) return std::nullopt;
    int m = std::stoi(s.substr(5, 2));
    if (m < 1 || m > 12) return std::nullopt;
    v += m * 100;
  }
  if (s.size() == 10) {
    if (s[7] != '-' || !all_digits(s.substr(8, 2))) return std::nullopt;
    int dd = std::stoi(s.substr(8, 2));
    if (dd < 1 || dd > 31) return std::nullopt;
    v += dd;
  }
  return v;
}

FilterExpr parse_filter(const std::string& expr) {
  size_t i = 0;
  while (i < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[i])) || expr[i] == '_' ||
                             expr[i] == '.' || expr[i] == '-'))
    ++i;
  DF_CHECK(i > 0, InvalidArgument,
           "malformed filter '" << expr << "': missing field name; " << kSyntax);
  FilterExpr f;
  f.field = expr.substr(0, i);
  std::string rest = expr.substr(i);
  auto starts = [&](const char* op) { return rest.rfind(op, 0) == 0; };
  size_t op_len = 0;
  if (starts("!=")) {
    f.op = FilterOp::kNe, op_len = 2;
  } else if (starts(">=")) {
    f.op = FilterOp::kGe, op_len = 2;
  } else if (starts("<=")) {
    f.op = FilterOp::kLe, op_len = 2;
  } else if (starts("==")) {
    f.op = FilterOp::kEq, op_len = 2;
  } else if (starts("=")) {
    f.op = FilterOp::kEq, op_len = 1;
  } else if (starts(">")) {
    f.op = FilterOp::kGt, op_len = 1;
  } else if (starts("<")) {
    f.op = FilterOp::kLt, op_len = 1;
  } else {
    throw InvalidArgument("malformed filter '" + expr + "': no operator after field '" + f.field +
                          "'; " + kSyntax);
  }
  f.value = rest.substr(op_len);
  DF_CHECK(!f.value.empty(), InvalidArgument,
           "malformed filter '" << expr << "': missing value; " << kSyntax);
  if (f.field == "date") {
    f.number = date_number(f.value);
  } else {
    f.number = parse_number(f.value);
  }
  bool ordered = f.op != FilterOp::kEq && f.op != FilterOp::kNe;
  DF_CHECK(!ordered || f.number.has_value(), InvalidArgument,
           "malformed filter '" << expr << "': '" << f.value << "' is not a number"
                                << (f.field == "date" ? " or a YYYY[-MM[-DD]] date" : "")
                                << "; <, <=, >, >= compare numbers: " << kSyntax);
  return f;
}

std::vector<FilterExpr> parse_filters(const std::vector<std::string>& exprs) {
  std::vector<FilterExpr> out;
  out.reserve(exprs.size());
  for (const auto& e : exprs) out.push_back(parse_filter(e));
  return out;
}

bool matches(const FilterExpr& f, const Document& doc) {
  bool ordered = f.op != FilterOp::kEq && f.op != FilterOp::kNe;
  if (ordered ||
      (f.number && (f.field == "year" || f.field == "date" || doc.numbers.count(f.field)))) {
    auto v = numeric_field(doc, f.field);
    if (!v || !f.number) return f.op == FilterOp::kNe;
    double a = *v, b = *f.number;
    switch (f.op) {
      case FilterOp::kEq:
        return a == b;
      case FilterOp::kNe:
        return a != b;
      case FilterOp::kGt:
        return a > b;
      case FilterOp::kGe:
        return a >= b;
      case FilterOp::kLt:
        return a < b;
      case FilterOp::kLe:
        return a <= b;
    }
  }
  auto s = string_field(doc, f.field);
  if (!s) {
    // Numbers stored in `numbers` compared with a non-numeric value: no match.
    return f.op == FilterOp::kNe;
  }
  bool eq = *s == f.value;
  if (!eq && f.number) {
    auto n = parse_number(*s);
    eq = n && *n == *f.number;
  }
  return f.op == FilterOp::kEq ? eq : !eq;
}

bool matches_all(const std::vector<FilterExpr>& fs, const Document& doc) {
  for (const auto& f : fs)
    if (!matches(f, doc)) return false;
  return true;
}

}  // namespace deepfuse::retrieval
