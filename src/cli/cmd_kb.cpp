// `deepfuse kb ingest | search | eval | delete | stats`: the knowledge base from the shell.
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
#include "safety/pii.h"

namespace deepfuse::cli {
namespace {

namespace fs = std::filesystem;

struct CreateFlags {
  KbConfig config;
};

void add_create_flags(CLI::App* cmd, CreateFlags* f) {
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
std::unique_ptr<KnowledgeBase> open_existing(const std::string& dir) {
  DF_CHECK(fs::exists(fs::path(dir) / "kb.sqlite"), NotFound,
           "no knowledge base in " << dir << " (expected " << dir
                                   << "/kb.sqlite; create one with deepfuse kb ingest)");
  return KnowledgeBase::open(dir);
}

nlohmann::json hit_json(const SearchHit& h) {
  nlohmann::json j = {{"id", h.doc_id},   {"chunk", h.chunk}, {"start", h.start}, {"end", h.end},
                      {"score", h.score}, {"title", h.title}, {"text", h.text}};
  if (!h.domain.empty()) j["domain"] = h.domain;
  if (!h.date.empty()) j["date"] = h.date;
  if (h.year) j["year"] = *h.year;
  if (!h.source.empty()) j["source"] = h.source;
  return j;
}

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
  add_create_flags(cmd, &a->create);
  add_threads_flag(cmd, &a->threads);
  set_examples(cmd,
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
    resolve_default_embedder(&a->create.config, true, false);
    auto kb = KnowledgeBase::open(a->dir, a->create.config);
    auto t0 = std::chrono::steady_clock::now();
    auto rep = run_ingest(*kb, a->files, policy, a->batch, a->mask_pii);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json errs = nlohmann::json::array();
    for (const auto& e : rep.errors) {
      std::cerr << e.file << ":" << e.line << ": " << e.message << "\n";
      if (errs.size() < 100)
        errs.push_back({{"file", e.file}, {"line", e.line}, {"message", e.message}});
    }
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
    if (!rep.rejected_files.empty())
      throw FormatError("rejected " + std::to_string(rep.rejected_files.size()) +
                        " file(s), first: " + rep.rejected_files.front() +
                        (rep.errors.empty() ? std::string()
                                            : " (" + rep.errors.front().file + ":" +
                                                  std::to_string(rep.errors.front().line) + ": " +
                                                  rep.errors.front().message + ")"));
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
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--kb", a->dir, "Knowledge base folder")->required();
  cmd->add_option("ids", a->ids, "Document ids")->required();
  set_examples(cmd, "  deepfuse kb delete --kb kb/ doc-17 doc-18\n");
  cmd->callback([a] {
    auto kb = open_existing(a->dir);
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

}  // namespace

void register_kb(CLI::App& root) {
  CLI::App* kb = root.add_subcommand("kb", "Knowledge base: ingest, search, eval, delete, stats");
  kb->require_subcommand(1);
  add_ingest(kb);
  add_search(kb);
  add_eval(kb);
  add_delete(kb);
  add_stats(kb);
  set_examples(kb,
               "  deepfuse kb ingest --kb kb/ docs.jsonl\n"
               "  deepfuse kb search --kb kb/ --query \"aspirin\" --filter \"year>2022\"\n"
               "  deepfuse kb eval --beir ../shared/data/retrieval/scifact\n");
}

}  // namespace deepfuse::cli
