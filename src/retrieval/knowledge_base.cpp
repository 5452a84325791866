// KnowledgeBase: SQLite store + in-memory BM25 and vector indexes kept in step with it.
//
// Write path (one writer at a time: write_mu in the process, DIR/write.lock across processes):
// take both locks; reload when another process committed since this one last looked (so ids
// stay unique and versions grow); analyse, chunk and embed outside mu; commit the SQLite
// transaction (durable from here); then apply the change to the in-memory indexes under the
// exclusive side of mu, all chunks of all documents of the call at once. Searches hold the
// shared side of mu for their whole run, so they see each write entirely or not at all.
// Loading reads SQLite (the source of truth) inside one read transaction: a whole commit.
#include "deepfuse/knowledge_base.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "retrieval/analyzer.h"
#include "retrieval/bm25_index.h"
#include "retrieval/chunker.h"
#include "retrieval/doc_store.h"
#include "retrieval/embedder.h"
#include "retrieval/filter.h"
#include "retrieval/fusion.h"
#include "retrieval/kb_config.h"
#include "retrieval/vector_index.h"
#include "retrieval/write_lock.h"

namespace deepfuse {

using namespace retrieval;

namespace {

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string content_hash(const Document& d) {
  nlohmann::json j = {{"id", d.id},         {"title", d.title},    {"text", d.text},
                      {"domain", d.domain}, {"date", d.date},      {"source", d.source},
                      {"fields", d.fields}, {"numbers", d.numbers}};
  j["year"] = d.year ? nlohmann::json(*d.year) : nlohmann::json();
  char buf[17];
  snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(fnv1a(j.dump())));
  return buf;
}

// Text embedded for a chunk: the passage prefix, the title and the chunk.
std::string passage_text(const KbConfig& c, const std::string& title, std::string_view chunk) {
  std::string s = c.passage_prefix;
  if (!title.empty()) {
    s += title;
    s += '\n';
  }
  s.append(chunk);
  return s;
}

void set_bit(std::vector<uint64_t>* bits, uint32_t i) {
  (*bits)[i >> 6] |= 1ull << (i & 63);
}

}  // namespace

struct KnowledgeBase::Impl {
  struct DocEntry {
    Document meta;  // without text (the store has it)
    std::string hash;
    std::vector<uint32_t> slots;
    bool live = false;
  };
  struct Slot {
    uint32_t doc = 0;
    int chunk = 0;
    int64_t start = 0, end = 0;
    std::string text;
  };
  // A document prepared outside the locks.
  struct Prepared {
    Document doc;
    std::string hash;
    std::vector<ChunkSpan> spans;
    std::vector<AnalyzedChunk> analyzed;
    std::vector<float> vectors;  // [chunks, dim]
    std::vector<int64_t> rows;
    bool existed = false;
  };

  std::string dir;
  KbConfig config;
  AnalyzerKind analyzer = AnalyzerKind::kStandard;
  std::shared_ptr<DocStore> store;
  KbOpenOptions options;
  std::unique_ptr<WriteLock> write_lock;
  std::shared_ptr<Embedder> embedder;
  std::string embedder_error;

  std::mutex write_mu;
  mutable std::shared_mutex mu;
  std::vector<DocEntry> docs;
  std::unordered_map<std::string, uint32_t> doc_index;
  std::vector<Slot> slots;
  Bm25Index bm25;
  std::unique_ptr<VectorIndex> vectors;
  int64_t live_docs = 0;
  int64_t live_chunks = 0;
  std::atomic<uint64_t> version{0};

  Embedder& need_embedder() const {
    if (!embedder) {
      if (!embedder_error.empty()) throw Unsupported(embedder_error);
      throw InvalidArgument("knowledge base " + dir +
                            " has no embedder: dense and hybrid search need one (create it with "
                            "--embedder hash:DIM or a model folder)");
    }
    return *embedder;
  }

  AnalyzedChunk analyze_chunk(const std::string& title, std::string_view text) const {
    std::vector<std::string> tt, xt;
    analyze(analyzer, title, &tt);
    analyze(analyzer, text, &xt);
    return make_analyzed_chunk(tt, xt);
  }

  // Adds one chunk to the in-memory indexes (caller holds mu exclusively or is opening).
  uint32_t add_slot(uint32_t doc, int chunk, int64_t start, int64_t end, std::string text,
                    const AnalyzedChunk& analyzed) {
    auto slot = static_cast<uint32_t>(slots.size());
    slots.push_back({doc, chunk, start, end, std::move(text)});
    bm25.add(slot, analyzed);
    docs[doc].slots.push_back(slot);
    ++live_chunks;
    return slot;
  }

  void drop_doc_slots(DocEntry* e) {
    for (uint32_t s : e->slots) {
      bm25.remove(s);
      if (vectors) vectors->remove(s);
      std::string().swap(slots[s].text);
      --live_chunks;
    }
    e->slots.clear();
  }

  void ensure_vectors(int dim) {
    if (!vectors) vectors = std::make_unique<VectorIndex>(dim, config.dense_index, config.hnsw_m);
    DF_CHECK(vectors->dim() == dim, FormatError,
             "knowledge base " << dir << " holds vectors of dimension " << vectors->dim()
                               << " but the embedder gives " << dim);
  }

  void load();
  // Caller holds write_mu. Reloads the indexes when the store's version differs from ours;
  // readers of this process keep searching the old indexes until the swap. True when reloaded.
  bool sync_with_store();
  // Caller holds write_mu and the write lock: refuses a folder swapped out by kb reindex.
  void check_not_retired() const;
  std::vector<uint64_t> allowed_bits(const std::vector<FilterExpr>& filters, int64_t* count) const;
  std::vector<SearchHit> run_search(const std::vector<std::string>* terms, const float* qvec,
                                    const SearchOptions& o) const;
};

void KnowledgeBase::Impl::load() {
  docs.clear();
  doc_index.clear();
  // One read transaction: documents, chunks and the version of one commit, whatever other
  // processes write meanwhile (WAL readers see a snapshot and never wait).
  store->begin_read();
  struct EndRead {
    DocStore* s;
    ~EndRead() { s->rollback(); }
  } end_read{store.get()};
  std::vector<int64_t> text_bytes;  // [doc]
  store->for_each_doc([&](Document&& d, std::string&& hash, int64_t bytes) {
    auto n = static_cast<uint32_t>(docs.size());
    doc_index[d.id] = n;
    docs.push_back({std::move(d), std::move(hash), {}, true});
    text_bytes.push_back(bytes);
    ++live_docs;
  });
  // Chunks in insertion order, analysed in parallel batches.
  constexpr size_t kBatch = 8192;
  std::vector<StoredChunk> batch;
  std::vector<AnalyzedChunk> analyzed;
  auto flush = [&] {
    analyzed.assign(batch.size(), {});
    ThreadPool::current().parallel_for(
        static_cast<int64_t>(batch.size()), 64, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            auto it = doc_index.find(batch[i].doc_id);
            const std::string& title = it == doc_index.end() ? "" : docs[it->second].meta.title;
            analyzed[i] = analyze_chunk(title, batch[i].text);
          }
        });
    std::vector<uint32_t> vslots;
    std::vector<float> vdata;
    for (size_t i = 0; i < batch.size(); ++i) {
      StoredChunk& c = batch[i];
      auto it = doc_index.find(c.doc_id);
      if (it == doc_index.end()) {
        DF_LOG_WARN("knowledge base {}: chunk {} belongs to no document; ignored", dir, c.row);
        continue;
      }
      // Offsets are what hits report and citations quote: a chunk whose span does not fit its
      // document (or its own text) means kb.sqlite was changed outside deepfuse.
      const int64_t n = text_bytes[it->second];
      DF_CHECK(c.start >= 0 && c.start <= c.end && c.end <= n &&
                   c.end - c.start == static_cast<int64_t>(c.text.size()) && c.idx >= 0,
               FormatError,
               "knowledge base " << dir << ": chunk " << c.row << " (#" << c.idx << " of document '"
                                 << c.doc_id << "') has offsets [" << c.start << ", " << c.end
                                 << ") and " << c.text.size()
                                 << " bytes of text, which do not fit its document of " << n
                                 << " bytes: kb.sqlite was modified outside deepfuse; rebuild the "
                                    "chunks with deepfuse kb reindex --kb "
                                 << dir);
      uint32_t slot = add_slot(it->second, c.idx, c.start, c.end, std::move(c.text), analyzed[i]);
      if (!c.vector.empty()) {
        ensure_vectors(static_cast<int>(c.vector.size()));
        vslots.push_back(slot);
        vdata.insert(vdata.end(), c.vector.begin(), c.vector.end());
      }
    }
    if (!vslots.empty()) vectors->add_batch(vslots, vdata);
    batch.clear();
  };
  store->for_each_chunk([&](StoredChunk&& c) {
    batch.push_back(std::move(c));
    if (batch.size() >= kBatch) flush();
  });
  flush();
  version = store->stored_version();
}

bool KnowledgeBase::Impl::sync_with_store() {
  if (store->stored_version() == version) return false;
  // Build the new state beside the live one; searches go on meanwhile.
  Impl fresh;
  fresh.dir = dir;
  fresh.config = config;
  fresh.analyzer = analyzer;
  fresh.store = store;
  fresh.embedder = embedder;
  fresh.load();
  if (embedder) fresh.ensure_vectors(embedder->dim());
  std::unique_lock<std::shared_mutex> lk(mu);
  std::swap(docs, fresh.docs);
  std::swap(doc_index, fresh.doc_index);
  std::swap(slots, fresh.slots);
  std::swap(bm25, fresh.bm25);
  std::swap(vectors, fresh.vectors);
  std::swap(live_docs, fresh.live_docs);
  std::swap(live_chunks, fresh.live_chunks);
  version = fresh.version.load();
  return true;
}

void KnowledgeBase::Impl::check_not_retired() const {
  DF_CHECK(store->get_meta("retired").empty(), InvalidArgument,
           "knowledge base " << dir
                             << " was rebuilt (kb reindex) after this process opened it: reopen "
                                "it before writing");
}

namespace {

namespace fs = std::filesystem;

// Writes a new, empty knowledge base store with `config` at `dir`/kb.sqlite, atomically: it is
// built in a scratch folder and renamed into place, so a failure leaves nothing behind. Returns
// false when another process created one first (the caller then opens that one).
bool create_store(const std::string& dir, const KbConfig& config, int format_version) {
  fs::path target = fs::path(dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::error_code ec;
  bool folder_exists = fs::exists(target, ec);
  if (!target.parent_path().empty() && !folder_exists) {
    fs::create_directories(target.parent_path(), ec);
    DF_CHECK(!ec, InvalidArgument,
             "cannot create folder " << target.parent_path().string() << ": " << ec.message());
  }
  // A folder the user made (maybe holding other files) gets only kb.sqlite moved in; a missing
  // one is created whole by renaming the scratch folder.
  fs::path scratch = folder_exists ? target / (".creating-" + std::to_string(::getpid()))
                                   : scratch_path(target, "creating");
  fs::remove_all(scratch, ec);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code e;
      if (!p.empty()) fs::remove_all(p, e);
    }
  } cleanup{scratch};
  fs::create_directories(scratch, ec);
  DF_CHECK(!ec, InvalidArgument,
           "cannot create knowledge base folder " << scratch.string() << ": " << ec.message());
  {
    DocStore st((scratch / "kb.sqlite").string());
    st.begin();
    st.set_meta("format_version", std::to_string(format_version));
    st.set_meta("config", config_to_json(config).dump());
    st.set_meta("version", "0");
    st.commit();
  }  // closing the last connection checkpoints the WAL into kb.sqlite and removes it
  if (folder_exists) {
    fs::path from = scratch / "kb.sqlite", to = target / "kb.sqlite";
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
      return true;
    DF_CHECK(errno == EEXIST, Error,
             "cannot move the new store into " << to.string() << ": " << std::strerror(errno));
    return false;
  }
  if (::rename(scratch.c_str(), target.c_str()) == 0) {
    cleanup.p.clear();
    return true;
  }
  // Another process made the folder meanwhile: open what it made.
  DF_CHECK(errno == ENOTEMPTY || errno == EEXIST, Error,
           "cannot move the new knowledge base into " << target.string() << ": "
                                                      << std::strerror(errno));
  return false;
}

}  // namespace

std::unique_ptr<KnowledgeBase> KnowledgeBase::open(const std::string& dir, const KbConfig& config,
                                                   std::shared_ptr<Embedder> embedder,
                                                   const KbOpenOptions& options) {
  DF_CHECK(!dir.empty(), InvalidArgument, "knowledge base folder is empty: expected a path");
  std::error_code ec;
  const fs::path store_path = fs::path(dir) / "kb.sqlite";
  if (fs::exists(dir, ec))
    DF_CHECK(fs::is_directory(dir, ec), InvalidArgument,
             "knowledge base path " << dir << " is not a folder");
  if (!fs::exists(store_path, ec)) {
    DF_CHECK(options.create, NotFound,
             "no knowledge base in " << dir << " (expected " << store_path.string()
                                     << "; create one with deepfuse kb ingest)");
    // Everything that can be wrong with the settings fails here, before a byte is written.
    validate_config(config);
    if (!embedder && !config.embedder.empty()) embedder = make_embedder(config.embedder);
    create_store(dir, config, kFormatVersion);
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->options = options;
  impl->store = std::make_shared<DocStore>(store_path.string());
  impl->write_lock = std::make_unique<WriteLock>((fs::path(dir) / "write.lock").string());
  std::string fv = impl->store->get_meta("format_version");
  DF_CHECK(!fv.empty(), FormatError,
           "knowledge base " << dir
                             << ": kb.sqlite has no format_version (an interrupted "
                                "create by an old deepfuse?): remove the folder and ingest "
                                "again");
  int v = 0;
  try {
    v = std::stoi(fv);
  } catch (const std::exception&) {
    throw FormatError("knowledge base " + dir + ": format_version '" + fv + "' is not a number");
  }
  DF_CHECK(v >= 1, FormatError,
           "knowledge base " << dir << ": format_version " << v << " is invalid: expected >= 1");
  DF_CHECK(v <= kFormatVersion, Unsupported,
           "knowledge base " << dir << " has format version " << v
                             << "; this build reads versions up to " << kFormatVersion);
  auto j = nlohmann::json::parse(impl->store->get_meta("config"), nullptr, false);
  DF_CHECK(j.is_object(), FormatError,
           "knowledge base " << dir << ": config row is not a JSON object");
  impl->config = config_from_json(j, dir);
  validate_config(impl->config);
  impl->analyzer = parse_analyzer(impl->config.analyzer);
  if (embedder) {
    impl->embedder = std::move(embedder);
  } else if (!impl->config.embedder.empty()) {
    try {
      impl->embedder = make_embedder(impl->config.embedder);
    } catch (const Error& e) {
      // BM25 still works; dense search and ingestion report this.
      impl->embedder_error = std::string(e.what()) +
                             " (the knowledge base's embedder; change it with deepfuse kb reindex "
                             "--kb " +
                             dir + " --embedder SPEC)";
    }
  }
  impl->load();
  if (impl->embedder) impl->ensure_vectors(impl->embedder->dim());
  return std::unique_ptr<KnowledgeBase>(new KnowledgeBase(std::move(impl)));
}

bool KnowledgeBase::refresh() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> wl(m.write_mu);
  // A rebuilt knowledge base may have other settings (analyzer, embedder): only a reopen can
  // take it, so say so rather than keep serving the retired copy for ever.
  m.check_not_retired();
  return m.sync_with_store();
}

KnowledgeBase::KnowledgeBase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KnowledgeBase::~KnowledgeBase() = default;

IngestReport KnowledgeBase::ingest(const std::vector<Document>& input) {
  Impl& m = *impl_;
  {
    std::unordered_set<std::string_view> seen;
    for (size_t i = 0; i < input.size(); ++i) {
      const Document& d = input[i];
      DF_CHECK(!d.id.empty(), InvalidArgument,
               "document #" << i << " has an empty id: expected a non-empty string");
      DF_CHECK(!d.text.empty(), InvalidArgument,
               "document '" << d.id << "' has an empty text: expected a non-empty string");
      DF_CHECK(seen.insert(d.id).second, InvalidArgument,
               "document id '" << d.id << "' appears twice in one ingest call");
      DF_CHECK(d.date.empty() || date_number(d.date).has_value(), InvalidArgument,
               "document '" << d.id << "' has date '" << d.date
                            << "': expected YYYY, YYYY-MM or YYYY-MM-DD");
    }
  }
  std::lock_guard<std::mutex> wl(m.write_mu);
  WriteLockGuard xl(*m.write_lock, m.options.lock_timeout_seconds, m.options.on_lock_wait);
  m.check_not_retired();
  m.sync_with_store();
  IngestReport rep;
  std::vector<Impl::Prepared> todo;
  for (const Document& d : input) {
    Impl::Prepared p;
    p.doc = d;
    if (!p.doc.year && !p.doc.date.empty()) p.doc.year = std::stoll(p.doc.date.substr(0, 4));
    p.hash = content_hash(p.doc);
    auto it = m.doc_index.find(d.id);
    p.existed = it != m.doc_index.end() && m.docs[it->second].live;
    if (p.existed && m.docs[it->second].hash == p.hash) {
      ++rep.unchanged;
      continue;
    }
    todo.push_back(std::move(p));
  }
  if (todo.empty()) {
    rep.version = m.version;
    return rep;
  }
  if (m.embedder == nullptr && !m.embedder_error.empty()) throw Unsupported(m.embedder_error);
  // Chunk and analyse in parallel.
  ThreadPool::current().parallel_for(
      static_cast<int64_t>(todo.size()), 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          Impl::Prepared& p = todo[i];
          p.spans = chunk_text(p.doc.text, m.config.chunk_tokens, m.config.chunk_overlap);
          if (p.spans.empty()) p.spans.push_back({0, 0});
          for (const auto& s : p.spans)
            p.analyzed.push_back(m.analyze_chunk(
                p.doc.title, std::string_view(p.doc.text).substr(s.start, s.end - s.start)));
        }
      });
  if (m.embedder) {
    std::vector<std::string> texts;
    for (const auto& p : todo)
      for (const auto& s : p.spans)
        texts.push_back(passage_text(
            m.config, p.doc.title, std::string_view(p.doc.text).substr(s.start, s.end - s.start)));
    std::vector<float> all = m.embedder->embed(texts);
    const size_t dim = m.embedder->dim();
    DF_CHECK(all.size() == texts.size() * dim, InternalError,
             "embedder returned " << all.size() << " floats for " << texts.size() << " texts");
    size_t off = 0;
    for (auto& p : todo) {
      p.vectors.assign(all.begin() + off * dim, all.begin() + (off + p.spans.size()) * dim);
      off += p.spans.size();
    }
  }
  // Durable write: one transaction.
  uint64_t new_version = m.version + 1;
  m.store->begin();
  try {
    for (auto& p : todo) {
      if (p.existed) m.store->delete_chunks(p.doc.id);
      m.store->upsert_doc(p.doc, p.hash);
      const size_t dim = m.embedder ? m.embedder->dim() : 0;
      for (size_t c = 0; c < p.spans.size(); ++c) {
        StoredChunk sc;
        sc.doc_id = p.doc.id;
        sc.idx = static_cast<int>(c);
        sc.start = static_cast<int64_t>(p.spans[c].start);
        sc.end = static_cast<int64_t>(p.spans[c].end);
        sc.text = p.doc.text.substr(sc.start, sc.end - sc.start);
        if (dim) sc.vector.assign(p.vectors.begin() + c * dim, p.vectors.begin() + (c + 1) * dim);
        p.rows.push_back(m.store->insert_chunk(sc));
      }
    }
    m.store->set_meta("version", std::to_string(new_version));
    m.store->commit();
  } catch (...) {
    m.store->rollback();
    throw;
  }
  // Apply to the in-memory indexes atomically with respect to searches.
  std::unique_lock<std::shared_mutex> lk(m.mu);
  std::vector<uint32_t> vslots;
  std::vector<float> vdata;
  for (auto& p : todo) {
    uint32_t dn;
    auto it = m.doc_index.find(p.doc.id);
    if (it != m.doc_index.end()) {
      dn = it->second;
      Impl::DocEntry& e = m.docs[dn];
      m.drop_doc_slots(&e);
      if (!e.live) ++m.live_docs;
      ++(p.existed ? rep.updated : rep.added);
    } else {
      dn = static_cast<uint32_t>(m.docs.size());
      m.docs.emplace_back();
      m.doc_index[p.doc.id] = dn;
      ++m.live_docs;
      ++rep.added;
    }
    Impl::DocEntry& e = m.docs[dn];
    e.live = true;
    e.hash = p.hash;
    const size_t dim = m.embedder ? m.embedder->dim() : 0;
    for (size_t c = 0; c < p.spans.size(); ++c) {
      const auto& s = p.spans[c];
      uint32_t slot = m.add_slot(dn, static_cast<int>(c), s.start, s.end,
                                 p.doc.text.substr(s.start, s.end - s.start), p.analyzed[c]);
      if (dim) {
        vslots.push_back(slot);
        vdata.insert(vdata.end(), p.vectors.begin() + c * dim, p.vectors.begin() + (c + 1) * dim);
      }
      ++rep.chunks;
    }
    e.meta = std::move(p.doc);
    std::string().swap(e.meta.text);
  }
  if (!vslots.empty()) {
    m.ensure_vectors(m.embedder->dim());
    m.vectors->add_batch(vslots, vdata);
  }
  m.bm25.compact();
  if (m.vectors) m.vectors->compact();
  m.version = new_version;
  rep.version = new_version;
  return rep;
}

int64_t KnowledgeBase::remove(const std::vector<std::string>& ids) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> wl(m.write_mu);
  WriteLockGuard xl(*m.write_lock, m.options.lock_timeout_seconds, m.options.on_lock_wait);
  m.check_not_retired();
  m.sync_with_store();
  std::vector<uint32_t> found;
  for (const auto& id : ids) {
    auto it = m.doc_index.find(id);
    if (it != m.doc_index.end() && m.docs[it->second].live) found.push_back(it->second);
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  if (found.empty()) return 0;
  uint64_t new_version = m.version + 1;
  m.store->begin();
  try {
    for (uint32_t d : found) m.store->delete_doc(m.docs[d].meta.id);
    m.store->set_meta("version", std::to_string(new_version));
    m.store->commit();
  } catch (...) {
    m.store->rollback();
    throw;
  }
  std::unique_lock<std::shared_mutex> lk(m.mu);
  for (uint32_t d : found) {
    Impl::DocEntry& e = m.docs[d];
    m.drop_doc_slots(&e);
    e.live = false;
    e.hash.clear();
    --m.live_docs;
  }
  m.bm25.compact();
  if (m.vectors) m.vectors->compact();
  m.version = new_version;
  return static_cast<int64_t>(found.size());
}

std::vector<uint64_t> KnowledgeBase::Impl::allowed_bits(const std::vector<FilterExpr>& filters,
                                                        int64_t* count) const {
  std::vector<uint64_t> bits((slots.size() + 63) / 64, 0);
  int64_t n = 0;
  for (const DocEntry& e : docs) {
    if (!e.live || !matches_all(filters, e.meta)) continue;
    for (uint32_t s : e.slots) {
      set_bit(&bits, s);
      ++n;
    }
  }
  *count = n;
  return bits;
}

std::vector<SearchHit> KnowledgeBase::Impl::run_search(const std::vector<std::string>* terms,
                                                       const float* qvec,
                                                       const SearchOptions& o) const {
  auto filters = parse_filters(o.filters);
  std::shared_lock<std::shared_mutex> lk(mu);
  std::vector<uint64_t> bits;
  int64_t allowed_count = -1;
  if (!filters.empty()) bits = allowed_bits(filters, &allowed_count);
  const std::vector<uint64_t>* allowed = filters.empty() ? nullptr : &bits;
  size_t want = static_cast<size_t>(o.top_k);
  if (o.per_document) want = want * 4 + 16;
  size_t depth = o.mode == SearchMode::kHybrid ? std::max<size_t>(o.candidates, want) : want;

  Ranked bm, dense;
  if (o.mode != SearchMode::kDense) {
    Bm25Params p;
    p.k1 = static_cast<float>(o.k1);
    p.b = static_cast<float>(o.b);
    p.lucene_norms = o.lucene_norms;
    std::vector<int> fields = o.fields == FieldMode::kFlat
                                  ? std::vector<int>{kFieldContents}
                                  : std::vector<int>{kFieldTitle, kFieldText};
    bm = bm25.search(*terms, fields, p, allowed, depth);
  }
  if (o.mode != SearchMode::kBm25 && vectors && qvec)
    dense = o.exact_dense ? vectors->search_exact(qvec, depth, allowed)
                          : vectors->search(qvec, depth, allowed, allowed_count, o.ef_search);
  Ranked fused;
  if (o.mode == SearchMode::kBm25) {
    fused = std::move(bm);
  } else if (o.mode == SearchMode::kDense) {
    fused = std::move(dense);
  } else if (o.fusion == Fusion::kRrf) {
    fused = fuse_rrf({bm, dense}, o.rrf_k);
  } else {
    fused = fuse_weighted({bm, dense}, {1.0 - o.dense_weight, o.dense_weight});
  }
  std::vector<SearchHit> hits;
  std::unordered_set<uint32_t> seen_docs;
  for (const auto& [slot, score] : fused) {
    if (hits.size() >= static_cast<size_t>(o.top_k)) break;
    const Slot& s = slots[slot];
    if (o.per_document && !seen_docs.insert(s.doc).second) continue;
    const Document& d = docs[s.doc].meta;
    SearchHit h;
    h.doc_id = d.id;
    h.chunk = s.chunk;
    h.start = s.start;
    h.end = s.end;
    h.score = score;
    h.title = d.title;
    h.text = s.text;
    h.domain = d.domain;
    h.date = d.date;
    h.year = d.year;
    h.source = d.source;
    h.fields = d.fields;
    h.numbers = d.numbers;
    hits.push_back(std::move(h));
  }
  return hits;
}

namespace {

void validate_options(const SearchOptions& o) {
  DF_CHECK(o.top_k >= 1 && o.top_k <= 100000, InvalidArgument,
           "top_k " << o.top_k << " out of range: expected 1..100000");
  DF_CHECK(o.k1 >= 0 && std::isfinite(o.k1), InvalidArgument,
           "bm25 k1 " << o.k1 << " out of range: expected >= 0");
  DF_CHECK(o.b >= 0 && o.b <= 1, InvalidArgument,
           "bm25 b " << o.b << " out of range: expected 0..1");
  DF_CHECK(o.rrf_k > 0 && std::isfinite(o.rrf_k), InvalidArgument,
           "rrf k " << o.rrf_k << " out of range: expected > 0");
  DF_CHECK(o.dense_weight >= 0 && o.dense_weight <= 1, InvalidArgument,
           "dense weight " << o.dense_weight << " out of range: expected 0..1");
  DF_CHECK(o.candidates >= 1 && o.candidates <= 100000, InvalidArgument,
           "candidates " << o.candidates << " out of range: expected 1..100000");
  DF_CHECK(o.ef_search >= 1 && o.ef_search <= 100000, InvalidArgument,
           "ef_search " << o.ef_search << " out of range: expected 1..100000");
}

}  // namespace

std::vector<SearchHit> KnowledgeBase::search(const std::string& query,
                                             const SearchOptions& o) const {
  validate_options(o);
  const Impl& m = *impl_;
  parse_filters(o.filters);  // report malformed filters before any work
  std::vector<std::string> terms;
  if (o.mode != SearchMode::kDense) analyze(m.analyzer, query, &terms);
  std::vector<float> qvec;
  if (o.mode != SearchMode::kBm25) qvec = m.need_embedder().embed({m.config.query_prefix + query});
  return m.run_search(&terms, qvec.empty() ? nullptr : qvec.data(), o);
}

std::vector<SearchHit> KnowledgeBase::search_vector(const std::vector<float>& query,
                                                    const SearchOptions& options) const {
  validate_options(options);
  const Impl& m = *impl_;
  DF_CHECK(options.mode == SearchMode::kDense, InvalidArgument,
           "search_vector needs mode dense (a vector has no BM25 terms)");
  {
    std::shared_lock<std::shared_mutex> lk(m.mu);
    DF_CHECK(m.vectors, InvalidArgument, "knowledge base " << m.dir << " holds no vectors");
    DF_CHECK(query.size() == static_cast<size_t>(m.vectors->dim()), InvalidArgument,
             "query vector has " << query.size() << " values, expected " << m.vectors->dim());
  }
  return m.run_search(nullptr, query.data(), options);
}

std::optional<Document> KnowledgeBase::get(const std::string& id) const {
  // The writer's open transaction is visible on the shared connection: read between writes.
  std::lock_guard<std::mutex> wl(impl_->write_mu);
  return impl_->store->get_doc(id);
}

KbStats KnowledgeBase::stats() const {
  const Impl& m = *impl_;
  std::shared_lock<std::shared_mutex> lk(m.mu);
  KbStats s;
  s.documents = m.live_docs;
  s.chunks = m.live_chunks;
  s.terms = m.bm25.num_terms();
  s.version = m.version;
  s.format_version = kFormatVersion;
  s.analyzer = m.config.analyzer;
  s.embedder = m.embedder ? m.embedder->spec() : m.config.embedder;
  s.dim = m.vectors ? m.vectors->dim() : 0;
  return s;
}

uint64_t KnowledgeBase::version() const {
  return impl_->version;
}
const KbConfig& KnowledgeBase::config() const {
  return impl_->config;
}

}  // namespace deepfuse
