// `deepfuse inspect` on DeepSeek folders: config-only estimates (V2-Lite's real dimensions,
// no weights) and the family's notes (latent KV cache, skipped MTP layers, FP8 dequant).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace deepfuse {
namespace {

TEST(DeepseekInspect, V2LiteConfigOnlyReportsLatentKvBytes) {
  const auto r =
      test::run_cli({"inspect", "--model", test::fixture("deepseek/v2_lite_config"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["config_only"].get<bool>());
  // 27 layers x (kv_lora_rank 512 + qk_rope_head_dim 64) x dtype size.
  EXPECT_EQ(j["kv_bytes_per_token_bf16"].get<int64_t>(), 27 * 576 * 2);
  EXPECT_EQ(j["kv_bytes_per_token"].get<int64_t>(), 27 * 576 * 4);
  // DeepSeek-V2-Lite has 15.7B parameters in total.
  const double params = j["parameters"].get<double>();
  EXPECT_GT(params, 15.6e9);
  EXPECT_LT(params, 15.8e9);
  ASSERT_TRUE(j.contains("notes"));
  EXPECT_NE(j["notes"][0].get<std::string>().find("576 values per token"), std::string::npos);
}

TEST(DeepseekInspect, V3NotesMentionSkippedMtpAndFp8) {
  const auto r = test::run_cli({"inspect", "--model", test::fixture("deepseek/v3_fp8_tiny")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("MTP"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FP8"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace deepfuse
