// `deepfuse bench serve` through the built binary (build `deepfuse` with test_engine): a small
// run on a fixture model prints the documented JSON; bad flags exit 2 with one line naming them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace deepfuse {
namespace {

TEST(BenchServeCli, SmallRunOnAFixturePrintsOneJsonObject) {
  const auto r =
      test::run_cli({"bench", "serve", "--model", test::fixture("models/llama_f32"),
                     "--concurrency", "1,4", "--new-tokens", "3", "--prompt-tokens", "5",
                     "--baseline-requests", "2", "--prefix-tokens", "40", "--ttft-repeats", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["bench"], "serve");
  ASSERT_EQ(j["concurrent"].size(), 2u);
  EXPECT_EQ(j["concurrent"][1]["concurrency"], 4);
  EXPECT_EQ(j["concurrent"][1]["output_tokens"], 12);
  EXPECT_GT(j["one_by_one"]["output_tokens_per_s"].get<double>(), 0);
  // A 40-token shared prefix in blocks of 16: the two blocks wholly inside it are reused (the
  // third mixes prefix and the request's own suffix).
  EXPECT_EQ(j["ttft"]["cached_prompt_tokens"], 32);
  EXPECT_GT(j["engine"]["prefix_hit_blocks"].get<int64_t>(), 0);
}

TEST(BenchServeCli, BadFlagsExitTwoWithOneLine) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--concurrency", "0"},
        {"--new-tokens", "0"},
        {"--prompt-tokens", "-3"},
        {"--prefix-tokens", "5"},
        {"--layers", "0"},
        {"--concurrency", "64", "--max-batch-tokens", "32"}}) {
    std::vector<std::string> cmd = {"bench", "serve"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    const auto r = test::run_cli(cmd);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find(args.size() == 4 ? args[2] : args[0]), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace deepfuse
