// deepfuse knowledge base: documents with metadata in SQLite, searchable the moment ingest()
// returns by BM25 (English and Chinese analyzers), dense vectors (FAISS) or both, with filters.
//
//   auto kb = deepfuse::KnowledgeBase::open("kb/");
//   kb->ingest({{.id = "d1", .title = "Aspirin", .text = "...", .domain = "medical", .year =
//   2023}}); deepfuse::SearchOptions o; o.top_k = 3; o.filters = {"domain=medical", "year>2022"};
//   for (const auto& hit : kb->search("aspirin dose", o)) ...
//
// Thread safety: every method may be called from any thread. Writers (ingest, remove) are
// serialised; searches run concurrently with them and see each document either entirely before
// or entirely after a write, never a mix. Per-query settings are arguments (SearchOptions).
//
// Processes: any number may open one folder. Writes are serialised across processes by an
// exclusive lock on DIR/write.lock held for the duration of each write call; a writer that finds
// the store changed by another process reloads it before writing, so ids stay unique and the
// version counter only grows. Readers take no lock and never wait for a writer; each process
// sees whole commits, its own at once and other processes' after refresh() (or a reopen).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deepfuse/embedder.h"

namespace deepfuse {

// One document. `id` and `text` are required. `date` is ISO "YYYY-MM-DD" (or "YYYY-MM" /
// "YYYY"); `year` defaults to the date's year. Extra metadata goes in `fields` (strings) and
// `numbers` (numeric, filterable with < > etc.).
struct Document {
  std::string id;
  std::string title;
  std::string text;
  std::string domain;
  std::string date;
  std::optional<int64_t> year;
  std::string source;
  std::map<std::string, std::string> fields;
  std::map<std::string, double> numbers;
};

// Settings fixed when a knowledge base is created (stored in it; later opens ignore these;
// `kb reindex` rebuilds a knowledge base with new ones).
struct KbConfig {
  std::string analyzer = "standard";  // standard | cjk-unigram | whitespace
  int chunk_tokens = 0;        // chunk budget in tokens (words, or CJK characters); 0: no chunking
  int chunk_overlap = 0;       // tokens of overlap between consecutive chunks
  std::string embedder;        // "" (BM25 only), "hash:DIM" or a model folder (dense search)
  std::string query_prefix;    // prepended to queries before embedding (e.g. "query: ")
  std::string passage_prefix;  // prepended to passages before embedding (e.g. "passage: ")
  std::string dense_index = "hnsw";  // hnsw | flat
  int hnsw_m = 32;
};

// Names of the settings whose values differ between `a` and `b` ("analyzer", "embedder", ...).
std::vector<std::string> config_differences(const KbConfig& a, const KbConfig& b);

// How a process opens a knowledge base (not stored; per process).
struct KbOpenOptions {
  // Create the knowledge base when `dir` holds none; false: NotFound instead.
  bool create = true;
  // Seconds a write waits for another process's write lock: < 0 waits for ever, 0 not at all.
  // A write that times out throws Error (nothing is written).
  double lock_timeout_seconds = -1;
  // Called once when a write starts waiting for another process's lock (a message naming the
  // folder). May be empty.
  std::function<void(const std::string&)> on_lock_wait;
};

// Progress of a long rebuild: (documents done, documents in total).
using KbProgress = std::function<void(int64_t, int64_t)>;

enum class SearchMode { kBm25, kDense, kHybrid };
enum class FieldMode { kFlat, kMultifield };  // title+text as one field, or scored separately
enum class Fusion { kRrf, kWeighted };

struct SearchOptions {
  int top_k = 10;
  SearchMode mode = SearchMode::kBm25;
  FieldMode fields = FieldMode::kFlat;
  // Metadata filters, ANDed: field=value, field!=value, field>N, field>=N, field<N, field<=N.
  std::vector<std::string> filters;
  double k1 = 0.9;
  double b = 0.4;
  bool lucene_norms = false;  // lengths through Lucene's lossy 1-byte norm (as Anserini)
  Fusion fusion = Fusion::kRrf;
  double rrf_k = 60;
  double dense_weight = 0.5;  // weighted fusion: dense share, after min-max normalisation
  int candidates = 100;       // depth of each list before hybrid fusion
  int ef_search = 128;        // HNSW search breadth (raised to top_k when smaller)
  bool per_document = false;  // at most one hit (the best chunk) per document
  bool exact_dense = false;   // dense search by brute force (the reference for recall)
};

struct SearchHit {
  std::string doc_id;
  int chunk = 0;      // chunk number within the document
  int64_t start = 0;  // byte offsets of the chunk in the document text
  int64_t end = 0;
  double score = 0;
  std::string title;
  std::string text;  // the chunk's text
  std::string domain;
  std::string date;
  std::optional<int64_t> year;
  std::string source;
  std::map<std::string, std::string> fields;  // the document's other metadata
  std::map<std::string, double> numbers;
};

struct IngestReport {
  int64_t added = 0;      // new document ids
  int64_t updated = 0;    // existing ids whose content changed (chunks replaced)
  int64_t unchanged = 0;  // same content hash: skipped
  int64_t chunks = 0;     // chunks written
  uint64_t version = 0;   // index version after the write
};

struct KbStats {
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t terms = 0;  // distinct index terms
  uint64_t version = 0;
  int format_version = 0;
  std::string analyzer;
  std::string embedder;
  int dim = 0;
};

class KnowledgeBase {
 public:
  // Current on-disk format version (the `format_version` row of the meta table).
  static constexpr int kFormatVersion = 1;

  // Opens (or creates) the knowledge base in folder `dir` and builds the in-memory indexes from
  // the SQLite store. `config` applies only when the folder holds no knowledge base yet.
  // `embedder` overrides the one the stored config names (tests, callers sharing a model).
  // Creation is atomic: the settings (and the embedder they name) are checked first, the store
  // is written in a sibling folder and renamed into place, so a failed create leaves nothing.
  // FormatError when a chunk's stored offsets do not fit its document (a damaged kb.sqlite).
  static std::unique_ptr<KnowledgeBase> open(const std::string& dir, const KbConfig& config = {},
                                             std::shared_ptr<retrieval::Embedder> embedder = {},
                                             const KbOpenOptions& options = {});

  // Rebuilds the knowledge base in `dir` with `config` (re-chunked, re-analysed, re-embedded
  // from the stored documents) in a sibling folder, then swaps it in atomically. Holds the write
  // lock throughout; processes that have the old one open must reopen it before writing (their
  // writes fail with a message saying so). Returns the number of documents.
  static int64_t reindex(const std::string& dir, const KbConfig& config,
                         const KbOpenOptions& options = {}, const KbProgress& progress = {});

  // The settings stored in the knowledge base in `dir`, read without opening its indexes.
  // NotFound when `dir` holds none.
  static KbConfig stored_config(const std::string& dir);

  // Loads what other processes committed since this one last looked; true when it changed.
  // InvalidArgument ("reopen it") when `kb reindex` replaced the folder meanwhile.
  bool refresh();
  ~KnowledgeBase();
  KnowledgeBase(const KnowledgeBase&) = delete;
  KnowledgeBase& operator=(const KnowledgeBase&) = delete;

  // Adds or replaces documents in one transaction; durable and searchable when it returns.
  // InvalidArgument (naming the document) for an empty id or text, or a duplicate id in `docs`.
  IngestReport ingest(const std::vector<Document>& docs);
  // Removes documents; returns how many existed.
  int64_t remove(const std::vector<std::string>& ids);

  std::vector<SearchHit> search(const std::string& query, const SearchOptions& options) const;
  // Dense search with a ready query vector (size = stats().dim).
  std::vector<SearchHit> search_vector(const std::vector<float>& query,
                                       const SearchOptions& options) const;

  std::optional<Document> get(const std::string& id) const;
  KbStats stats() const;
  // Changes on every write that changes the index (caches key on it).
  uint64_t version() const;
  const KbConfig& config() const;

  struct Impl;

 private:
  explicit KnowledgeBase(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deepfuse
