// `deepfuse kb` exit codes, settings and reindex through the built binary (issue 14, items 3-4).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/test_util.h"

namespace deepfuse {
namespace {

namespace fs = std::filesystem;

nlohmann::json last_json(const std::string& out) {
  auto pos = out.find_last_of('\n', out.size() >= 2 ? out.size() - 2 : 0);
  return nlohmann::json::parse(pos == std::string::npos ? out : out.substr(pos + 1));
}

int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(KbCliSettings, FailedCreateDoesNotPoisonTheFolder) {
  std::string dir = test::temp_dir("kbcli_create");
  test::write_text(dir + "/x.md", "# Aspirin\nAspirin lowers fever.\n");
  auto r =
      test::run_cli({"kb", "ingest", "--kb", dir + "/kb", "--embedder", "hash:0", dir + "/x.md"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("hash:0"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/kb"));
  r = test::run_cli({"kb", "ingest", "--kb", dir + "/kb", dir + "/x.md"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(last_json(r.out)["added"], 1);
  // A missing input is refused before a knowledge base is created for it.
  r = test::run_cli({"kb", "ingest", "--kb", dir + "/kb2", dir + "/nope.jsonl"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(dir + "/kb2"));
}

TEST(KbCliSettings, ChangedSettingsAreRefusedAndReindexApplysThem) {
  std::string dir = test::temp_dir("kbcli_settings");
  std::string kb = dir + "/kb";
  test::write_text(dir + "/d.jsonl",
                   "{\"id\":\"a\",\"text\":\"aspirin lowers fever in adults and children\"}\n"
                   "{\"id\":\"b\",\"text\":\"insulin regulates blood sugar\"}\n");
  // BM25 only (`none`: no dense index, not even the shipped default embedder).
  ASSERT_EQ(test::run_cli({"kb", "ingest", "--kb", kb, "--embedder", "none", dir + "/d.jsonl"})
                .exit_code,
            0);
  // Same values as stored are fine.
  auto r = test::run_cli({"kb", "ingest", "--kb", kb, "--analyzer", "standard", dir + "/d.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(last_json(r.out)["unchanged"], 2);
  r = test::run_cli({"kb", "ingest", "--kb", kb, "--embedder", "hash:16", "--chunk-tokens", "3",
                     dir + "/d.jsonl"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("kb reindex --kb " + kb), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--embedder"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--chunk-tokens"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  r = test::run_cli({"kb", "search", "--kb", kb, "--query", "aspirin", "--mode", "dense"});
  EXPECT_EQ(r.exit_code, 2);  // still no embedder

  r = test::run_cli({"kb", "reindex", "--kb", kb, "--embedder", "hash:16", "--chunk-tokens", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = last_json(r.out);
  EXPECT_EQ(j["documents"], 2);
  EXPECT_EQ(j["chunks"], 5);  // chunks of 3 words: 7 words -> 3, 4 words -> 2
  r = test::run_cli({"kb", "stats", "--kb", kb});
  j = last_json(r.out);
  EXPECT_EQ(j["embedder"], "hash:16");
  EXPECT_EQ(j["chunk_tokens"], 3);
  EXPECT_EQ(j["analyzer"], "standard");  // not given: kept
  r = test::run_cli({"kb", "search", "--kb", kb, "--query", "aspirin", "--mode", "dense"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = test::run_cli({"kb", "reindex", "--kb", dir + "/none"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(dir + "/none"));
  r = test::run_cli({"kb", "reindex", "--help"});
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
}

TEST(KbCliSettings, NoValidLineExitsTwoAndMaxErrorsBoundsOutput) {
  std::string dir = test::temp_dir("kbcli_errors");
  std::string bad;
  for (int i = 0; i < 50; ++i) bad += "{\"_id\":\"" + std::to_string(i) + "\",\"body\":\"x\"}\n";
  test::write_text(dir + "/bad.jsonl", bad);
  auto r =
      test::run_cli({"kb", "ingest", "--kb", dir + "/kb", "--max-errors", "3", dir + "/bad.jsonl"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 5) << r.err;  // 3 errors, "... and N more", the error line
  EXPECT_NE(r.err.find("no valid document"), std::string::npos) << r.err;
  auto j = last_json(r.out);
  EXPECT_EQ(j["added"], 0);
  EXPECT_EQ(j["error_count"], 51);
  EXPECT_EQ(j["errors"].size(), 3u);
  r = test::run_cli(
      {"kb", "ingest", "--kb", dir + "/kb", "--max-errors", "-1", dir + "/bad.jsonl"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--max-errors"), std::string::npos) << r.err;
}

TEST(KbCliSettings, HelpDocumentsTheJsonlSchemaAndHitsCarryMetadata) {
  auto r = test::run_cli({"kb", "ingest", "--help"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char* field : {"\"id\"", "\"text\"", "\"title\"", "\"domain\"", "\"date\"", "\"year\"",
                            "\"source\"", "\"metadata\"", "--max-errors", "--lock-timeout"})
    EXPECT_NE(r.out.find(field), std::string::npos) << field;
  std::string dir = test::temp_dir("kbcli_meta");
  test::write_text(dir + "/d.jsonl",
                   "{\"id\":\"a\",\"text\":\"aspirin\",\"journal\":\"Nature\",\"citations\":12,"
                   "\"metadata\":{\"peer_reviewed\":true},\"year\":2020}\n");
  ASSERT_EQ(test::run_cli({"kb", "ingest", "--kb", dir + "/kb", dir + "/d.jsonl"}).exit_code, 0);
  r = test::run_cli(
      {"kb", "search", "--kb", dir + "/kb", "--query", "aspirin", "--filter", "journal=Nature"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto hit = last_json(r.out)["hits"].at(0);
  EXPECT_EQ(hit["metadata"]["journal"], "Nature");
  EXPECT_EQ(hit["metadata"]["citations"], 12.0);
  EXPECT_EQ(hit["metadata"]["peer_reviewed"], "true");
  EXPECT_EQ(hit["metadata"]["year"], 2020);
}

TEST(KbCliSettings, LockTimeoutFailsWithAMessage) {
  std::string dir = test::temp_dir("kbcli_lock");
  test::write_text(dir + "/d.jsonl", "{\"id\":\"a\",\"text\":\"aspirin\"}\n");
  ASSERT_EQ(test::run_cli({"kb", "ingest", "--kb", dir + "/kb", dir + "/d.jsonl"}).exit_code, 0);
  // flock(1) is not assumed installed: hold the lock from a shell through Python's fcntl.
  std::string hold = "python3 -c \"import fcntl,time; f=open('" + dir +
                     "/kb/write.lock','w'); fcntl.flock(f, fcntl.LOCK_EX); "
                     "open('" +
                     dir + "/held','w').close(); time.sleep(3)\" &";
  ASSERT_EQ(std::system(hold.c_str()), 0);
  for (int i = 0; i < 100 && !fs::exists(dir + "/held"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(dir + "/held"));
  test::write_text(dir + "/e.jsonl", "{\"id\":\"b\",\"text\":\"insulin\"}\n");
  auto r = test::run_cli(
      {"kb", "ingest", "--kb", dir + "/kb", "--lock-timeout", "0.3", dir + "/e.jsonl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("waiting for another writer"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--lock-timeout"), std::string::npos) << r.err;
  // A search meanwhile is not blocked.
  r = test::run_cli({"kb", "search", "--kb", dir + "/kb", "--query", "aspirin"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Without a timeout the writer waits for the holder and then succeeds.
  r = test::run_cli({"kb", "ingest", "--kb", dir + "/kb", dir + "/e.jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(last_json(r.out)["added"], 1);
}

}  // namespace
}  // namespace deepfuse
