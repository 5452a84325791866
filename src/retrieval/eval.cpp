#include "retrieval/eval.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace deepfuse::retrieval {

std::vector<EvalQuery> read_queries(const std::string& path) {
  std::ifstream in(path);
  DF_CHECK(in, NotFound, "queries file " << path << " not found");
  std::vector<EvalQuery> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    DF_CHECK(j.is_object(), FormatError,
             path << ":" << n << ": invalid JSON: expected {\"_id\": ..., \"text\": ...}");
    const nlohmann::json* id = j.contains("_id")  ? &j["_id"]
                               : j.contains("id") ? &j["id"]
                                                  : nullptr;
    DF_CHECK(id && (id->is_string() || id->is_number_integer()), FormatError,
             path << ":" << n << ": missing \"_id\": expected a string");
    DF_CHECK(j.contains("text") && j["text"].is_string(), FormatError,
             path << ":" << n << ": missing \"text\": expected a string");
    out.push_back({id->is_string() ? id->get<std::string>() : std::to_string(id->get<int64_t>()),
                   j["text"].get<std::string>()});
  }
  return out;
}

Qrels read_qrels(const std::string& path) {
  std::ifstream in(path);
  DF_CHECK(in, NotFound, "qrels file " << path << " not found");
  Qrels q;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::istringstream ss(line);
    std::string qid, did, score;
    std::getline(ss, qid, '\t');
    std::getline(ss, did, '\t');
    std::getline(ss, score, '\t');
    if (n == 1 && qid == "query-id") continue;  // header
    int s = 0;
    try {
      size_t used = 0;
      s = std::stoi(score, &used);
      if (used != score.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw FormatError(path + ":" + std::to_string(n) +
                        ": expected query-id<TAB>corpus-id<TAB>integer score");
    }
    DF_CHECK(!qid.empty() && !did.empty(), FormatError,
             path << ":" << n << ": expected query-id<TAB>corpus-id<TAB>integer score");
    q[qid][did] = s;
  }
  return q;
}

double ndcg_at(const std::vector<std::string>& ranked,
               const std::unordered_map<std::string, int>& rel, size_t k) {
  double dcg = 0;
  for (size_t i = 0; i < std::min(k, ranked.size()); ++i) {
    auto it = rel.find(ranked[i]);
    if (it != rel.end() && it->second > 0) dcg += it->second / std::log2(double(i) + 2.0);
  }
  std::vector<int> ideal;
  for (const auto& [d, r] : rel)
    if (r > 0) ideal.push_back(r);
  std::sort(ideal.rbegin(), ideal.rend());
  double idcg = 0;
  for (size_t i = 0; i < std::min(k, ideal.size()); ++i)
    idcg += ideal[i] / std::log2(double(i) + 2.0);
  return idcg > 0 ? dcg / idcg : 0.0;
}

double recall_at(const std::vector<std::string>& ranked,
                 const std::unordered_map<std::string, int>& rel, size_t k) {
  size_t total = 0, hit = 0;
  for (const auto& [d, r] : rel) total += r > 0;
  for (size_t i = 0; i < std::min(k, ranked.size()); ++i) {
    auto it = rel.find(ranked[i]);
    hit += it != rel.end() && it->second > 0;
  }
  return total ? double(hit) / double(total) : 0.0;
}

double mrr_at(const std::vector<std::string>& ranked,
              const std::unordered_map<std::string, int>& rel, size_t k) {
  for (size_t i = 0; i < std::min(k, ranked.size()); ++i) {
    auto it = rel.find(ranked[i]);
    if (it != rel.end() && it->second > 0) return 1.0 / double(i + 1);
  }
  return 0.0;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

EvalResult evaluate(const KnowledgeBase& kb, const std::vector<EvalQuery>& queries,
                    const Qrels& qrels, SearchOptions options) {
  options.top_k = 100;
  options.per_document = true;
  EvalResult r;
  std::vector<double> lat;
  for (const auto& q : queries) {
    auto it = qrels.find(q.id);
    if (it == qrels.end()) continue;
    auto t0 = std::chrono::steady_clock::now();
    auto hits = kb.search(q.text, options);
    auto t1 = std::chrono::steady_clock::now();
    lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    std::vector<std::string> ranked;
    ranked.reserve(hits.size());
    for (auto& h : hits)
      if (h.doc_id != q.id) ranked.push_back(h.doc_id);  // BEIR ignores self-matches
    r.ndcg_at_10 += ndcg_at(ranked, it->second, 10);
    r.recall_at_100 += recall_at(ranked, it->second, 100);
    r.mrr_at_10 += mrr_at(ranked, it->second, 10);
    ++r.queries;
  }
  if (r.queries > 0) {
    r.ndcg_at_10 /= double(r.queries);
    r.recall_at_100 /= double(r.queries);
    r.mrr_at_10 /= double(r.queries);
  }
  r.latency_p50_ms = percentile(lat, 50);
  r.latency_p90_ms = percentile(lat, 90);
  r.latency_p99_ms = percentile(lat, 99);
  double sum = 0;
  for (double x : lat) sum += x;
  r.latency_mean_ms = lat.empty() ? 0 : sum / double(lat.size());
  return r;
}

}  // namespace deepfuse::retrieval
