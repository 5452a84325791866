// Knowledge base lifecycle: atomic creation, settings, reindex, write lock, refresh, a damaged
// store (issue 14, items 2-4).
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <filesystem>

#include "common/test_util.h"
#include "core/error.h"
#include "deepfuse/knowledge_base.h"

namespace deepfuse {
namespace {

namespace fs = std::filesystem;

Document doc(const std::string& id, const std::string& text) {
  Document d;
  d.id = id;
  d.text = text;
  return d;
}

int count_entries(const std::string& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(KbLifecycle, FailedCreateLeavesNothing) {
  std::string root = test::temp_dir("kb_failed_create");
  KbConfig bad_embedder;
  bad_embedder.embedder = "hash:0";
  EXPECT_THROW(KnowledgeBase::open(root + "/kb", bad_embedder), InvalidArgument);
  KbConfig bad_analyzer;
  bad_analyzer.analyzer = "klingon";
  EXPECT_THROW(KnowledgeBase::open(root + "/kb", bad_analyzer), InvalidArgument);
  KbConfig bad_chunks;
  bad_chunks.chunk_tokens = 8;
  bad_chunks.chunk_overlap = 8;
  EXPECT_THROW(KnowledgeBase::open(root + "/kb", bad_chunks), InvalidArgument);
  EXPECT_FALSE(fs::exists(root + "/kb"));
  EXPECT_EQ(count_entries(root), 0);  // no scratch folder either

  // A folder the user made stays as it was.
  fs::create_directories(root + "/mine");
  EXPECT_THROW(KnowledgeBase::open(root + "/mine", bad_embedder), InvalidArgument);
  EXPECT_EQ(count_entries(root + "/mine"), 0);

  // And the next, valid create works in both.
  auto kb = KnowledgeBase::open(root + "/kb");
  EXPECT_EQ(kb->ingest({doc("a", "aspirin")}).added, 1);
  auto kb2 = KnowledgeBase::open(root + "/mine");
  EXPECT_EQ(kb2->ingest({doc("a", "aspirin")}).added, 1);
  EXPECT_EQ(count_entries(root), 2);

  KbOpenOptions no_create;
  no_create.create = false;
  EXPECT_THROW(KnowledgeBase::open(root + "/none", {}, {}, no_create), NotFound);
  EXPECT_FALSE(fs::exists(root + "/none"));
}

TEST(KbLifecycle, ConfigDifferencesNameTheSettings) {
  KbConfig a, b;
  EXPECT_TRUE(config_differences(a, b).empty());
  b.embedder = "hash:8";
  b.chunk_tokens = 64;
  EXPECT_EQ(config_differences(a, b), (std::vector<std::string>{"chunk_tokens", "embedder"}));
}

TEST(KbLifecycle, ReindexChangesSettingsKeepsDocumentsAndRetiresOldHandles) {
  std::string dir = test::temp_dir("kb_reindex") + "/kb";
  auto kb = KnowledgeBase::open(dir);
  Document d = doc("a", "one two three four five six seven eight nine ten");
  d.fields["journal"] = "Nature";
  kb->ingest({d, doc("b", "aspirin lowers fever")});
  uint64_t v = kb->version();
  EXPECT_EQ(KnowledgeBase::stored_config(dir).embedder, "");

  KbConfig cfg;
  cfg.embedder = "hash:16";
  cfg.chunk_tokens = 4;
  std::vector<std::pair<int64_t, int64_t>> seen;
  EXPECT_EQ(KnowledgeBase::reindex(
                dir, cfg, {}, [&](int64_t done, int64_t total) { seen.emplace_back(done, total); }),
            2);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), (std::pair<int64_t, int64_t>{2, 2}));
  EXPECT_EQ(count_entries(fs::path(dir).parent_path().string()), 1);  // no scratch left

  // The handle opened before the rebuild may not write into the retired store.
  try {
    kb->ingest({doc("c", "late")});
    FAIL() << "a write through a retired handle succeeded";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("reopen"), std::string::npos) << e.what();
  }

  EXPECT_THROW(kb->refresh(), InvalidArgument);

  auto kb2 = KnowledgeBase::open(dir);
  auto st = kb2->stats();
  EXPECT_EQ(st.documents, 2);
  EXPECT_EQ(st.chunks, 4);  // 10 words in chunks of 4: 3 chunks; plus 1
  EXPECT_EQ(st.dim, 16);
  EXPECT_GT(st.version, v);
  EXPECT_EQ(kb2->get("a")->fields.at("journal"), "Nature");
  SearchOptions o;
  o.mode = SearchMode::kDense;
  EXPECT_FALSE(kb2->search("aspirin", o).empty());

  KbConfig bad;
  bad.embedder = "hash:0";
  EXPECT_THROW(KnowledgeBase::reindex(dir, bad), InvalidArgument);
  EXPECT_EQ(KnowledgeBase::open(dir)->stats().dim, 16);  // untouched
  EXPECT_THROW(KnowledgeBase::reindex(dir + "-missing", cfg), NotFound);
}

TEST(KbLifecycle, WriterWaitsForTheLockThenTimesOut) {
  std::string dir = test::temp_dir("kb_lock") + "/kb";
  KbOpenOptions opts;
  opts.lock_timeout_seconds = 0.2;
  int waits = 0;
  std::string wait_msg;
  opts.on_lock_wait = [&](const std::string& m) {
    ++waits;
    wait_msg = m;
  };
  auto kb = KnowledgeBase::open(dir, {}, {}, opts);
  kb->ingest({doc("a", "first")});
  // Another holder: a separate open file description conflicts like another process.
  int fd = ::open((dir + "/write.lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  try {
    kb->ingest({doc("b", "second")});
    FAIL() << "ingest did not time out";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--lock-timeout"), std::string::npos) << e.what();
  }
  EXPECT_EQ(waits, 1);
  EXPECT_NE(wait_msg.find("write.lock"), std::string::npos) << wait_msg;
  // Readers never wait for the lock.
  SearchOptions o;
  EXPECT_EQ(kb->search("first", o).size(), 1u);
  EXPECT_TRUE(kb->search("second", o).empty());
  ::flock(fd, LOCK_UN);
  ::close(fd);
  EXPECT_EQ(kb->ingest({doc("b", "second")}).added, 1);
  EXPECT_EQ(kb->search("second", o).size(), 1u);
}

TEST(KbLifecycle, TwoHandlesStayConsistent) {
  std::string dir = test::temp_dir("kb_two_handles") + "/kb";
  auto a = KnowledgeBase::open(dir);
  auto b = KnowledgeBase::open(dir);
  a->ingest({doc("x", "alpha"), doc("y", "beta")});
  SearchOptions o;
  EXPECT_TRUE(b->search("alpha", o).empty());  // b sees its own snapshot until refresh
  EXPECT_TRUE(b->refresh());
  EXPECT_FALSE(b->refresh());
  EXPECT_EQ(b->search("alpha", o).size(), 1u);
  uint64_t va = a->version();
  EXPECT_EQ(b->version(), va);
  // a writes again; b writes without refreshing: b reloads first, so "x" is replaced, not
  // duplicated, and the version moves past a's.
  a->ingest({doc("z", "gamma")});
  auto r = b->ingest({doc("x", "alpha again")});
  EXPECT_EQ(r.updated, 1);
  EXPECT_EQ(r.added, 0);
  EXPECT_EQ(r.version, va + 2);
  auto c = KnowledgeBase::open(dir);
  EXPECT_EQ(c->stats().documents, 3);
  EXPECT_EQ(c->stats().chunks, 3);
  EXPECT_EQ(c->search("alpha", o).size(), 1u);
  EXPECT_EQ(c->version(), va + 2);
}

TEST(KbLifecycle, TamperedChunkOffsetsAreReportedAndReindexRepairsThem) {
  std::string dir = test::temp_dir("kb_tamper") + "/kb";
  {
    auto kb = KnowledgeBase::open(dir);
    kb->ingest({doc("a", "aspirin lowers fever"), doc("b", "insulin")});
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/kb.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE chunks SET end = end + 1000 WHERE doc_id = 'a'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  try {
    KnowledgeBase::open(dir);
    FAIL() << "a store with broken chunk offsets opened";
  } catch (const FormatError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("document 'a'"), std::string::npos) << m;
    EXPECT_NE(m.find("kb reindex"), std::string::npos) << m;
  }
  EXPECT_EQ(KnowledgeBase::reindex(dir, KnowledgeBase::stored_config(dir)), 2);
  auto kb = KnowledgeBase::open(dir);
  auto hits = kb->search("fever", SearchOptions{});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].end, 20);
}

TEST(KbLifecycle, HitsCarryAllMetadata) {
  auto kb = KnowledgeBase::open(test::temp_dir("kb_hit_meta") + "/kb");
  Document d = doc("a", "aspirin");
  d.fields["journal"] = "Nature";
  d.numbers["citations"] = 12;
  kb->ingest({d});
  auto hits = kb->search("aspirin", SearchOptions{});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].fields.at("journal"), "Nature");
  EXPECT_EQ(hits[0].numbers.at("citations"), 12);
}

}  // namespace
}  // namespace deepfuse
