// `deepfuse mask` end to end: plain and JSON output, type switches, styles, --eval, bad usage.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace deepfuse {
namespace {

using test::run_cli;

TEST(MaskCli, PlainTextLineByLine) {
  auto r = run_cli({"mask"},
                   "card 4111 1111 1111 1111\n手机13812345678，生日2024年1月2日\nnothing here");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "card [CARD]\n手机[PHONE]，生日[DATE]\nnothing here");
}

TEST(MaskCli, JsonWithSpans) {
  auto r = run_cli({"mask", "--json", "--with-original"}, "mail a@b.com from 10.0.0.1\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["text"], "mail [EMAIL] from [IP]");
  ASSERT_EQ(j["spans"].size(), 2u);
  EXPECT_EQ(j["spans"][0]["type"], "email");
  EXPECT_EQ(j["spans"][0]["start"], 5);
  EXPECT_EQ(j["spans"][0]["end"], 12);
  EXPECT_EQ(j["spans"][0]["original"], "a@b.com");
  EXPECT_EQ(j["spans"][1]["type"], "ip");
  // Without --with-original the PII is not echoed back.
  auto r2 = run_cli({"mask", "--json"}, "mail a@b.com\n");
  EXPECT_FALSE(nlohmann::json::parse(r2.out)["spans"][0].contains("original"));
}

TEST(MaskCli, TypeSwitchesAndStyle) {
  const std::string in = "a@b.com 2024-01-02 13812345678\n";
  EXPECT_EQ(run_cli({"mask", "--no-date"}, in).out, "[EMAIL] 2024-01-02 [PHONE]\n");
  EXPECT_EQ(run_cli({"mask", "--types", "date,phone"}, in).out, "a@b.com [DATE] [PHONE]\n");
  EXPECT_EQ(run_cli({"mask", "--style", "mask"}, in).out, "[MASK] [MASK] [MASK]\n");
  EXPECT_EQ(run_cli({"mask", "--types", "card"}, "order 1234567812345670\n").out,
            "order 1234567812345670\n");
  EXPECT_EQ(run_cli({"mask", "--any-card-prefix"}, "order 1234567812345670\n").out,
            "order [CARD]\n");
}

TEST(MaskCli, Eval) {
  auto r = run_cli({"mask", "--eval", test::fixture("safety/pii_eval.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["overall"]["recall"].get<double>(), 0.99);
  EXPECT_GE(j["overall"]["precision"].get<double>(), 0.99);
  EXPECT_TRUE(j["types"].contains("iban"));
}

TEST(MaskCli, BadUsageExitsTwo) {
  auto r = run_cli({"mask", "--types", "card,ssn"}, "x\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ssn"), std::string::npos);
  EXPECT_EQ(run_cli({"mask", "--style", "stars"}, "x\n").exit_code, 2);
  auto missing = run_cli({"mask", "--eval", "/nonexistent/eval.jsonl"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("/nonexistent/eval.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace deepfuse
