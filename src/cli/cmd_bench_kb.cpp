// `deepfuse bench kb`: knowledge base ingestion rate, BM25 query latency (a BEIR corpus and a
// synthetic Zipfian corpus, with the time to open it and the latency while another process
// ingests), and dense search latency + HNSW recall@10 against exact search.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cli/bench_registry.h"
#include "cli/cli_util.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "deepfuse/knowledge_base.h"
#include "retrieval/eval.h"
#include "retrieval/ingest_files.h"

namespace deepfuse::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& tag) {
    path =
        (fs::temp_directory_path() / ("deepfuse-bench-" + tag + "-" + std::to_string(::getpid())))
            .string();
    fs::remove_all(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

nlohmann::json latency_json(const std::vector<double>& ms) {
  double sum = 0;
  for (double x : ms) sum += x;
  return {{"p50_ms", retrieval::percentile(ms, 50)},
          {"p90_ms", retrieval::percentile(ms, 90)},
          {"p99_ms", retrieval::percentile(ms, 99)},
          {"mean_ms", ms.empty() ? 0 : sum / double(ms.size())},
          {"queries", ms.size()}};
}

// Words drawn from a Zipf(1.0) distribution over `vocab` synthetic words.
class ZipfWords {
 public:
  ZipfWords(int vocab, uint64_t seed) : rng_(seed) {
    cdf_.resize(vocab);
    double s = 0;
    for (int i = 0; i < vocab; ++i) cdf_[i] = (s += 1.0 / (i + 1));
    for (double& c : cdf_) c /= s;
  }
  int next_rank() {
    double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }
  static std::string word(int rank) {
    // Letters only, so the analyzer keeps each word as one term (base-26 spelling).
    std::string w = "w";
    for (int r = rank;; r /= 26) {
      w.push_back(static_cast<char>('a' + r % 26));
      if (r < 26) break;
    }
    return w;
  }
  std::string text(int n) {
    std::string t;
    for (int i = 0; i < n; ++i) {
      if (i) t += ' ';
      t += word(next_rank());
    }
    return t;
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::vector<double> cdf_;
};

double max_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Starts `deepfuse kb ingest --kb dir jsonl` (this binary) with its output discarded.
pid_t spawn_ingest(const std::string& dir, const std::string& jsonl) {
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> args = {exe, "kb", "ingest", "--kb", dir, jsonl};
  std::vector<char*> argv;
  for (auto& x : args) argv.push_back(x.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  DF_CHECK(rc == 0, Error, "bench kb: cannot start a concurrent ingest: " << std::strerror(rc));
  return pid;
}

void bench_beir(const std::string& beir, int repeats) {
  TempDir tmp("beir");
  auto kb = KnowledgeBase::open(tmp.path);
  auto t0 = Clock::now();
  auto rep = retrieval::ingest_paths(*kb, {(fs::path(beir) / "corpus.jsonl").string()},
                                     retrieval::FileIngestOptions{});
  double ingest_ms = ms_since(t0);
  auto queries = retrieval::read_queries((fs::path(beir) / "queries.jsonl").string());
  SearchOptions o;
  o.top_k = 10;
  std::vector<double> lat;
  for (int r = 0; r < repeats; ++r)
    for (const auto& q : queries) {
      auto q0 = Clock::now();
      kb->search(q.text, o);
      lat.push_back(ms_since(q0));
    }
  print_json_line({{"bench", "kb"},
                   {"corpus", beir},
                   {"documents", rep.totals.added},
                   {"ingest_docs_per_s", rep.totals.added / (ingest_ms / 1000.0)},
                   {"ingest_seconds", ingest_ms / 1000.0},
                   {"bm25_top10", latency_json(lat)},
                   {"threads", ThreadPool::global().num_threads()}});
}

void bench_synthetic(int64_t n, int len, int vocab, int nq, int64_t concurrent) {
  TempDir tmp("synthetic");
  const std::string kb_dir = tmp.path + "/kb";
  auto kb = KnowledgeBase::open(kb_dir);
  ZipfWords z(vocab, 42);
  const int64_t batch = 20000;
  double gen_ms = 0, ingest_ms = 0;
  Progress progress("synthetic ingest", n, "docs");
  for (int64_t b = 0; b < n; b += batch) {
    auto g0 = Clock::now();
    std::vector<Document> docs;
    for (int64_t i = b; i < std::min(n, b + batch); ++i) {
      Document d;
      d.id = "p" + std::to_string(i);
      d.text = z.text(len);
      d.year = 2000 + i % 25;
      docs.push_back(std::move(d));
    }
    gen_ms += ms_since(g0);
    auto i0 = Clock::now();
    kb->ingest(docs);
    ingest_ms += ms_since(i0);
    progress.set(std::min(n, b + batch));
  }
  progress.finish();
  // Queries of 2-5 words from the same distribution.
  std::vector<std::string> qs;
  std::uniform_int_distribution<int> qlen(2, 5);
  for (int i = 0; i < nq; ++i) qs.push_back(z.text(qlen(z.rng())));
  SearchOptions o;
  o.top_k = 10;
  std::vector<double> lat, lat_f;
  for (const auto& q : qs) {
    auto q0 = Clock::now();
    kb->search(q, o);
    lat.push_back(ms_since(q0));
  }
  o.filters = {"year>=2020"};
  for (const auto& q : qs) {
    auto q0 = Clock::now();
    kb->search(q, o);
    lat_f.push_back(ms_since(q0));
  }
  o.filters.clear();
  const double rss_mb = max_rss_mb();
  // Opening what is on disk, as a CLI query or a server start does.
  auto o0 = Clock::now();
  auto reopened = KnowledgeBase::open(kb_dir);
  const double open_ms = ms_since(o0);
  reopened.reset();
  // BM25 latency in this process while another process ingests into the same folder.
  nlohmann::json during = nullptr;
  if (concurrent > 0) {
    std::string jsonl = tmp.path + "/concurrent.jsonl";
    {
      std::ofstream out(jsonl);
      for (int64_t i = 0; i < concurrent; ++i)
        out << nlohmann::json({{"id", "c" + std::to_string(i)}, {"text", z.text(len)}}).dump()
            << "\n";
    }
    std::vector<double> lat_c;
    auto c0 = Clock::now();
    pid_t pid = spawn_ingest(kb_dir, jsonl);
    int status = 0;
    for (size_t i = 0; waitpid(pid, &status, WNOHANG) == 0; ++i) {
      auto q0 = Clock::now();
      kb->search(qs[i % qs.size()], o);
      lat_c.push_back(ms_since(q0));
    }
    const double ingest_s = ms_since(c0) / 1000.0;
    DF_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, Error,
             "bench kb: the concurrent ingest failed (status " << status << ")");
    auto r0 = Clock::now();
    kb->refresh();
    const double refresh_ms = ms_since(r0);
    during = {{"documents", concurrent},
              {"ingest_seconds", ingest_s},
              {"bm25_top10", latency_json(lat_c)},
              {"refresh_ms", refresh_ms},
              {"documents_after_refresh", kb->stats().documents}};
  }
  print_json_line({{"bench", "kb"},
                   {"corpus", "synthetic-zipf"},
                   {"documents", n},
                   {"words_per_doc", len},
                   {"vocab", vocab},
                   {"ingest_docs_per_s", n / (ingest_ms / 1000.0)},
                   {"ingest_seconds", ingest_ms / 1000.0},
                   {"open_ms", open_ms},
                   {"max_rss_mb", rss_mb},
                   {"bm25_top10", latency_json(lat)},
                   {"bm25_top10_filtered_year", latency_json(lat_f)},
                   {"during_concurrent_ingest", during},
                   {"threads", ThreadPool::global().num_threads()}});
}

void bench_dense(int64_t n, int dim, int nq, const std::string& kind, int ef) {
  TempDir tmp("dense");
  KbConfig cfg;
  cfg.embedder = "hash:" + std::to_string(dim);
  cfg.dense_index = kind;
  auto kb = KnowledgeBase::open(tmp.path, cfg);
  ZipfWords z(20000, 7);
  auto t0 = Clock::now();
  for (int64_t b = 0; b < n; b += 10000) {
    std::vector<Document> docs;
    for (int64_t i = b; i < std::min(n, b + 10000); ++i) {
      Document d;
      d.id = "v" + std::to_string(i);
      d.text = z.text(16);
      docs.push_back(std::move(d));
    }
    kb->ingest(docs);
  }
  double ingest_ms = ms_since(t0);
  SearchOptions o;
  o.mode = SearchMode::kDense;
  o.top_k = 10;
  o.ef_search = ef;
  SearchOptions exact = o;
  exact.exact_dense = true;
  std::vector<double> lat, lat_exact;
  double recall = 0;
  for (int q = 0; q < nq; ++q) {
    std::string text = z.text(4);
    auto q0 = Clock::now();
    auto approx = kb->search(text, o);
    lat.push_back(ms_since(q0));
    auto e0 = Clock::now();
    auto truth = kb->search(text, exact);
    lat_exact.push_back(ms_since(e0));
    size_t hit = 0;
    for (const auto& t : truth)
      for (const auto& a : approx) hit += a.doc_id == t.doc_id;
    recall += truth.empty() ? 1.0 : double(hit) / double(truth.size());
  }
  print_json_line({{"bench", "kb"},
                   {"corpus", "dense-hash"},
                   {"index", kind},
                   {"documents", n},
                   {"dim", dim},
                   {"ef_search", ef},
                   {"ingest_docs_per_s", n / (ingest_ms / 1000.0)},
                   {"recall_at_10_vs_exact", recall / nq},
                   {"dense_top10", latency_json(lat)},
                   {"exact_top10", latency_json(lat_exact)},
                   {"threads", ThreadPool::global().num_threads()}});
}

void add_bench_kb(CLI::App& bench) {
  CLI::App* cmd = bench.add_subcommand(
      "kb", "Knowledge base: ingestion docs/s, BM25 p50/p99, dense latency and HNSW recall");
  struct Args {
    std::string beir;
    int repeats = 1;
    int64_t synthetic = 1000000;
    int words = 24, vocab = 100000, queries = 1000;
    int64_t dense = 50000;
    int64_t concurrent = 20000;
    int dim = 128, ef = 128;
    std::string dense_index = "hnsw";
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--beir", a->beir, "BEIR folder to ingest and query (skipped when empty)");
  cmd->add_option("--repeats", a->repeats, "Passes over the BEIR queries")->default_val(1);
  cmd->add_option("--synthetic", a->synthetic, "Synthetic Zipfian passages (0 skips)")
      ->default_val(1000000);
  cmd->add_option("--words", a->words, "Words per synthetic passage")->default_val(24);
  cmd->add_option("--vocab", a->vocab, "Synthetic vocabulary size")->default_val(100000);
  cmd->add_option("--queries", a->queries, "Synthetic queries")->default_val(1000);
  cmd->add_option("--concurrent-ingest", a->concurrent,
                  "Synthetic: passages another process ingests while this one searches (0 skips)")
      ->default_val(20000);
  cmd->add_option("--dense", a->dense, "Passages for the dense benchmark (0 skips)")
      ->default_val(50000);
  cmd->add_option("--dim", a->dim, "Dense dimension (hash embedder)")->default_val(128);
  cmd->add_option("--ef-search", a->ef, "HNSW efSearch")->default_val(128);
  cmd->add_option("--dense-index", a->dense_index, "hnsw or flat")->default_val("hnsw");
  add_threads_flag(cmd, &a->threads);
  set_examples(cmd,
               "  deepfuse bench kb --beir ../shared/data/retrieval/scifact --synthetic 0 "
               "--dense 0\n"
               "  deepfuse bench kb --synthetic 1000000 --dense 0 --threads 2\n"
               "  deepfuse bench kb --synthetic 0 --dense 50000 --dim 128\n");
  cmd->callback([a] {
    apply_threads(a->threads);
    DF_CHECK(a->synthetic >= 0 && a->dense >= 0 && a->words > 0 && a->vocab > 0 && a->queries > 0 &&
                 a->repeats > 0 && a->concurrent >= 0,
             InvalidArgument, "bench kb: sizes must be positive");
    if (!a->beir.empty()) bench_beir(a->beir, a->repeats);
    if (a->synthetic > 0)
      bench_synthetic(a->synthetic, a->words, a->vocab, a->queries, a->concurrent);
    if (a->dense > 0)
      bench_dense(a->dense, a->dim, std::min(a->queries, 200), a->dense_index, a->ef);
  });
}

const bool kRegistered = register_bench_command("kb", &add_bench_kb);

}  // namespace
}  // namespace deepfuse::cli
