// Metadata filters: `field=value`, `field!=value`, `field>N`, `field>=N`, `field<N`, `field<=N`.
// Several filters are ANDed. `year` and `date` compare as numbers (dates as YYYYMMDD, so
// "date>=2023-06" works); other fields compare as numbers when both sides are numeric, else as
// exact strings. A document without the field matches only `!=`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "deepfuse/knowledge_base.h"

namespace deepfuse::retrieval {

enum class FilterOp { kEq, kNe, kGt, kGe, kLt, kLe };

struct FilterExpr {
  std::string field;
  FilterOp op = FilterOp::kEq;
  std::string value;
  std::optional<double> number;  // value parsed as a number (dates as YYYYMMDD)
};

// InvalidArgument naming the expression and the expected syntax when malformed.
FilterExpr parse_filter(const std::string& expr);
std::vector<FilterExpr> parse_filters(const std::vector<std::string>& exprs);

// "2023-05-01" -> 20230501, "2023-05" -> 20230500, "2023" -> 20230000; nullopt otherwise.
std::optional<double> date_number(const std::string& date);

bool matches(const FilterExpr& f, const Document& doc);
bool matches_all(const std::vector<FilterExpr>& fs, const Document& doc);

}  // namespace deepfuse::retrieval
