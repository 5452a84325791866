#include "retrieval/kb_config.h"

#include <unistd.h>

#include <atomic>

#include "core/error.h"
#include "retrieval/analyzer.h"

namespace deepfuse {

std::vector<std::string> config_differences(const KbConfig& a, const KbConfig& b) {
  std::vector<std::string> out;
  if (a.analyzer != b.analyzer) out.push_back("analyzer");
  if (a.chunk_tokens != b.chunk_tokens) out.push_back("chunk_tokens");
  if (a.chunk_overlap != b.chunk_overlap) out.push_back("chunk_overlap");
  if (a.embedder != b.embedder) out.push_back("embedder");
  if (a.query_prefix != b.query_prefix) out.push_back("query_prefix");
  if (a.passage_prefix != b.passage_prefix) out.push_back("passage_prefix");
  if (a.dense_index != b.dense_index) out.push_back("dense_index");
  if (a.hnsw_m != b.hnsw_m) out.push_back("hnsw_m");
  return out;
}

namespace retrieval {

nlohmann::json config_to_json(const KbConfig& c) {
  return {{"analyzer", c.analyzer},           {"chunk_tokens", c.chunk_tokens},
          {"chunk_overlap", c.chunk_overlap}, {"embedder", c.embedder},
          {"query_prefix", c.query_prefix},   {"passage_prefix", c.passage_prefix},
          {"dense_index", c.dense_index},     {"hnsw_m", c.hnsw_m}};
}

KbConfig config_from_json(const nlohmann::json& j, const std::string& where) {
  KbConfig c;
  try {
    c.analyzer = j.value("analyzer", c.analyzer);
    c.chunk_tokens = j.value("chunk_tokens", c.chunk_tokens);
    c.chunk_overlap = j.value("chunk_overlap", c.chunk_overlap);
    c.embedder = j.value("embedder", c.embedder);
    c.query_prefix = j.value("query_prefix", c.query_prefix);
    c.passage_prefix = j.value("passage_prefix", c.passage_prefix);
    c.dense_index = j.value("dense_index", c.dense_index);
    c.hnsw_m = j.value("hnsw_m", c.hnsw_m);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(where + ": malformed config: " + e.what());
  }
  return c;
}

void validate_config(const KbConfig& c) {
  parse_analyzer(c.analyzer);
  DF_CHECK(c.chunk_tokens >= 0 && c.chunk_tokens <= 1000000, InvalidArgument,
           "chunk_tokens " << c.chunk_tokens << " out of range: expected 0 (no chunking) to 1e6");
  DF_CHECK(c.chunk_overlap >= 0 && (c.chunk_tokens == 0 || c.chunk_overlap < c.chunk_tokens),
           InvalidArgument,
           "chunk_overlap " << c.chunk_overlap << " must be >= 0 and < chunk_tokens ("
                            << c.chunk_tokens << ")");
  DF_CHECK(c.dense_index == "flat" || c.dense_index == "hnsw", InvalidArgument,
           "unknown dense index '" << c.dense_index << "': expected flat or hnsw");
  DF_CHECK(c.hnsw_m >= 2 && c.hnsw_m <= 512, InvalidArgument,
           "hnsw_m " << c.hnsw_m << " out of range: expected 2..512");
}

std::filesystem::path scratch_path(const std::filesystem::path& target, const std::string& tag) {
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path t = target.lexically_normal();
  if (t.filename().empty()) t = t.parent_path();
  // Appended piece by piece: g++ 12 warns (-Wrestrict, a false positive) on one long concatenation.
  std::string name = ".";
  name += t.filename().string();
  name += '.';
  name += tag;
  name += '-';
  name += std::to_string(::getpid());
  name += '-';
  name += std::to_string(counter++);
  return t.parent_path() / name;
}

}  // namespace retrieval
}  // namespace deepfuse
