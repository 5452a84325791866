// `deepfuse kb ingest | search | eval | delete | stats | reindex`: the knowledge base from the
// shell.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/shipped_models.h"
#include "core/error.h"
#include "core/progress.h"
#include "deepfuse/knowledge_base.h"
#include "retrieval/eval.h"
#include "retrieval/ingest_files.h"
#include "retrieval/kb_config.h"
#include "safety/pii.h"

namespace deepfuse::cli {
namespace {

namespace fs = std::filesystem;

struct CreateFlags {
  KbConfig config;
  CLI::App* cmd = nullptr;
};

// (flag, setting name in config_differences)
const std::pair<const char*, const char*> kCreateFlags[] = {
    {"--analyzer", "analyzer"},           {"--chunk-tokens", "chunk_tokens"},
    {"--chunk-overlap", "chunk_overlap"}, {"--embedder", "embedder"},
    {"--query-prefix", "query_prefix"},   {"--passage-prefix", "passage_prefix"},
    {"--dense-index", "dense_index"}};

// Settings flags given on the command line that differ from `stored` are refused (they used to
// be silently ignored, so a user believed e.g. dense search was on).
void refuse_changed_settings(const CreateFlags& f, const KbConfig& stored, const std::string& dir) {
  auto diff = config_differences(f.config, stored);
  const nlohmann::json was = retrieval::config_to_json(stored);
  std::string given, fix;
  for (const auto& [flag, name] : kCreateFlags) {
    if (f.cmd->count(flag) == 0 || std::find(diff.begin(), diff.end(), name) == diff.end())
      continue;
    auto* opt = f.cmd->get_option(flag);
    given += std::string(given.empty() ? "" : ", ") + name + " " + was[name].dump() + " (given " +
             flag + " " + opt->as<std::string>() + ")";
    fix += std::string(" ") + flag + " '" + opt->as<std::string>() + "'";
  }
  DF_CHECK(given.empty(), InvalidArgument,
           "knowledge base " << dir << " was created with " << given
                             << "; settings of an existing knowledge base do not change on "
                                "ingest: rebuild it with deepfuse kb reindex --kb "
                             << dir << fix);
}

KbOpenOptions open_options(double lock_timeout, bool create) {
  KbOpenOptions o;
  o.create = create;
  o.lock_timeout_seconds = lock_timeout;
  o.on_lock_wait = [](const std::string& msg) { std::cerr << "deepfuse: " << msg << "\n"; };
  return o;
}

void add_lock_flag(CLI::App* cmd, double* timeout) {
  cmd->add_option("--lock-timeout", *timeout,
                  "Seconds to wait for another process writing to the knowledge base (< 0: "
                  "wait for ever)")
      ->default_val(-1);
}

void add_create_flags(CLI::App* cmd, CreateFlags* f) {
  f->cmd = cmd;
  cmd->add_option("--analyzer", f->config.analyzer,
                  "New knowledge base: standard (English + CJK bigrams), cjk-unigram, whitespace")
      ->default_val("standard");
  cmd->add_option("--chunk-tokens", f->config.chunk_tokens,
                  "New knowledge base: chunk budget in tokens (0 = one chunk per document)")
      ->default_val(0);
  cmd->add_option("--chunk-overlap", f->config.chunk_overlap,
                  "New knowledge base: tokens shared by consecutive chunks")
      ->default_val(0);
  cmd->add_option("--embedder", f->config.embedder,
                  "New knowledge base: hash:DIM, an encoder model folder, or none (BM25 only); "
                  "default: the shipped deepfuse-embed-small");
  cmd->add_option("--query-prefix", f->config.query_prefix, "Text prepended to queries to embed");
  cmd->add_option("--passage-prefix", f->config.passage_prefix,
                  "Text prepended to passages to embed");
  cmd->add_option("--dense-index", f->config.dense_index, "New knowledge base: hnsw or flat")
      ->default_val("hnsw");
}

// The embedder of a NEW knowledge base (issue 15): --embedder as given, "none" for BM25 only, and
// by default the shipped embedding model, so dense and hybrid search work without a flag. With
// `required` (dense/hybrid eval) a missing shipped model is NotFound; otherwise BM25 only.
void resolve_default_embedder(KbConfig* c, bool wanted, bool required) {
  if (c->embedder == "none") {
    c->embedder.clear();
  } else if (c->embedder.empty() && wanted) {
    c->embedder = required ? require_shipped_model(kShippedEmbedder, "--embedder")
                           : find_shipped_model(kShippedEmbedder);
  }
}

struct QueryFlags {
  SearchOptions o;
  std::string mode = "bm25", fields = "flat", fusion = "rrf";
};

void add_query_flags(CLI::App* cmd, QueryFlags* f, bool with_top_k) {
  if (with_top_k) cmd->add_option("--top-k", f->o.top_k, "Hits to return")->default_val(10);
  cmd->add_option("--mode", f->mode, "bm25, dense or hybrid")->default_val("bm25");
  cmd->add_option("--filter", f->o.filters,
                  "Metadata filter (repeatable, ANDed): field=value, field!=value, field>N, "
                  "field>=N, field<N, field<=N");
  cmd->add_option("--fields", f->fields, "BM25 over title+text as one field (flat) or multifield")
      ->default_val("flat");
  cmd->add_option("--k1", f->o.k1, "BM25 k1")->default_val(0.9);
  cmd->add_option("--b", f->o.b, "BM25 b")->default_val(0.4);
  cmd->add_flag("--lucene-norms", f->o.lucene_norms,
                "Use Lucene's lossy 1-byte document length norms (as Anserini indexes)");
  cmd->add_option("--fusion", f->fusion, "Hybrid fusion: rrf or weighted")->default_val("rrf");
  cmd->add_option("--rrf-k", f->o.rrf_k, "Reciprocal rank fusion constant")->default_val(60);
  cmd->add_option("--dense-weight", f->o.dense_weight, "Weighted fusion: share of the dense score")
      ->default_val(0.5);
  cmd->add_option("--candidates", f->o.candidates, "Depth of each list before hybrid fusion")
      ->default_val(100);
  cmd->add_option("--ef-search", f->o.ef_search, "HNSW search breadth")->default_val(128);
}

SearchOptions resolve(QueryFlags& f) {
  SearchOptions o = f.o;
  if (f.mode == "bm25") {
    o.mode = SearchMode::kBm25;
  } else if (f.mode == "dense") {
    o.mode = SearchMode::kDense;
  } else if (f.mode == "hybrid") {
    o.mode = SearchMode::kHybrid;
  } else {
    throw InvalidArgument("unknown --mode '" + f.mode + "': expected bm25, dense or hybrid");
  }
  if (f.fields == "flat") {
    o.fields = FieldMode::kFlat;
  } else if (f.fields == "multifield") {
    o.fields = FieldMode::kMultifield;
  } else {
    throw InvalidArgument("unknown --fields '" + f.fields + "': expected flat or multifield");
  }
  if (f.fusion == "rrf") {
    o.fusion = Fusion::kRrf;
  } else if (f.fusion == "weighted") {
    o.fusion = Fusion::kWeighted;
  } else {
    throw InvalidArgument("unknown --fusion '" + f.fusion + "': expected rrf or weighted");
  }
  return o;
}

// Opens an existing knowledge base (NotFound when `dir` holds none).
std::unique_ptr<KnowledgeBase> open_existing(const std::string& dir, double lock_timeout = -1) {
  return KnowledgeBase::open(dir, {}, {}, open_options(lock_timeout, false));
}

// A hit: the chunk, and all its document's metadata (the standard fields at the top level as
// well, for scripts written before "metadata" existed).
nlohmann::json hit_json(const SearchHit& h) {
  nlohmann::json j = {{"id", h.doc_id},   {"chunk", h.chunk}, {"start", h.start}, {"end", h.end},
                      {"score", h.score}, {"title", h.title}, {"text", h.text}};
  nlohmann::json meta = nlohmann::json::object();
  if (!h.domain.empty()) j["domain"] = meta["domain"] = h.domain;
  if (!h.date.empty()) j["date"] = meta["date"] = h.date;
  if (h.year) j["year"] = meta["year"] = *h.year;
  if (!h.source.empty()) j["source"] = meta["source"] = h.source;
  for (const auto& [k, v] : h.fields) meta[k] = v;
  for (const auto& [k, v] : h.numbers) meta[k] = v;
  j["metadata"] = std::move(meta);
  return j;
}

const char* kJsonlSchema =
    "\nJSONL input: one JSON object per line with\n"
    "  \"id\" (or \"_id\")  string or integer, required; an existing id is replaced\n"
    "  \"text\"          string, required, non-empty\n"
    "  \"title\"         string (searched with the text)\n"
    "  \"domain\"        string, filterable: --filter domain=medical\n"
    "  \"date\"          \"YYYY\", \"YYYY-MM\" or \"YYYY-MM-DD\"; filterable: --filter "
    "\"date>=2023-06\"\n"
    "  \"year\"          integer (default: the date's year); --filter \"year>2022\"\n"
    "  \"source\"        string (a URL, a file)\n"
    "  \"metadata\"      object: its string, number and boolean values are kept as fields\n"
    "  any other key   string, number or boolean: kept as a field (filterable, returned with "
    "hits)\n"
    "A .txt or .md file is one document: id = its path under the folder given, title = file "
    "name\n(.md: its first \"# heading\"). Lines that break these rules are reported as "
    "FILE:LINE;\na file with no valid line exits 2.\n";

retrieval::FileIngestReport run_ingest(KnowledgeBase& kb, const std::vector<std::string>& files,
                                       retrieval::OnError policy, size_t batch, bool mask = false) {
  retrieval::FileIngestOptions fo;
  fo.on_error = policy;
  fo.batch_size = batch;
  if (mask) {
    // PII is masked before anything reaches the store or the indexes.
    fo.transform = [](Document* d) {
      PiiOptions opts;
      d->text = mask_pii(d->text, opts).text;
      d->title = mask_pii(d->title, opts).text;
    };
  }
  Progress progress("ingest", 0, "docs");
  fo.progress = [&](int64_t n) { progress.set(n); };
  auto rep = retrieval::ingest_paths(kb, files, fo);
  progress.finish();
  return rep;
}

void add_ingest(CLI::App* kb) {
  auto* cmd = kb->add_subcommand("ingest", "Add or replace documents (.jsonl, .txt, .md, folders)");
  struct Args {
    std::string dir;
    std::vector<std::string> files;
    std::string on_error = "skip";
    size_t batch = 1000;
    CreateFlags create;
    int threads = 0;
    bool mask_pii = false;
    int64_t max_errors = 20;
    double lock_timeout = -1;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--kb", a->dir, "Knowledge base folder (created when missing)")->required();
  cmd->add_flag("--mask-pii", a->mask_pii,
                "Mask PII (cards, e-mails, phones, IDs, IBANs, IPs, dates) in titles and texts "
                "before storing them");
  cmd->add_option("files", a->files, "Files or folders to ingest")->required();
  cmd->add_option("--on-error", a->on_error,
                  "Malformed lines: skip (report and go on) or reject (nothing from that file)")
      ->default_val("skip");
  cmd->add_option("--batch-size", a->batch, "Documents per transaction")->default_val(1000);
  cmd->add_option("--max-errors", a->max_errors,
                  "Malformed lines printed on stderr (and listed in the JSON report); the rest "
                  "are counted")
      ->default_val(20);
  add_lock_flag(cmd, &a->lock_timeout);
  add_create_flags(cmd, &a->create);
  add_threads_flag(cmd, &a->threads);
  cmd->footer(std::string(kJsonlSchema) + "\nExamples:\n" +
              "  deepfuse kb ingest --kb kb/ docs.jsonl notes/\n"
              "  deepfuse kb ingest --kb kb/ --on-error reject corpus.jsonl\n"
              "  deepfuse kb ingest --kb kb/ --chunk-tokens 256 --chunk-overlap 32 "
              "--embedder hash:256 corpus.jsonl\n"
              "  deepfuse kb ingest --kb kb/ --mask-pii --embedder models/minilm tickets.jsonl\n");
  cmd->callback([a] {
    apply_threads(a->threads);
    retrieval::OnError policy;
    if (a->on_error == "skip") {
      policy = retrieval::OnError::kSkip;
    } else if (a->on_error == "reject") {
      policy = retrieval::OnError::kReject;
    } else {
      throw InvalidArgument("unknown --on-error '" + a->on_error + "': expected skip or reject");
    }
    DF_CHECK(a->max_errors >= 0, InvalidArgument,
             "--max-errors " << a->max_errors << " out of range: expected >= 0");
    for (const auto& f : a->files)
      DF_CHECK(fs::exists(f), NotFound, "input " << f << " does not exist");
    resolve_default_embedder(&a->create.config, true, false);
    auto kb =
        KnowledgeBase::open(a->dir, a->create.config, {}, open_options(a->lock_timeout, true));
    refuse_changed_settings(a->create, kb->config(), a->dir);
    auto t0 = std::chrono::steady_clock::now();
    auto rep = run_ingest(*kb, a->files, policy, a->batch, a->mask_pii);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json errs = nlohmann::json::array();
    for (const auto& e : rep.errors) {
      if (static_cast<int64_t>(errs.size()) >= a->max_errors) break;
      std::cerr << e.file << ":" << e.line << ": " << e.message << "\n";
      errs.push_back({{"file", e.file}, {"line", e.line}, {"message", e.message}});
    }
    if (rep.errors.size() > errs.size())
      std::cerr << "... and " << rep.errors.size() - errs.size()
                << " more malformed lines (--max-errors " << a->max_errors << ")\n";
    print_json_line({{"added", rep.totals.added},
                     {"updated", rep.totals.updated},
                     {"unchanged", rep.totals.unchanged},
                     {"chunks", rep.totals.chunks},
                     {"files", rep.files},
                     {"errors", errs},
                     {"error_count", rep.errors.size()},
                     {"rejected_files", rep.rejected_files},
                     {"version", kb->version()},
                     {"seconds", secs}});
    if (!rep.rejected_files.empty()) {
      // The reason given is the first rejected file's own: its whole-file error, else its first
      // malformed line.
      const std::string& first = rep.rejected_files.front();
      const retrieval::LineError* why = nullptr;
      for (const auto& e : rep.errors)
        if (e.file == first && (why == nullptr || (e.line == 0 && why->line != 0))) why = &e;
      throw FormatError(
          "rejected " + std::to_string(rep.rejected_files.size()) + " file(s), first: " + first +
          (why ? " (" + (why->line ? "line " + std::to_string(why->line) + ": " : std::string()) +
                     why->message + ")"
               : std::string()));
    }
  });
}

void add_search(CLI::App* kb) {
  auto* cmd = kb->add_subcommand("search", "Search a knowledge base; prints one JSON line");
  struct Args {
    std::string dir, query;
    QueryFlags q;
    bool per_doc = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--kb", a->dir, "Knowledge base folder")->required();
  cmd->add_option("--query", a->query, "Query text")->required();
  add_query_flags(cmd, &a->q, true);
  cmd->add_flag("--per-document", a->per_doc, "At most one hit (the best chunk) per document");
  set_examples(cmd,
               "  deepfuse kb search --kb kb/ --query \"aspirin dose\" --top-k 3\n"
               "  deepfuse kb search --kb kb/ --query \"flu\" --filter domain=medical "
               "--filter \"year>2022\"\n"
               "  deepfuse kb search --kb kb/ --query \"flu\" --mode hybrid --fusion weighted\n");
  cmd->callback([a] {
    SearchOptions o = resolve(a->q);
    o.per_document = a->per_doc;
    auto kb = open_existing(a->dir);
    auto t0 = std::chrono::steady_clock::now();
    auto hits = kb->search(a->query, o);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& h : hits) arr.push_back(hit_json(h));
    print_json_line({{"query", a->query},
                     {"mode", a->q.mode},
                     {"version", kb->version()},
                     {"took_ms", ms},
                     {"hits", arr}});
  });
}

void add_eval(CLI::App* kb) {
  auto* cmd = kb->add_subcommand(
      "eval", "BEIR evaluation: nDCG@10, Recall@100, MRR@10 and latency percentiles as JSON");
  struct Args {
    std::string dir, queries, qrels, beir, split = "test";
    QueryFlags q;
    CreateFlags create;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--kb", a->dir,
                  "Knowledge base folder (with --beir: ingested from corpus.jsonl when empty; "
                  "default a temporary folder)");
  cmd->add_option("--queries", a->queries, "queries.jsonl ({\"_id\",\"text\"} per line)");
  cmd->add_option("--qrels", a->qrels, "qrels TSV (query-id, corpus-id, score)");
  cmd->add_option("--beir", a->beir, "BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/)");
  cmd->add_option("--split", a->split, "qrels split with --beir")->default_val("test");
  add_query_flags(cmd, &a->q, false);
  add_create_flags(cmd, &a->create);
  add_threads_flag(cmd, &a->threads);
  set_examples(cmd,
               "  deepfuse kb eval --beir ../shared/data/retrieval/scifact\n"
               "  deepfuse kb eval --beir ../shared/data/retrieval/scifact --fields multifield\n"
               "  deepfuse kb eval --kb kb/ --queries q.jsonl --qrels qrels/test.tsv\n");
  cmd->callback([a] {
    apply_threads(a->threads);
    SearchOptions o = resolve(a->q);
    std::string queries = a->queries, qrels = a->qrels, dir = a->dir;
    std::string tmp;
    if (!a->beir.empty()) {
      if (queries.empty()) queries = (fs::path(a->beir) / "queries.jsonl").string();
      if (qrels.empty()) qrels = (fs::path(a->beir) / "qrels" / (a->split + ".tsv")).string();
      if (dir.empty()) {
        tmp = (fs::temp_directory_path() /
               ("deepfuse-eval-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count())))
                  .string();
        dir = tmp;
      }
    }
    DF_CHECK(!dir.empty() && !queries.empty() && !qrels.empty(), InvalidArgument,
             "kb eval needs --beir DIR, or --kb, --queries and --qrels");
    struct Cleanup {
      std::string p;
      ~Cleanup() {
        std::error_code ec;
        if (!p.empty()) fs::remove_all(p, ec);
      }
    } cleanup{tmp};
    resolve_default_embedder(&a->create.config, !a->beir.empty() && o.mode != SearchMode::kBm25,
                             true);
    auto qs = retrieval::read_queries(queries);
    auto qr = retrieval::read_qrels(qrels);
    std::unique_ptr<KnowledgeBase> kb =
        a->beir.empty() ? open_existing(dir) : KnowledgeBase::open(dir, a->create.config);
    refuse_changed_settings(a->create, kb->config(), dir);
    double ingest_s = 0;
    if (!a->beir.empty() && kb->stats().documents == 0) {
      auto t0 = std::chrono::steady_clock::now();
      auto rep = run_ingest(*kb, {(fs::path(a->beir) / "corpus.jsonl").string()},
                            retrieval::OnError::kSkip, 10000);
      ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      DF_CHECK(rep.errors.empty(), FormatError,
               "corpus " << rep.errors.front().file << ":" << rep.errors.front().line << ": "
                         << rep.errors.front().message);
    }
    auto r = retrieval::evaluate(*kb, qs, qr, o);
    auto st = kb->stats();
    print_json_line({{"ndcg@10", r.ndcg_at_10},
                     {"recall@100", r.recall_at_100},
                     {"mrr@10", r.mrr_at_10},
                     {"queries", r.queries},
                     {"documents", st.documents},
                     {"mode", a->q.mode},
                     {"fields", a->q.fields},
                     {"analyzer", st.analyzer},
                     {"k1", o.k1},
                     {"b", o.b},
                     {"lucene_norms", o.lucene_norms},
                     {"ingest_seconds", ingest_s},
                     {"latency_ms",
                      {{"p50", r.latency_p50_ms},
                       {"p90", r.latency_p90_ms},
                       {"p99", r.latency_p99_ms},
                       {"mean", r.latency_mean_ms}}}});
  });
}

void add_delete(CLI::App* kb) {
  auto* cmd = kb->add_subcommand("delete", "Remove documents by id");
  struct Args {
    std::string dir;
    std::vector<std::string> ids;
    double lock_timeout = -1;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--kb", a->dir, "Knowledge base folder")->required();
  cmd->add_option("ids", a->ids, "Document ids")->required();
  add_lock_flag(cmd, &a->lock_timeout);
  set_examples(cmd, "  deepfuse kb delete --kb kb/ doc-17 doc-18\n");
  cmd->callback([a] {
    auto kb = open_existing(a->dir, a->lock_timeout);
    int64_t n = kb->remove(a->ids);
    print_json_line({{"deleted", n}, {"requested", a->ids.size()}, {"version", kb->version()}});
  });
}

void add_stats(CLI::App* kb) {
  auto* cmd = kb->add_subcommand("stats", "Documents, chunks, terms, version, format");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("--kb", *dir, "Knowledge base folder")->required();
  set_examples(cmd, "  deepfuse kb stats --kb kb/\n");
  cmd->callback([dir] {
    auto kb = open_existing(*dir);
    auto s = kb->stats();
    const KbConfig& c = kb->config();
    print_json_line({{"documents", s.documents},
                     {"chunks", s.chunks},
                     {"terms", s.terms},
                     {"version", s.version},
                     {"format_version", s.format_version},
                     {"analyzer", s.analyzer},
                     {"embedder", s.embedder},
                     {"dim", s.dim},
                     {"chunk_tokens", c.chunk_tokens},
                     {"chunk_overlap", c.chunk_overlap},
                     {"dense_index", c.dense_index}});
  });
}

void add_reindex(CLI::App* kb) {
  auto* cmd = kb->add_subcommand(
      "reindex", "Rebuild a knowledge base with new settings (re-chunk, re-analyse, re-embed)");
  struct Args {
    std::string dir;
    CreateFlags create;
    double lock_timeout = -1;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--kb", a->dir, "Knowledge base folder")->required();
  add_create_flags(cmd, &a->create);
  add_lock_flag(cmd, &a->lock_timeout);
  add_threads_flag(cmd, &a->threads);
  cmd->footer(
      "\nSettings not given keep their stored values. The new knowledge base is built beside the "
      "old one\n(searches go on meanwhile) and swapped in atomically; writers that had the old "
      "one open must\nreopen it.\n\nExamples:\n"
      "  deepfuse kb reindex --kb kb/ --embedder hash:256\n"
      "  deepfuse kb reindex --kb kb/ --chunk-tokens 256 --chunk-overlap 32\n"
      "  deepfuse kb reindex --kb kb/ --analyzer cjk-unigram\n");
  cmd->callback([a] {
    apply_threads(a->threads);
    // The stored settings, read without building any index (so a damaged store can be rebuilt).
    KbConfig cfg = KnowledgeBase::stored_config(a->dir);
    const KbConfig& given = a->create.config;
    CLI::App* c = a->create.cmd;
    if (c->count("--analyzer")) cfg.analyzer = given.analyzer;
    if (c->count("--chunk-tokens")) cfg.chunk_tokens = given.chunk_tokens;
    if (c->count("--chunk-overlap")) cfg.chunk_overlap = given.chunk_overlap;
    if (c->count("--embedder")) cfg.embedder = given.embedder;
    if (c->count("--query-prefix")) cfg.query_prefix = given.query_prefix;
    if (c->count("--passage-prefix")) cfg.passage_prefix = given.passage_prefix;
    if (c->count("--dense-index")) cfg.dense_index = given.dense_index;
    std::unique_ptr<Progress> progress;
    auto t0 = std::chrono::steady_clock::now();
    int64_t n = KnowledgeBase::reindex(
        a->dir, cfg, open_options(a->lock_timeout, false), [&](int64_t done, int64_t total) {
          if (!progress) progress = std::make_unique<Progress>("reindex", total, "docs");
          progress->set(done);
        });
    if (progress) progress->finish();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto kbh = open_existing(a->dir);
    auto s = kbh->stats();
    print_json_line({{"documents", n},
                     {"chunks", s.chunks},
                     {"version", s.version},
                     {"analyzer", cfg.analyzer},
                     {"embedder", cfg.embedder},
                     {"chunk_tokens", cfg.chunk_tokens},
                     {"chunk_overlap", cfg.chunk_overlap},
                     {"seconds", secs}});
  });
}

}  // namespace

void register_kb(CLI::App& root) {
  CLI::App* kb =
      root.add_subcommand("kb", "Knowledge base: ingest, search, eval, delete, stats, reindex");
  kb->require_subcommand(1);
  add_ingest(kb);
  add_search(kb);
  add_eval(kb);
  add_delete(kb);
  add_stats(kb);
  add_reindex(kb);
  set_examples(kb,
               "  deepfuse kb ingest --kb kb/ docs.jsonl\n"
               "  deepfuse kb search --kb kb/ --query \"aspirin\" --filter \"year>2022\"\n"
               "  deepfuse kb eval --beir ../shared/data/retrieval/scifact\n");
}

}  // namespace deepfuse::cli
