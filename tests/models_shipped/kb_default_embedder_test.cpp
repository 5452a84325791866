// A knowledge base created by the CLI uses the shipped embedding model unless --embedder says
// otherwise (issue 15): dense and hybrid search work without a flag; `none` keeps BM25 only.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "common/test_util.h"

namespace deepfuse {
namespace {

const char* kDocs =
    R"({"id":"d1","text":"Metformin lowers blood sugar in type 2 diabetes.","domain":"medical"})"
    "\n"
    R"({"id":"d2","text":"高血压患者应该低盐饮食，按时服药。","domain":"medical"})"
    "\n"
    R"({"id":"d3","text":"The central bank raised interest rates by half a point.","domain":"finance"})"
    "\n";

TEST(ShippedKbDefault, IngestUsesTheShippedEmbedder) {
  const std::string dir = test::temp_dir("kb-default-embedder");
  test::write_text(dir + "/docs.jsonl", kDocs);
  auto r = test::run_cli({"kb", "ingest", "--kb", dir + "/kb", dir + "/docs.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_cli({"kb", "stats", "--kb", dir + "/kb"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = nlohmann::json::parse(r.out);
  EXPECT_NE(s["embedder"].get<std::string>().find("deepfuse-embed-small"), std::string::npos);
  EXPECT_EQ(s["dim"], 256);
  // A paraphrase with no shared content word ranks the right document first by meaning.
  r = test::run_cli({"kb", "search", "--kb", dir + "/kb", "--query", "高血压怎么办", "--mode",
                     "dense", "--top-k", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["hits"][0]["id"], "d2") << r.out;
  r = test::run_cli({"kb", "search", "--kb", dir + "/kb", "--query", "diabetes drug", "--mode",
                     "hybrid", "--top-k", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["hits"][0]["id"], "d1") << r.out;
}

TEST(ShippedKbDefault, EmbedderNoneIsBm25Only) {
  const std::string dir = test::temp_dir("kb-no-embedder");
  test::write_text(dir + "/docs.jsonl", kDocs);
  auto r = test::run_cli(
      {"kb", "ingest", "--kb", dir + "/kb", "--embedder", "none", dir + "/docs.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_cli({"kb", "stats", "--kb", dir + "/kb"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["embedder"], "");
  r = test::run_cli(
      {"kb", "search", "--kb", dir + "/kb", "--query", "diabetes", "--mode", "dense"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("embedder"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace deepfuse
