// BEIR-format evaluation: queries.jsonl ({"_id","text"}), qrels TSV (query-id, corpus-id, score,
// with a header line), metrics as pytrec_eval computes them for BEIR: nDCG@10 (linear gain),
// Recall@100, MRR@10, averaged over the queries that have relevance judgements.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "deepfuse/knowledge_base.h"

namespace deepfuse::retrieval {

struct EvalQuery {
  std::string id;
  std::string text;
};
using Qrels = std::unordered_map<std::string, std::unordered_map<std::string, int>>;

// FormatError naming file and line for malformed content; NotFound for a missing file.
std::vector<EvalQuery> read_queries(const std::string& path);
Qrels read_qrels(const std::string& path);

struct EvalResult {
  int64_t queries = 0;
  double ndcg_at_10 = 0;
  double recall_at_100 = 0;
  double mrr_at_10 = 0;
  double latency_p50_ms = 0, latency_p90_ms = 0, latency_p99_ms = 0, latency_mean_ms = 0;
};

// Metrics of one ranked list of document ids against its judgements.
double ndcg_at(const std::vector<std::string>& ranked,
               const std::unordered_map<std::string, int>& rel, size_t k);
double recall_at(const std::vector<std::string>& ranked,
                 const std::unordered_map<std::string, int>& rel, size_t k);
double mrr_at(const std::vector<std::string>& ranked,
              const std::unordered_map<std::string, int>& rel, size_t k);

// Runs every judged query (top 100 documents, best chunk per document) and averages.
EvalResult evaluate(const KnowledgeBase& kb, const std::vector<EvalQuery>& queries,
                    const Qrels& qrels, SearchOptions options);

// p in [0, 100] over unsorted samples (nearest rank on the sorted copy).
double percentile(std::vector<double> samples, double p);

}  // namespace deepfuse::retrieval
