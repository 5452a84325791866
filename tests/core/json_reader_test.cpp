#include "core/json_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace deepfuse {
namespace {

std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + "1" + std::string(depth, ']');
}

std::string error_of(const std::string& text, const JsonLimits& lim = {}) {
  try {
    (void)parse_json(text, "input", lim);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(JsonReader, ParsesEveryValueKind) {
  const auto j =
      parse_json(R"({"i": -3, "u": 18446744073709551615, "d": 0.5, "s": "a\u00e9\n", "b": true,)"
                 R"( "n": null, "a": [1, [2]], "o": {"k": "v"}, "k": 1, "k": 2})",
                 "t");
  EXPECT_EQ(j["i"].get<int64_t>(), -3);
  EXPECT_EQ(j["u"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_DOUBLE_EQ(j["d"].get<double>(), 0.5);
  EXPECT_EQ(j["s"].get<std::string>(), "a\xc3\xa9\n");
  EXPECT_TRUE(j["b"].get<bool>());
  EXPECT_TRUE(j["n"].is_null());
  EXPECT_EQ(j["a"].dump(), "[1,[2]]");
  EXPECT_EQ(j["o"]["k"], "v");
  EXPECT_EQ(j["k"], 2);  // a repeated key keeps the last value, as nlohmann::json::parse does
  EXPECT_TRUE(j["i"].is_number_integer());
  // Like nlohmann::json::parse: a non-negative integer is unsigned, a negative one is not.
  EXPECT_TRUE(parse_json("[0, 7]", "t")[1].is_number_unsigned());
  EXPECT_FALSE(j["i"].is_number_unsigned());
  EXPECT_TRUE(j["d"].is_number_float());
}

TEST(JsonReader, IntegersBeyond64BitsAreDoublesAndOverflowIsAnError) {
  const auto j = parse_json(R"({"model_max_length": 1000000000000000019884624838656})", "t");
  EXPECT_TRUE(j["model_max_length"].is_number_float());
  EXPECT_DOUBLE_EQ(j["model_max_length"].get<double>(), 1e30);
  const std::string msg = error_of("[1e99999]");
  EXPECT_NE(msg.find("overflow"), std::string::npos) << msg;
  // The fallback parser keeps the depth limit.
  EXPECT_NE(
      error_of("[100000000000000000000000," + nested_arrays(1000) + "]").find("nested deeper"),
      std::string::npos);
}

TEST(JsonReader, OrderedKeepsKeyOrder) {
  JsonReader r;
  const auto j = r.parse_ordered(R"({"z": 1, "a": 2})", "t");
  EXPECT_EQ(j.begin().key(), "z");
}

TEST(JsonReader, RejectsDeepNestingWithoutCrashing) {
  EXPECT_NO_THROW(parse_json(nested_arrays(100), "t"));
  // 100,000 levels crashed the old recursive readers (issue 13).
  const std::string msg = error_of(nested_arrays(100000));
  EXPECT_NE(msg.find("nested deeper than 128 levels"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 200u) << msg;
  JsonLimits shallow;
  shallow.max_depth = 3;
  EXPECT_NE(error_of(nested_arrays(4), shallow).find("deeper than 3"), std::string::npos);
  EXPECT_EQ(error_of(nested_arrays(3), shallow), "");
}

TEST(JsonReader, RejectsOversizedDocuments) {
  JsonLimits small;
  small.max_bytes = 10;
  const std::string msg = error_of("[1,2,3,4,5,6]", small);
  EXPECT_NE(msg.find("larger than the limit of 10 bytes"), std::string::npos) << msg;
}

TEST(JsonReader, ErrorsQuoteAtMostEightyCharacters) {
  const std::string bad = "{\"ids\": [" + std::string(20000, '1') + "x]}";
  const std::string msg = error_of(bad);
  EXPECT_NE(msg.find("input: invalid JSON"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 200u) << msg;
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": }").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error_of("[1] trailing").find("invalid JSON"), std::string::npos);
}

TEST(JsonReader, ReusedReaderHandlesGrowingDocuments) {
  JsonReader r;
  EXPECT_EQ(r.parse("[1]", "a").size(), 1u);
  std::string big = "[";
  for (int i = 0; i < 100000; ++i) big += (i ? ",7" : "7");
  big += "]";
  EXPECT_EQ(r.parse(big, "b").size(), 100000u);
  EXPECT_EQ(r.parse("{}", "c").size(), 0u);
}

TEST(JsonExcerpt, CutsLongValuesAndKeepsUtf8Whole) {
  EXPECT_EQ(excerpt("short"), "short");
  const std::string cut = excerpt(std::string(100, 'a'), 80);
  EXPECT_EQ(cut, std::string(80, 'a') + "...");
  // "é" is two bytes; a cut between them backs up to the start of the character.
  EXPECT_EQ(excerpt("abc\xc3\xa9", 4), "abc...");
  nlohmann::json big = nlohmann::json::array();
  for (int i = 0; i < 100000; ++i) big.push_back(i);
  const std::string e = json_excerpt(big);
  EXPECT_LE(e.size(), 83u);
  EXPECT_EQ(e.substr(0, 6), "[0,1,2");
  EXPECT_EQ(json_excerpt(nlohmann::json{{"a", 1}}), "{\"a\":1}");
}

}  // namespace
}  // namespace deepfuse
