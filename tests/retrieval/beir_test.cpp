// Acceptance numbers on the real BEIR data in ../shared/data/retrieval (skipped when absent).
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "common/test_util.h"
#include "deepfuse/knowledge_base.h"
#include "retrieval/eval.h"
#include "retrieval/ingest_files.h"

namespace deepfuse::retrieval {
namespace {

struct Loaded {
  std::unique_ptr<KnowledgeBase> kb;
  std::vector<EvalQuery> queries;
  Qrels qrels;
};

Loaded load(const std::string& name, const std::string& analyzer) {
  std::string root = test::shared_data("retrieval/" + name);
  Loaded l;
  if (!std::filesystem::exists(root + "/corpus.jsonl")) return l;
  KbConfig cfg;
  cfg.analyzer = analyzer;
  l.kb = KnowledgeBase::open(test::temp_dir("beir_" + name + "_" + analyzer), cfg);
  FileIngestOptions fo;
  fo.batch_size = 10000;
  auto rep = ingest_paths(*l.kb, {root + "/corpus.jsonl"}, fo);
  EXPECT_TRUE(rep.errors.empty());
  l.queries = read_queries(root + "/queries.jsonl");
  l.qrels = read_qrels(root + "/qrels/test.tsv");
  return l;
}

void print(const std::string& what, const EvalResult& r) {
  std::cout << "[beir] " << what << ": ndcg@10=" << r.ndcg_at_10
            << " recall@100=" << r.recall_at_100 << " mrr@10=" << r.mrr_at_10
            << " queries=" << r.queries << " p50_ms=" << r.latency_p50_ms
            << " p99_ms=" << r.latency_p99_ms << "\n";
}

TEST(Beir, SciFactBm25MatchesAnserini) {
  Loaded l = load("scifact", "standard");
  if (!l.kb) GTEST_SKIP() << "scifact not in shared data";
  SearchOptions o;
  auto flat = evaluate(*l.kb, l.queries, l.qrels, o);
  print("scifact flat", flat);
  EXPECT_EQ(flat.queries, 300);
  EXPECT_GE(flat.ndcg_at_10, 0.670);
  EXPECT_GE(flat.recall_at_100, 0.91);
  o.fields = FieldMode::kMultifield;
  auto multi = evaluate(*l.kb, l.queries, l.qrels, o);
  print("scifact multifield", multi);
  EXPECT_NEAR(multi.ndcg_at_10, 0.665, 0.01);
  EXPECT_NEAR(multi.recall_at_100, 0.908, 0.01);
  o.fields = FieldMode::kFlat;
  o.lucene_norms = true;
  print("scifact flat lucene-norms", evaluate(*l.kb, l.queries, l.qrels, o));
  o.fields = FieldMode::kMultifield;
  print("scifact multifield lucene-norms", evaluate(*l.kb, l.queries, l.qrels, o));
}

TEST(Beir, Cmrc2018ChineseAnalyzerBeatsBaselines) {
  Loaded zh = load("cmrc2018-zh", "standard");
  if (!zh.kb) GTEST_SKIP() << "cmrc2018-zh not in shared data";
  SearchOptions o;
  auto bigram = evaluate(*zh.kb, zh.queries, zh.qrels, o);
  print("cmrc2018-zh standard (CJK bigrams)", bigram);
  Loaded uni = load("cmrc2018-zh", "cjk-unigram");
  auto unigram = evaluate(*uni.kb, uni.queries, uni.qrels, o);
  print("cmrc2018-zh cjk-unigram baseline", unigram);
  Loaded ws = load("cmrc2018-zh", "whitespace");
  auto white = evaluate(*ws.kb, ws.queries, ws.qrels, o);
  print("cmrc2018-zh whitespace baseline", white);
  EXPECT_GE(bigram.ndcg_at_10, 0.95);
  EXPECT_GT(bigram.ndcg_at_10, unigram.ndcg_at_10 + 0.02);
  EXPECT_GT(bigram.ndcg_at_10, white.ndcg_at_10 + 0.5);
}

}  // namespace
}  // namespace deepfuse::retrieval
