// The SQLite document store: the knowledge base's source of truth (kb.sqlite in its folder).
//
// Schema (format version 1):
//   meta(key TEXT PRIMARY KEY, value TEXT)        format_version, config (JSON)
//   docs(id TEXT PRIMARY KEY, title, text, domain, date, year, source, fields JSON,
//        numbers JSON, hash)
//   chunks(id INTEGER PRIMARY KEY, doc_id, idx, start, end, text, vector BLOB float32)
// WAL journal with synchronous=FULL: a committed transaction survives a killed process (and
// a power cut). Every write the knowledge base makes is one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "deepfuse/knowledge_base.h"

struct sqlite3;
struct sqlite3_stmt;

namespace deepfuse::retrieval {

struct StoredChunk {
  int64_t row = 0;
  std::string doc_id;
  int idx = 0;
  int64_t start = 0;
  int64_t end = 0;
  std::string text;
  std::vector<float> vector;  // empty without an embedder
};

class DocStore {
 public:
  // Opens or creates `path`. FormatError when the file is not a knowledge base.
  explicit DocStore(const std::string& path);
  ~DocStore();
  DocStore(const DocStore&) = delete;
  DocStore& operator=(const DocStore&) = delete;

  // "" when absent.
  std::string get_meta(const std::string& key);
  void set_meta(const std::string& key, const std::string& value);

  // Documents in insertion order; `text_bytes` is the length of the text in bytes, and the text
  // itself is read only when `with_text` (opening needs lengths, a rebuild needs texts).
  void for_each_doc(
      const std::function<void(Document&&, std::string&& hash, int64_t text_bytes)>& fn,
      bool with_text = false);
  int64_t count_docs();
  // In insertion order (chunk id), so slots rebuilt at open keep the original order.
  void for_each_chunk(const std::function<void(StoredChunk&&)>& fn);
  std::optional<Document> get_doc(const std::string& id);

  // The `version` meta row (0 when absent); FormatError when it is not a number.
  uint64_t stored_version();

  void begin();       // a write transaction (takes SQLite's write lock at once)
  void begin_read();  // a read transaction: later reads see one commit; end it with rollback()
  void commit();
  void rollback() noexcept;
  void upsert_doc(const Document& doc, const std::string& hash);
  void delete_chunks(const std::string& doc_id);
  bool delete_doc(const std::string& doc_id);  // with its chunks
  int64_t insert_chunk(const StoredChunk& chunk);

 private:
  sqlite3_stmt* prepare(const char* sql);
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what);

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_doc_ = nullptr;
  sqlite3_stmt* delete_chunks_ = nullptr;
  sqlite3_stmt* delete_doc_ = nullptr;
  sqlite3_stmt* insert_chunk_ = nullptr;
};

}  // namespace deepfuse::retrieval
