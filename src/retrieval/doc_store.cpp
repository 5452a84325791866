#include "retrieval/doc_store.h"

#include <sqlite3.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace deepfuse::retrieval {
namespace {

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

std::string column_text(sqlite3_stmt* s, int i) {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, sqlite3_column_bytes(s, i)) : std::string();
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

Document read_doc(sqlite3_stmt* s, std::string* hash) {
  Document d;
  d.id = column_text(s, 0);
  d.title = column_text(s, 1);
  d.text = column_text(s, 2);
  d.domain = column_text(s, 3);
  d.date = column_text(s, 4);
  if (sqlite3_column_type(s, 5) != SQLITE_NULL) d.year = sqlite3_column_int64(s, 5);
  d.source = column_text(s, 6);
  auto fields = nlohmann::json::parse(column_text(s, 7), nullptr, false);
  if (fields.is_object())
    for (auto& [k, v] : fields.items())
      if (v.is_string()) d.fields[k] = v.get<std::string>();
  auto numbers = nlohmann::json::parse(column_text(s, 8), nullptr, false);
  if (numbers.is_object())
    for (auto& [k, v] : numbers.items())
      if (v.is_number()) d.numbers[k] = v.get<double>();
  if (hash) *hash = column_text(s, 9);
  return d;
}

}  // namespace

DocStore::DocStore(const std::string& path) : path_(path) {
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("cannot open knowledge base store " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec(
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS docs(id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT "
        "NULL, domain TEXT NOT NULL, date TEXT NOT NULL, year INTEGER, source TEXT NOT NULL, "
        "fields TEXT NOT NULL, numbers TEXT NOT NULL, hash TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT "
        "NULL, idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT "
        "NULL, vector BLOB);"
        "CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);");
  } catch (const Error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw FormatError(std::string(e.what()) + " (expected a deepfuse knowledge base)");
  }
  upsert_doc_ = prepare(
      "INSERT OR REPLACE INTO docs(id,title,text,domain,date,year,source,fields,numbers,hash) "
      "VALUES(?,?,?,?,?,?,?,?,?,?)");
  delete_chunks_ = prepare("DELETE FROM chunks WHERE doc_id=?");
  delete_doc_ = prepare("DELETE FROM docs WHERE id=?");
  insert_chunk_ =
      prepare("INSERT INTO chunks(doc_id,idx,start,end,text,vector) VALUES(?,?,?,?,?,?)");
}

DocStore::~DocStore() {
  for (auto* s : {upsert_doc_, delete_chunks_, delete_doc_, insert_chunk_}) sqlite3_finalize(s);
  if (db_) sqlite3_close(db_);
}

void DocStore::fail(const std::string& what) {
  throw Error("knowledge base store " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

sqlite3_stmt* DocStore::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db_);
    throw FormatError("knowledge base store " + path_ + ": " + msg +
                      " (expected a deepfuse knowledge base)");
  }
  return s;
}

void DocStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error("knowledge base store " + path_ + ": " + msg);
  }
}

std::string DocStore::get_meta(const std::string& key) {
  Stmt st{prepare("SELECT value FROM meta WHERE key=?")};
  bind_text(st.s, 1, key);
  if (sqlite3_step(st.s) == SQLITE_ROW) return column_text(st.s, 0);
  return "";
}

void DocStore::set_meta(const std::string& key, const std::string& value) {
  Stmt st{prepare("INSERT OR REPLACE INTO meta(key,value) VALUES(?,?)")};
  bind_text(st.s, 1, key);
  bind_text(st.s, 2, value);
  if (sqlite3_step(st.s) != SQLITE_DONE) fail("writing meta " + key);
}

void DocStore::for_each_doc(const std::function<void(Document&&, std::string&&, int64_t)>& fn,
                            bool with_text) {
  Stmt st{prepare(with_text ? "SELECT id,title,text,domain,date,year,source,fields,numbers,hash,"
                              "length(CAST(text AS BLOB)) FROM docs ORDER BY rowid"
                            : "SELECT id,title,'',domain,date,year,source,fields,numbers,hash,"
                              "length(CAST(text AS BLOB)) FROM docs ORDER BY rowid")};
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    std::string hash;
    Document d = read_doc(st.s, &hash);
    fn(std::move(d), std::move(hash), sqlite3_column_int64(st.s, 10));
  }
  if (rc != SQLITE_DONE) fail("reading documents");
}

int64_t DocStore::count_docs() {
  Stmt st{prepare("SELECT count(*) FROM docs")};
  if (sqlite3_step(st.s) != SQLITE_ROW) fail("counting documents");
  return sqlite3_column_int64(st.s, 0);
}

std::optional<Document> DocStore::get_doc(const std::string& id) {
  Stmt st{prepare(
      "SELECT id,title,text,domain,date,year,source,fields,numbers,hash FROM docs WHERE id=?")};
  bind_text(st.s, 1, id);
  if (sqlite3_step(st.s) == SQLITE_ROW) return read_doc(st.s, nullptr);
  return std::nullopt;
}

void DocStore::for_each_chunk(const std::function<void(StoredChunk&&)>& fn) {
  Stmt st{prepare("SELECT id,doc_id,idx,start,end,text,vector FROM chunks ORDER BY id")};
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    StoredChunk c;
    c.row = sqlite3_column_int64(st.s, 0);
    c.doc_id = column_text(st.s, 1);
    c.idx = sqlite3_column_int(st.s, 2);
    c.start = sqlite3_column_int64(st.s, 3);
    c.end = sqlite3_column_int64(st.s, 4);
    c.text = column_text(st.s, 5);
    int bytes = sqlite3_column_bytes(st.s, 6);
    if (bytes > 0) {
      if (bytes % sizeof(float) != 0)
        throw FormatError("knowledge base store " + path_ + ": chunk " + std::to_string(c.row) +
                          " has a vector of " + std::to_string(bytes) +
                          " bytes, expected a multiple of 4");
      c.vector.resize(bytes / sizeof(float));
      std::memcpy(c.vector.data(), sqlite3_column_blob(st.s, 6), bytes);
    }
    fn(std::move(c));
  }
  if (rc != SQLITE_DONE) fail("reading chunks");
}

uint64_t DocStore::stored_version() {
  std::string v = get_meta("version");
  if (v.empty()) return 0;
  if (v.find_first_not_of("0123456789") != std::string::npos || v.size() > 19)
    throw FormatError("knowledge base store " + path_ + ": version '" + v +
                      "' is not a non-negative integer");
  return std::stoull(v);
}

void DocStore::begin() {
  exec("BEGIN IMMEDIATE");
}
void DocStore::begin_read() {
  exec("BEGIN DEFERRED");
}
void DocStore::commit() {
  exec("COMMIT");
}
void DocStore::rollback() noexcept {
  char* err = nullptr;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, &err);
  sqlite3_free(err);
}

void DocStore::upsert_doc(const Document& d, const std::string& hash) {
  sqlite3_reset(upsert_doc_);
  bind_text(upsert_doc_, 1, d.id);
  bind_text(upsert_doc_, 2, d.title);
  bind_text(upsert_doc_, 3, d.text);
  bind_text(upsert_doc_, 4, d.domain);
  bind_text(upsert_doc_, 5, d.date);
  if (d.year) {
    sqlite3_bind_int64(upsert_doc_, 6, *d.year);
  } else {
    sqlite3_bind_null(upsert_doc_, 6);
  }
  bind_text(upsert_doc_, 7, d.source);
  bind_text(upsert_doc_, 8, nlohmann::json(d.fields).dump());
  bind_text(upsert_doc_, 9, nlohmann::json(d.numbers).dump());
  bind_text(upsert_doc_, 10, hash);
  if (sqlite3_step(upsert_doc_) != SQLITE_DONE) fail("writing document " + d.id);
}

void DocStore::delete_chunks(const std::string& doc_id) {
  sqlite3_reset(delete_chunks_);
  bind_text(delete_chunks_, 1, doc_id);
  if (sqlite3_step(delete_chunks_) != SQLITE_DONE) fail("deleting chunks of " + doc_id);
}

bool DocStore::delete_doc(const std::string& doc_id) {
  delete_chunks(doc_id);
  sqlite3_reset(delete_doc_);
  bind_text(delete_doc_, 1, doc_id);
  if (sqlite3_step(delete_doc_) != SQLITE_DONE) fail("deleting document " + doc_id);
  return sqlite3_changes(db_) > 0;
}

int64_t DocStore::insert_chunk(const StoredChunk& c) {
  sqlite3_reset(insert_chunk_);
  bind_text(insert_chunk_, 1, c.doc_id);
  sqlite3_bind_int(insert_chunk_, 2, c.idx);
  sqlite3_bind_int64(insert_chunk_, 3, c.start);
  sqlite3_bind_int64(insert_chunk_, 4, c.end);
  bind_text(insert_chunk_, 5, c.text);
  if (c.vector.empty()) {
    sqlite3_bind_null(insert_chunk_, 6);
  } else {
    sqlite3_bind_blob(insert_chunk_, 6, c.vector.data(),
                      static_cast<int>(c.vector.size() * sizeof(float)), SQLITE_TRANSIENT);
  }
  if (sqlite3_step(insert_chunk_) != SQLITE_DONE) fail("writing a chunk of " + c.doc_id);
  return sqlite3_last_insert_rowid(db_);
}

}  // namespace deepfuse::retrieval
