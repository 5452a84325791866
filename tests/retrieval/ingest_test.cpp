#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/test_util.h"
#include "core/error.h"
#include "deepfuse/knowledge_base.h"
#include "retrieval/chunker.h"
#include "retrieval/eval.h"
#include "retrieval/ingest_files.h"

namespace deepfuse::retrieval {
namespace {

TEST(IngestFiles, MalformedLinesReportedWithFileAndLine) {
  std::string dir = test::temp_dir("ingest_bad");
  std::string f = dir + "/docs.jsonl";
  test::write_text(f,
                   "{\"id\": \"1\", \"text\": \"good one\"}\n"
                   "{not json\n"
                   "\n"
                   "{\"id\": \"3\"}\n"
                   "{\"_id\": 4, \"text\": \"good four\", \"metadata\": {\"lang\": \"en\", "
                   "\"pages\": 3}}\n"
                   "{\"id\": \"5\", \"text\": \"bad date\", \"date\": \"yesterday\"}\n");
  auto kb = KnowledgeBase::open(dir + "/kb");
  auto rep = ingest_paths(*kb, {f}, FileIngestOptions{});
  ASSERT_EQ(rep.errors.size(), 3u);
  EXPECT_EQ(rep.errors[0].file, f);
  EXPECT_EQ(rep.errors[0].line, 2);
  EXPECT_EQ(rep.errors[1].line, 4);
  EXPECT_NE(rep.errors[1].message.find("text"), std::string::npos);
  EXPECT_EQ(rep.errors[2].line, 6);
  EXPECT_EQ(rep.totals.added, 2);
  SearchOptions o;
  o.filters = {"lang=en", "pages>=3"};
  auto hits = kb->search("good", o);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].doc_id, "4");

  // Reject policy: nothing from the file is ingested.
  auto kb2 = KnowledgeBase::open(dir + "/kb2");
  FileIngestOptions rej;
  rej.on_error = OnError::kReject;
  rej.batch_size = 1;  // even with tiny batches nothing half-ingested remains
  auto rep2 = ingest_paths(*kb2, {f}, rej);
  EXPECT_EQ(rep2.rejected_files, std::vector<std::string>{f});
  EXPECT_EQ(kb2->stats().documents, 0);
  EXPECT_THROW(ingest_paths(*kb2, {dir + "/missing.jsonl"}, rej), NotFound);
}

TEST(IngestFiles, TextMarkdownAndFolders) {
  std::string dir = test::temp_dir("ingest_dir");
  std::filesystem::create_directories(dir + "/in/sub");
  test::write_text(dir + "/in/a.txt", "Plain text about glaciers.");
  test::write_text(dir + "/in/sub/b.md", "intro\n# Volcano notes\nLava flows downhill.");
  test::write_text(dir + "/in/ignored.csv", "x,y");
  test::write_text(dir + "/in/bad.txt", std::string("\xff\xfe broken", 9));
  auto kb = KnowledgeBase::open(dir + "/kb");
  auto rep = ingest_paths(*kb, {dir + "/in"}, FileIngestOptions{});
  EXPECT_EQ(rep.totals.added, 2);
  ASSERT_EQ(rep.errors.size(), 1u);
  EXPECT_NE(rep.errors[0].message.find("UTF-8"), std::string::npos);
  auto hits = kb->search("lava", SearchOptions{});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].doc_id, "sub/b.md");
  EXPECT_EQ(hits[0].title, "Volcano notes");
}

TEST(Chunker, SentenceBoundariesAndOverlapInEnglishAndChinese) {
  std::string en = "One two three. Four five six. Seven eight nine. Ten eleven twelve.";
  auto spans = chunk_text(en, 6, 3);
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(en.substr(spans[0].start, spans[0].end - spans[0].start),
            "One two three. Four five six.");
  EXPECT_EQ(en.substr(spans[1].start, spans[1].end - spans[1].start),
            "Four five six. Seven eight nine.");
  std::string zh = "今天天气很好。我们去公园散步！你去吗？";
  auto z = chunk_text(zh, 8, 0);
  ASSERT_EQ(z.size(), 3u);
  EXPECT_EQ(zh.substr(z[0].start, z[0].end - z[0].start), "今天天气很好。");
  EXPECT_EQ(zh.substr(z[1].start, z[1].end - z[1].start), "我们去公园散步！");
  // A sentence longer than the budget is cut at token boundaries.
  auto l = chunk_text("a b c d e f g h i j", 4, 0);
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(chunk_text("whole text", 0, 0).size(), 1u);
  EXPECT_TRUE(chunk_text("   ", 5, 1).empty());
  EXPECT_TRUE(chunk_text("\t\xC2\xA0\xE3\x80\x80\n", 5, 1).empty());  // NBSP, ideographic space
}

TEST(Chunker, InvalidUtf8IsTextNotWhiteSpace) {
  // Fuzz finding (fuzz_kb_ingest): a stray 0xA0 byte decoded as U+00A0 and the text had no
  // chunk. Invalid bytes, truncated and overlong sequences are content (U+FFFD) now.
  for (const char* t : {"\x0c\xa0", "\xa0", " \xc2", "\xc0\xa0", "\xe3\x80", "\xed\xa0\x80 "}) {
    const std::string text(t);
    const auto spans = chunk_text(text, 4, 1);
    ASSERT_EQ(spans.size(), 1u) << "text of " << text.size() << " bytes";
    EXPECT_LT(spans[0].start, spans[0].end);
    EXPECT_LE(spans[0].end, text.size());
  }
}

TEST(Eval, MetricsMatchDefinitions) {
  std::unordered_map<std::string, int> rel = {{"a", 1}, {"b", 1}};
  std::vector<std::string> ranked = {"x", "a", "y", "b"};
  double dcg = 1 / std::log2(3.0) + 1 / std::log2(5.0);
  double idcg = 1 + 1 / std::log2(3.0);
  EXPECT_NEAR(ndcg_at(ranked, rel, 10), dcg / idcg, 1e-12);
  EXPECT_NEAR(recall_at(ranked, rel, 2), 0.5, 1e-12);
  EXPECT_NEAR(mrr_at(ranked, rel, 10), 0.5, 1e-12);
  EXPECT_EQ(percentile({5, 1, 3, 2, 4}, 50), 3);
  std::string dir = test::temp_dir("eval_bad");
  test::write_text(dir + "/q.tsv", "query-id\tcorpus-id\tscore\nq1\td1\tx\n");
  EXPECT_THROW(read_qrels(dir + "/q.tsv"), FormatError);
  EXPECT_THROW(read_qrels(dir + "/none.tsv"), NotFound);
}

// Child half of the durability test: ingests batches forever, appending each acknowledged id
// (after ingest() returned) to an ack file. Skipped unless the parent test started it.
TEST(Durability, ChildWriter) {
  const char* dir = std::getenv("DEEPFUSE_KB_CHILD_DIR");
  if (!dir) GTEST_SKIP() << "runs only as the child of Durability.KilledMidIngestLosesNothing";
  auto kb = KnowledgeBase::open(std::string(dir) + "/kb");
  std::ofstream ack(std::string(dir) + "/acked.txt", std::ios::app);
  for (int b = 0;; ++b) {
    std::vector<Document> docs;
    for (int i = 0; i < 20; ++i) {
      Document d;
      d.id = "doc-" + std::to_string(b) + "-" + std::to_string(i);
      d.text = "durable record number " + std::to_string(b * 20 + i) + " with some words";
      d.year = 2000 + i;
      docs.push_back(d);
    }
    kb->ingest(docs);
    for (const auto& d : docs) ack << d.id << "\n";
    ack.flush();
  }
}

TEST(Durability, KilledMidIngestLosesNothing) {
  std::string dir = test::temp_dir("durability");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("DEEPFUSE_KB_CHILD_DIR", dir.c_str(), 1);
    execl("/proc/self/exe", "test_retrieval", "--gtest_filter=Durability.ChildWriter",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Let it acknowledge a few hundred documents, then kill it without warning.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  size_t acked = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(dir + "/acked.txt");
    acked = 0;
    std::string line;
    while (std::getline(in, line)) ++acked;
    if (acked >= 300) break;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own: " << status;
  ASSERT_GE(acked, 300u);

  auto kb = KnowledgeBase::open(dir + "/kb");
  std::ifstream in(dir + "/acked.txt");
  std::string id;
  size_t checked = 0;
  while (std::getline(in, id)) {
    ASSERT_TRUE(kb->get(id).has_value()) << "acknowledged document lost: " << id;
    ++checked;
  }
  EXPECT_GE(checked, 300u);
  // Consistent: every stored document has exactly its chunk, all searchable.
  auto s = kb->stats();
  EXPECT_EQ(s.documents, s.chunks);
  EXPECT_EQ(s.documents % 20, 0);  // whole batches only: a transaction is all or nothing
  SearchOptions o;
  o.top_k = 100000;
  EXPECT_EQ(static_cast<int64_t>(kb->search("durable", o).size()), s.documents);
}

}  // namespace
}  // namespace deepfuse::retrieval

namespace deepfuse::retrieval {
namespace {

// Writes the old-format fixture (tools/make_retrieval_fixtures.sh); skipped in normal runs.
TEST(Fixtures, WriteKbV1) {
  const char* out = std::getenv("DEEPFUSE_WRITE_KB_FIXTURE");
  if (!out) GTEST_SKIP() << "run by tools/make_retrieval_fixtures.sh";
  auto kb = KnowledgeBase::open(out);
  auto rep = ingest_paths(*kb, {test::fixture("retrieval/kb_v1_docs.jsonl")}, FileIngestOptions{});
  ASSERT_TRUE(rep.errors.empty());
  ASSERT_EQ(rep.totals.added, 3);
}

}  // namespace
}  // namespace deepfuse::retrieval
