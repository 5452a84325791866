#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>

#include "common/test_util.h"
#include "core/error.h"
#include "deepfuse/knowledge_base.h"
#include "retrieval/doc_store.h"
#include "retrieval/embedder.h"

namespace deepfuse {
namespace {

Document doc(const std::string& id, const std::string& text, const std::string& title = "",
             const std::string& domain = "", const std::string& date = "") {
  Document d;
  d.id = id;
  d.text = text;
  d.title = title;
  d.domain = domain;
  d.date = date;
  return d;
}

std::vector<std::string> ids(const std::vector<SearchHit>& hits) {
  std::vector<std::string> out;
  for (const auto& h : hits) out.push_back(h.doc_id);
  return out;
}

TEST(KnowledgeBase, IngestSearchReplaceDelete) {
  auto kb = KnowledgeBase::open(test::temp_dir("kb_basic"));
  EXPECT_EQ(kb->version(), 0u);
  auto r = kb->ingest({doc("a", "Aspirin reduces fever and pain."),
                       doc("b", "Insulin regulates blood sugar."),
                       doc("c", "Fever is a common symptom of influenza.")});
  EXPECT_EQ(r.added, 3);
  uint64_t v1 = kb->version();
  EXPECT_GT(v1, 0u);
  SearchOptions o;
  EXPECT_EQ(ids(kb->search("fevers", o)).size(), 2u);  // stemmed: fevers -> fever
  EXPECT_EQ(ids(kb->search("insulin", o)), std::vector<std::string>{"b"});

  // Same content: skipped by hash, no version change.
  r = kb->ingest({doc("b", "Insulin regulates blood sugar.")});
  EXPECT_EQ(r.unchanged, 1);
  EXPECT_EQ(kb->version(), v1);

  // Replacing a document: old terms gone, new ones searchable at once.
  r = kb->ingest({doc("b", "Metformin lowers glucose.")});
  EXPECT_EQ(r.updated, 1);
  EXPECT_GT(kb->version(), v1);
  EXPECT_TRUE(kb->search("insulin", o).empty());
  EXPECT_EQ(ids(kb->search("metformin", o)), std::vector<std::string>{"b"});
  EXPECT_EQ(kb->stats().documents, 3);

  EXPECT_EQ(kb->remove({"a", "zzz"}), 1);
  EXPECT_EQ(ids(kb->search("fever", o)), std::vector<std::string>{"c"});
  EXPECT_EQ(kb->stats().documents, 2);
  EXPECT_FALSE(kb->get("a").has_value());
  ASSERT_TRUE(kb->get("b").has_value());
  EXPECT_EQ(kb->get("b")->text, "Metformin lowers glucose.");

  EXPECT_THROW(kb->ingest({doc("", "x")}), InvalidArgument);
  EXPECT_THROW(kb->ingest({doc("x", "")}), InvalidArgument);
  EXPECT_THROW(kb->ingest({doc("x", "a"), doc("x", "b")}), InvalidArgument);
}

// BM25 exactly as Lucene: hand-computed on a three-document corpus.
TEST(KnowledgeBase, Bm25MatchesLuceneFormula) {
  auto kb = KnowledgeBase::open(test::temp_dir("kb_bm25"));
  kb->ingest({doc("1", "apple banana apple"), doc("2", "banana cherry"),
              doc("3", "cherry date elderberry fig")});
  SearchOptions o;
  auto hits = kb->search("apple banana", o);
  ASSERT_EQ(hits.size(), 2u);
  const double k1 = 0.9, b = 0.4, n = 3, avgdl = (3.0 + 2 + 4) / 3;
  auto idf = [&](double df) { return std::log(1 + (n - df + 0.5) / (df + 0.5)); };
  auto tfn = [&](double tf, double dl) { return tf / (tf + k1 * (1 - b + b * dl / avgdl)); };
  double s1 = idf(1) * tfn(2, 3) + idf(2) * tfn(1, 3);
  double s2 = idf(2) * tfn(1, 2);
  EXPECT_EQ(hits[0].doc_id, "1");
  EXPECT_NEAR(hits[0].score, s1, 1e-5);
  EXPECT_NEAR(hits[1].score, s2, 1e-5);
  // A repeated query term counts twice (Anserini's bag-of-words query weights).
  auto twice = kb->search("cherry cherry", o);
  auto once = kb->search("cherry", o);
  ASSERT_EQ(twice.size(), 2u);
  EXPECT_NEAR(twice[0].score, 2 * once[0].score, 1e-5);
  // k1 and b are per query.
  o.k1 = 1.2;
  o.b = 0.75;
  EXPECT_NE(kb->search("apple banana", o)[0].score, hits[0].score);
}

TEST(KnowledgeBase, MultifieldScoresTitleAndTextSeparately) {
  auto kb = KnowledgeBase::open(test::temp_dir("kb_multi"));
  kb->ingest({doc("1", "nothing relevant here", "Diabetes care"),
              doc("2", "diabetes diabetes diabetes", ""), doc("3", "other words", "unrelated")});
  SearchOptions o;
  o.fields = FieldMode::kMultifield;
  auto hits = kb->search("diabetes", o);
  ASSERT_EQ(hits.size(), 2u);
  // Title-only match scores against title statistics (2 docs with a title).
  o.fields = FieldMode::kFlat;
  EXPECT_EQ(kb->search("diabetes", o).size(), 2u);
}

TEST(KnowledgeBase, Filters) {
  auto kb = KnowledgeBase::open(test::temp_dir("kb_filter"));
  Document a = doc("a", "flu vaccine study", "", "medical", "2021-03-01");
  Document b = doc("b", "flu season report", "", "medical", "2023-11-20");
  Document c = doc("c", "flu market prices", "", "finance", "2024-01-05");
  c.source = "reuters";
  c.numbers["pages"] = 12;
  kb->ingest({a, b, c});
  SearchOptions o;
  auto q = [&](std::vector<std::string> f) {
    o.filters = std::move(f);
    auto r = ids(kb->search("flu", o));
    std::sort(r.begin(), r.end());
    return r;
  };
  EXPECT_EQ(q({"domain=medical"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(q({"domain=medical", "year>2022"}), (std::vector<std::string>{"b"}));
  EXPECT_EQ(q({"year>=2023"}), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(q({"date<2023-12"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(q({"domain!=medical"}), (std::vector<std::string>{"c"}));
  EXPECT_EQ(q({"source=reuters"}), (std::vector<std::string>{"c"}));
  EXPECT_EQ(q({"pages<=12"}), (std::vector<std::string>{"c"}));
  EXPECT_EQ(q({"year<2000"}), (std::vector<std::string>{}));
  for (std::string bad : {"year>>2022", "=x", "domain", "year>abc", "date>2023-13", "domain="}) {
    o.filters = {bad};
    try {
      kb->search("flu", o);
      ADD_FAILURE() << "no error for " << bad;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos) << e.what();
    }
  }
}

TEST(KnowledgeBase, ChunksKeepDocumentIdAndOffsets) {
  KbConfig cfg;
  cfg.chunk_tokens = 8;
  cfg.chunk_overlap = 4;
  auto kb = KnowledgeBase::open(test::temp_dir("kb_chunks"), cfg);
  std::string text =
      "Alpha one two three. Beta four five six. Gamma seven eight nine. Delta ten eleven.";
  kb->ingest({doc("d", text)});
  EXPECT_GT(kb->stats().chunks, 2);
  SearchOptions o;
  o.top_k = 20;
  auto hits = kb->search("gamma", o);
  ASSERT_FALSE(hits.empty());
  for (const auto& h : hits) {
    EXPECT_EQ(h.doc_id, "d");
    EXPECT_EQ(text.substr(h.start, h.end - h.start), h.text);
    EXPECT_NE(h.text.find("Gamma"), std::string::npos);
  }
  o.per_document = true;
  EXPECT_EQ(kb->search("gamma", o).size(), 1u);
}

TEST(KnowledgeBase, ReopenRebuildsFromStore) {
  std::string dir = test::temp_dir("kb_reopen");
  uint64_t v;
  {
    auto kb = KnowledgeBase::open(dir);
    kb->ingest({doc("x", "persistent knowledge survives"), doc("y", "gone soon")});
    kb->remove({"y"});
    v = kb->version();
  }
  auto kb = KnowledgeBase::open(dir);
  EXPECT_EQ(kb->version(), v);
  EXPECT_EQ(kb->stats().documents, 1);
  EXPECT_EQ(ids(kb->search("knowledge", SearchOptions{})), std::vector<std::string>{"x"});
  EXPECT_TRUE(kb->search("gone", SearchOptions{}).empty());
}

TEST(KnowledgeBase, DenseSearchFlatAndHnsw) {
  for (std::string kind : {"flat", "hnsw"}) {
    KbConfig cfg;
    cfg.embedder = "hash:256";
    cfg.dense_index = kind;
    auto kb = KnowledgeBase::open(test::temp_dir("kb_dense_" + kind), cfg);
    std::vector<Document> docs;
    for (int i = 0; i < 300; ++i)
      docs.push_back(
          doc("d" + std::to_string(i),
              "topic" + std::to_string(i) + " word" + std::to_string(i % 7) + " filler text", "",
              i % 10 == 0 ? "rare" : "common"));
    kb->ingest(docs);
    SearchOptions o;
    o.mode = SearchMode::kDense;
    o.top_k = 5;
    auto hits = kb->search("topic42 word0", o);
    ASSERT_FALSE(hits.empty());
    // d42 shares both query terms: the best score (hash collisions may tie others with it).
    bool found = false;
    for (const auto& h : hits) found |= h.doc_id == "d42" && h.score >= hits[0].score - 1e-6;
    EXPECT_TRUE(found) << kind;
    // A selective filter is searched exactly: every allowed document can be found.
    o.filters = {"domain=rare"};
    o.top_k = 30;
    auto rare = kb->search("topic42", o);
    EXPECT_EQ(rare.size(), 30u);
    for (const auto& h : rare) EXPECT_EQ(h.domain, "rare");
    // Deleted documents never come back.
    kb->remove({"d42"});
    o.filters.clear();
    o.top_k = 5;
    for (const auto& h : kb->search("topic42 word0", o)) EXPECT_NE(h.doc_id, "d42");
    // Hybrid: both fusions.
    o.mode = SearchMode::kHybrid;
    o.fusion = Fusion::kRrf;
    EXPECT_FALSE(kb->search("topic7", o).empty());
    o.fusion = Fusion::kWeighted;
    auto w = kb->search("topic7", o);
    ASSERT_FALSE(w.empty());
    EXPECT_EQ(w[0].doc_id, "d7");
  }
}

TEST(KnowledgeBase, DenseWithoutEmbedderIsAClearError) {
  auto kb = KnowledgeBase::open(test::temp_dir("kb_noemb"));
  kb->ingest({doc("a", "text")});
  SearchOptions o;
  o.mode = SearchMode::kDense;
  EXPECT_THROW(kb->search("text", o), InvalidArgument);
  o.mode = SearchMode::kBm25;
  o.top_k = 0;
  EXPECT_THROW(kb->search("text", o), InvalidArgument);
}

// Searches racing with replacements see each document wholly old or wholly new.
TEST(KnowledgeBase, ConcurrentSearchSeesWholeVersions) {
  KbConfig cfg;
  cfg.chunk_tokens = 4;
  auto kb = KnowledgeBase::open(test::temp_dir("kb_conc"), cfg);
  auto make = [](int v) {
    std::string t;
    for (int c = 0; c < 6; ++c)
      t += "shared ver" + std::to_string(v) + " part" + std::to_string(c) + ". ";
    return doc("d", t);
  };
  kb->ingest({make(0)});
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, searches{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      SearchOptions o;
      o.top_k = 100;
      while (!stop) {
        auto hits = kb->search("shared", o);
        std::string ver;
        for (const auto& h : hits) {
          auto p = h.text.find("ver");
          std::string v = h.text.substr(p, h.text.find(' ', p) - p);
          if (ver.empty()) ver = v;
          if (v != ver) ++bad;
        }
        if (hits.size() != 6) ++bad;
        ++searches;
      }
    });
  }
  for (int v = 1; v <= 40; ++v) kb->ingest({make(v)});
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(searches.load(), 0);
}

TEST(KnowledgeBase, FormatVersionAndCorruptFiles) {
  namespace fs = std::filesystem;
  // Old fixture made by tools/make_retrieval_fixtures.sh with format version 1.
  std::string dir = test::temp_dir("kb_fixture");
  fs::copy_file(test::fixture("retrieval/kb_v1/kb.sqlite"), dir + "/kb.sqlite");
  {
    auto kb = KnowledgeBase::open(dir);
    EXPECT_EQ(kb->stats().documents, 3);
    SearchOptions o;
    o.filters = {"domain=medical"};
    auto hits = kb->search("aspirin", o);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].doc_id, "med-1");
    EXPECT_EQ(kb->search("北京", SearchOptions{}).size(), 1u);
  }
  // A newer format is refused with a clear message.
  std::string future = test::temp_dir("kb_future");
  { auto kb = KnowledgeBase::open(future); }
  retrieval::DocStore(future + "/kb.sqlite").set_meta("format_version", "99");
  try {
    KnowledgeBase::open(future);
    ADD_FAILURE() << "opened a format-99 knowledge base";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("format version 99"), std::string::npos) << e.what();
  }
  std::string corrupt = test::temp_dir("kb_corrupt");
  test::write_text(corrupt + "/kb.sqlite", std::string(4096, 'x'));
  EXPECT_THROW(KnowledgeBase::open(corrupt), Error);
}

}  // namespace
}  // namespace deepfuse

namespace deepfuse {
namespace {

// Dense search through a real encoder folder (the models module's tiny random BERT fixture).
TEST(KnowledgeBase, DenseWithEncoderModelFolder) {
  std::string model = test::fixture("models/enc_bert");
  if (!std::filesystem::exists(model + "/config.json")) GTEST_SKIP() << "no enc_bert fixture";
  KbConfig cfg;
  cfg.embedder = model;
  cfg.dense_index = "flat";
  auto kb = KnowledgeBase::open(test::temp_dir("kb_bert"), cfg);
  EXPECT_EQ(kb->stats().embedder, model);
  EXPECT_GT(kb->stats().dim, 0);
  kb->ingest({doc("a", "the cat sat on the mat"), doc("b", "stock prices fell sharply"),
              doc("c", "a recipe for apple pie")});
  SearchOptions o;
  o.mode = SearchMode::kDense;
  o.top_k = 3;
  // The passage text itself as query: cosine 1 with its own vector, so it ranks first.
  auto hits = kb->search("stock prices fell sharply", o);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].doc_id, "b");
  EXPECT_NEAR(hits[0].score, 1.0, 1e-4);
  // Reopening recreates the embedder from the stored config.
  std::string dir = test::temp_dir("kb_bert2");
  {
    auto k2 = KnowledgeBase::open(dir, cfg);
    k2->ingest({doc("x", "hello world")});
  }
  auto k2 = KnowledgeBase::open(dir);
  EXPECT_EQ(k2->search("hello world", o)[0].doc_id, "x");
}

}  // namespace
}  // namespace deepfuse
