// Reading documents from files: .jsonl (one JSON object per line), .txt and .md (one document
// per file), and folders of them (recursively, in name order).
//
// A .jsonl line is {"id" or "_id": string|number, "text": string, "title"?, "domain"?,
// "date"?, "year"?, "source"?, "metadata"?: {...}, ...}; other scalar keys (and those inside
// "metadata") become string or numeric fields. Malformed lines are reported with file and line;
// the policy either skips them or rejects the whole file (then nothing of it is ingested). A file
// with malformed lines and no valid one is always rejected.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "deepfuse/knowledge_base.h"

namespace deepfuse::retrieval {

enum class OnError { kSkip, kReject };

struct LineError {
  std::string file;
  int64_t line = 0;  // 1-based; 0 for a whole-file problem
  std::string message;
};

struct FileIngestOptions {
  OnError on_error = OnError::kSkip;
  size_t batch_size = 1000;  // documents per transaction
  // Applied to every document before ingestion (e.g. PII masking); may be empty.
  std::function<void(Document*)> transform;
  // Called with the number of documents ingested so far.
  std::function<void(int64_t)> progress;
};

struct FileIngestReport {
  IngestReport totals;
  int64_t files = 0;
  std::vector<LineError> errors;
  std::vector<std::string> rejected_files;
};

// Parses one .jsonl line into `doc`; returns "" or an error message naming what is wrong.
std::string parse_jsonl_line(const std::string& line, Document* doc);

// Reads the documents of one file. Errors go to `errors`; false when the file as a whole
// cannot be read (missing, unsupported extension, invalid UTF-8 in .txt/.md).
bool read_documents(const std::string& path, const std::string& id_base,
                    std::vector<Document>* docs, std::vector<LineError>* errors);

// Ingests files and folders. NotFound for a path that does not exist.
FileIngestReport ingest_paths(KnowledgeBase& kb, const std::vector<std::string>& paths,
                              const FileIngestOptions& options);

}  // namespace deepfuse::retrieval
