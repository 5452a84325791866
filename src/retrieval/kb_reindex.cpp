// KnowledgeBase::reindex: rebuild a knowledge base with new settings from its stored documents.
//
// The new store is built in a hidden sibling folder while the write lock of the old one is held
// (readers go on using the old one), then the two folders are swapped with one
// renameat2(RENAME_EXCHANGE), so DIR always holds a whole knowledge base, old or new; a crash
// leaves at most the hidden folder behind. The old store is then marked `retired` before the
// lock is released, so a writer of another process that opened it earlier fails with a message
// instead of writing into a folder about to be deleted. Every store is closed before the folders
// change names, because SQLite reopens and removes a store's -wal and -shm files by name.
#include <fcntl.h>
#include <stdio.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "deepfuse/knowledge_base.h"
#include "retrieval/doc_store.h"
#include "retrieval/embedder.h"
#include "retrieval/kb_config.h"
#include "retrieval/write_lock.h"

namespace deepfuse {

using namespace retrieval;

KbConfig KnowledgeBase::stored_config(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path store_path = fs::path(dir) / "kb.sqlite";
  DF_CHECK(fs::exists(store_path), NotFound,
           "no knowledge base in " << dir << " (expected " << store_path.string() << ")");
  DocStore st(store_path.string());
  auto j = nlohmann::json::parse(st.get_meta("config"), nullptr, false);
  DF_CHECK(j.is_object(), FormatError,
           "knowledge base " << dir << ": config row is not a JSON object");
  return config_from_json(j, dir);
}

int64_t KnowledgeBase::reindex(const std::string& dir, const KbConfig& config,
                               const KbOpenOptions& options, const KbProgress& progress) {
  namespace fs = std::filesystem;
  const fs::path store_path = fs::path(dir) / "kb.sqlite";
  DF_CHECK(fs::exists(store_path), NotFound,
           "no knowledge base in " << dir << " (expected " << store_path.string() << ")");
  validate_config(config);
  std::shared_ptr<Embedder> embedder;
  if (!config.embedder.empty()) embedder = make_embedder(config.embedder);

  WriteLock lock((fs::path(dir) / "write.lock").string());
  WriteLockGuard guard(lock, options.lock_timeout_seconds, options.on_lock_wait);
  auto old = std::make_unique<DocStore>(store_path.string());
  DF_CHECK(old->get_meta("retired").empty(), InvalidArgument,
           "knowledge base " << dir << " was rebuilt meanwhile by another process: run again");
  DF_CHECK(!old->get_meta("format_version").empty(), FormatError,
           "knowledge base " << dir << ": kb.sqlite has no format_version");
  const uint64_t old_version = old->stored_version();
  const int64_t total = old->count_docs();

  fs::path scratch = scratch_path(dir, "reindex");
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code e;
      if (!p.empty()) fs::remove_all(p, e);
    }
  } cleanup{scratch};
  {
    KbOpenOptions o;
    auto kb = KnowledgeBase::open(scratch.string(), config, embedder, o);
    std::vector<Document> batch;
    int64_t done = 0;
    auto flush = [&] {
      if (batch.empty()) return;
      kb->ingest(batch);
      done += static_cast<int64_t>(batch.size());
      batch.clear();
      if (progress) progress(done, total);
    };
    old->for_each_doc(
        [&](Document&& d, std::string&&, int64_t) {
          batch.push_back(std::move(d));
          if (batch.size() >= 1000) flush();
        },
        /*with_text=*/true);
    flush();
  }
  // SQLite finds a store's -wal file by name: close before the folders change names.
  old.reset();
  {
    // Versions only grow across a rebuild (caches key on them).
    DocStore fresh((scratch / "kb.sqlite").string());
    fresh.begin();
    fresh.set_meta("version", std::to_string(old_version + 1));
    fresh.commit();
  }
  if (::renameat2(AT_FDCWD, scratch.c_str(), AT_FDCWD, fs::path(dir).c_str(), RENAME_EXCHANGE) !=
      0) {
    // File systems without RENAME_EXCHANGE: two renames, with a short window without DIR.
    DF_CHECK(errno == EINVAL || errno == ENOSYS, Error,
             "cannot swap the rebuilt knowledge base into " << dir << ": " << std::strerror(errno));
    fs::path aside = scratch_path(dir, "old");
    fs::rename(dir, aside);
    fs::rename(scratch, dir);
    scratch = aside;
    cleanup.p = aside;
  }
  // The old store (and the lock we hold) now live at `scratch`: retire it before a writer that
  // opened it earlier can take the lock.
  DocStore retired((scratch / "kb.sqlite").string());
  retired.begin();
  retired.set_meta("retired", "rebuilt by kb reindex");
  retired.commit();
  return total;
}

}  // namespace deepfuse
