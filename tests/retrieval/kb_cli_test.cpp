// `deepfuse kb ...` end to end through the built binary (DEEPFUSE_BIN).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace deepfuse {
namespace {

nlohmann::json last_json(const std::string& out) {
  auto pos = out.find_last_of('\n', out.size() >= 2 ? out.size() - 2 : 0);
  std::string line = pos == std::string::npos ? out : out.substr(pos + 1);
  return nlohmann::json::parse(line);
}

TEST(KbCli, IngestSearchDeleteStats) {
  std::string dir = test::temp_dir("kbcli");
  std::string kb = dir + "/kb";
  test::write_text(
      dir + "/docs.jsonl",
      "{\"id\":\"m1\",\"title\":\"Flu\",\"text\":\"Influenza vaccine trial.\","
      "\"domain\":\"medical\",\"year\":2023}\n"
      "{broken\n"
      "{\"id\":\"f1\",\"text\":\"Vaccine makers' stocks rose.\",\"domain\":\"finance\","
      "\"date\":\"2021-05-01\"}\n");
  auto r = test::run_cli({"kb", "ingest", "--kb", kb, dir + "/docs.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("docs.jsonl:2:"), std::string::npos) << r.err;
  auto j = last_json(r.out);
  EXPECT_EQ(j["added"], 2);
  EXPECT_EQ(j["error_count"], 1);

  r = test::run_cli({"kb", "search", "--kb", kb, "--query", "vaccines", "--filter",
                     "domain=medical", "--filter", "year>2022"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = last_json(r.out);
  ASSERT_EQ(j["hits"].size(), 1u);
  EXPECT_EQ(j["hits"][0]["id"], "m1");
  EXPECT_EQ(j["hits"][0]["title"], "Flu");

  r = test::run_cli({"kb", "search", "--kb", kb, "--query", "x", "--filter", "year>>1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("year>>1"), std::string::npos) << r.err;

  // Reject policy: the whole file is refused, exit 2, nothing added.
  test::write_text(dir + "/more.jsonl", "{\"id\":\"n1\",\"text\":\"new doc\"}\n{\"id\":\"n2\"}\n");
  r = test::run_cli({"kb", "ingest", "--kb", kb, "--on-error", "reject", dir + "/more.jsonl"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("more.jsonl:2:"), std::string::npos) << r.err;

  r = test::run_cli({"kb", "delete", "--kb", kb, "f1", "nope"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(last_json(r.out)["deleted"], 1);

  r = test::run_cli({"kb", "stats", "--kb", kb});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = last_json(r.out);
  EXPECT_EQ(j["documents"], 1);
  EXPECT_EQ(j["format_version"], 1);

  r = test::run_cli({"kb", "search", "--kb", dir + "/missing", "--query", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir + "/missing"));

  r = test::run_cli({"kb", "search", "--help"});
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
}

TEST(KbCli, EvalOnBeirLayout) {
  std::string dir = test::temp_dir("kbcli_eval");
  std::filesystem::create_directories(dir + "/beir/qrels");
  test::write_text(dir + "/beir/corpus.jsonl",
                   "{\"_id\":\"d1\",\"title\":\"\",\"text\":\"glaciers melt in summer\"}\n"
                   "{\"_id\":\"d2\",\"title\":\"\",\"text\":\"volcanoes erupt lava\"}\n"
                   "{\"_id\":\"d3\",\"title\":\"\",\"text\":\"summer holidays at the beach\"}\n");
  test::write_text(dir + "/beir/queries.jsonl",
                   "{\"_id\":\"q1\",\"text\":\"lava volcano\"}\n"
                   "{\"_id\":\"q2\",\"text\":\"glacier melting\"}\n"
                   "{\"_id\":\"q3\",\"text\":\"unjudged\"}\n");
  test::write_text(dir + "/beir/qrels/test.tsv",
                   "query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td1\t1\n");
  auto r = test::run_cli({"kb", "eval", "--beir", dir + "/beir"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = last_json(r.out);
  EXPECT_EQ(j["queries"], 2);
  EXPECT_DOUBLE_EQ(j["ndcg@10"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["recall@100"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["mrr@10"].get<double>(), 1.0);
  EXPECT_TRUE(j["latency_ms"].contains("p99"));
}

}  // namespace
}  // namespace deepfuse
