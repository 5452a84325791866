// Measured quality on the labelled set (tools/make_pii_eval.py). The thresholds are the ones
// this implementation achieves (docs/BENCHMARKS.md has the numbers); a regression fails here.
#include <gtest/gtest.h>

#include <iostream>

#include "common/test_util.h"
#include "core/error.h"
#include "safety/pii_eval.h"

namespace deepfuse {
namespace {

TEST(PiiEval, PrecisionAndRecallPerType) {
  auto cases = load_pii_eval(test::fixture("safety/pii_eval.jsonl"));
  ASSERT_GE(cases.size(), 900u);
  PiiEvalReport r = evaluate_pii(cases, PiiOptions{});
  std::cout << pii_eval_to_json(r).dump(1) << "\n";
  size_t gold = r.overall.tp + r.overall.fn;
  EXPECT_GE(gold, 900u);
  // Achieved: recall 0.9989 (one designed hard-case miss), precision 1.0.
  EXPECT_GE(r.overall.recall(), 0.998);
  EXPECT_GE(r.overall.precision(), 0.998);
  for (int i = 0; i < kNumPiiTypes; ++i) {
    SCOPED_TRACE(pii_type_name(static_cast<PiiType>(i)));
    EXPECT_GE(r.per_type[i].tp + r.per_type[i].fn, 100u);
    EXPECT_GE(r.per_type[i].recall(), 0.99);
    EXPECT_GE(r.per_type[i].precision(), 0.99);
  }
}

TEST(PiiEval, DisabledTypesAreNotScored) {
  auto cases = load_pii_eval(test::fixture("safety/pii_eval.jsonl"));
  PiiOptions only_email = PiiOptions::none();
  only_email.email = true;
  PiiEvalReport r = evaluate_pii(cases, only_email);
  for (int i = 0; i < kNumPiiTypes; ++i) {
    if (static_cast<PiiType>(i) == PiiType::kEmail) continue;
    EXPECT_EQ(r.per_type[i].tp + r.per_type[i].fp + r.per_type[i].fn, 0u);
  }
  EXPECT_GT(r.per_type[static_cast<int>(PiiType::kEmail)].tp, 100u);
}

TEST(PiiEval, BadFilesGiveTypedErrors) {
  std::string dir = test::temp_dir("pii_eval");
  EXPECT_THROW(load_pii_eval(dir + "/missing.jsonl"), NotFound);
  auto expect_format_error = [&](const std::string& content) {
    test::write_text(dir + "/bad.jsonl", content);
    EXPECT_THROW(load_pii_eval(dir + "/bad.jsonl"), FormatError) << content;
  };
  expect_format_error("not json\n");
  expect_format_error("{\"spans\": []}\n");
  expect_format_error(
      "{\"text\": \"ab\", \"spans\": [{\"type\": \"ssn\", \"start\": 0, \"end\": 1}]}\n");
  expect_format_error(
      "{\"text\": \"ab\", \"spans\": [{\"type\": \"ip\", \"start\": 1, \"end\": 5}]}\n");
  expect_format_error(
      "{\"text\": \"ab\", \"spans\": [{\"type\": \"ip\", \"start\": -1, \"end\": 1}]}\n");
  expect_format_error("{\"text\": \"ab\", \"spans\": {}}\n");
}

}  // namespace
}  // namespace deepfuse
