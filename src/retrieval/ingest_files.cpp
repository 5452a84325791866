#include "retrieval/ingest_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_reader.h"
#include "retrieval/filter.h"

namespace deepfuse::retrieval {
namespace {

namespace fs = std::filesystem;

bool valid_utf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    for (int k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

bool supported(const fs::path& p) {
  std::string e = lower_ext(p);
  return e == ".jsonl" || e == ".txt" || e == ".md";
}

// Adds a scalar metadata value as a string or numeric field.
void add_field(Document* d, const std::string& key, const nlohmann::json& v) {
  if (v.is_string()) {
    d->fields[key] = v.get<std::string>();
  } else if (v.is_number()) {
    d->numbers[key] = v.get<double>();
  } else if (v.is_boolean()) {
    d->fields[key] = v.get<bool>() ? "true" : "false";
  }
}

}  // namespace

std::string parse_jsonl_line(const std::string& line, Document* doc) {
  // The program's one JSON reader (depth and size limits, short error excerpts); one parser per
  // thread keeps its buffers across the lines of a file.
  thread_local JsonReader reader(kRequestJsonLimits);
  nlohmann::json j;
  try {
    j = reader.parse(line, "line");
  } catch (const FormatError& e) {
    return std::string(e.what()) + ": expected one JSON object per line";
  }
  if (!j.is_object()) return "expected a JSON object, got " + std::string(j.type_name());
  Document d;
  const nlohmann::json* id = j.contains("id") ? &j["id"] : j.contains("_id") ? &j["_id"] : nullptr;
  if (!id) return "missing \"id\" (or \"_id\"): expected a string or number";
  if (id->is_string()) {
    d.id = id->get<std::string>();
  } else if (id->is_number_integer()) {
    d.id = std::to_string(id->get<int64_t>());
  } else {
    return "\"id\" is " + std::string(id->type_name()) + ": expected a string or integer";
  }
  if (d.id.empty()) return "\"id\" is empty: expected a non-empty string";
  if (!j.contains("text") || !j["text"].is_string())
    return "missing or non-string \"text\": expected a string";
  d.text = j["text"].get<std::string>();
  if (d.text.empty()) return "\"text\" is empty: expected a non-empty string";
  auto str = [&](const char* key, std::string* out) -> std::string {
    if (!j.contains(key) || j[key].is_null()) return "";
    if (!j[key].is_string()) return std::string("\"") + key + "\" must be a string";
    *out = j[key].get<std::string>();
    return "";
  };
  for (auto [key, out] : {std::pair{"title", &d.title}, std::pair{"domain", &d.domain},
                          std::pair{"source", &d.source}}) {
    std::string e = str(key, out);
    if (!e.empty()) return e;
  }
  if (j.contains("date") && !j["date"].is_null()) {
    if (!j["date"].is_string()) return "\"date\" must be a string YYYY[-MM[-DD]]";
    d.date = j["date"].get<std::string>();
    if (!date_number(d.date)) return "\"date\" '" + d.date + "' is not YYYY, YYYY-MM or YYYY-MM-DD";
  }
  if (j.contains("year") && !j["year"].is_null()) {
    const auto& y = j["year"];
    if (y.is_number_integer()) {
      d.year = y.get<int64_t>();
    } else if (y.is_string() && !y.get<std::string>().empty() &&
               std::all_of(y.get_ref<const std::string&>().begin(),
                           y.get_ref<const std::string&>().end(),
                           [](unsigned char c) { return std::isdigit(c); }) &&
               y.get<std::string>().size() <= 9) {
      d.year = std::stoll(y.get<std::string>());
    } else {
      return "\"year\" must be an integer";
    }
  }
  static const char* kKnown[] = {"id",   "_id",  "text",   "title",   "domain",
                                 "date", "year", "source", "metadata"};
  for (auto& [k, v] : j.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), k) != std::end(kKnown)) continue;
    add_field(&d, k, v);
  }
  if (j.contains("metadata") && j["metadata"].is_object())
    for (auto& [k, v] : j["metadata"].items()) add_field(&d, k, v);
  *doc = std::move(d);
  return "";
}

bool read_documents(const std::string& path, const std::string& id_base,
                    std::vector<Document>* docs, std::vector<LineError>* errors) {
  fs::path p(path);
  std::string ext = lower_ext(p);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors->push_back({path, 0, "cannot open file"});
    return false;
  }
  if (ext == ".jsonl") {
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      Document d;
      std::string err = parse_jsonl_line(line, &d);
      if (!err.empty()) {
        errors->push_back({path, n, err});
        continue;
      }
      docs->push_back(std::move(d));
    }
    return true;
  }
  if (ext == ".txt" || ext == ".md") {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!valid_utf8(text)) {
      errors->push_back({path, 0, "not valid UTF-8 text"});
      return false;
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
      errors->push_back({path, 0, "empty document"});
      return false;
    }
    Document d;
    d.id = id_base;
    d.source = path;
    d.title = p.stem().string();
    if (ext == ".md") {
      // The first "# heading" is the title.
      size_t pos = 0;
      while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        std::string l = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
        if (l.rfind("# ", 0) == 0) {
          d.title = l.substr(2);
          while (!d.title.empty() && (d.title.back() == '\r' || d.title.back() == ' '))
            d.title.pop_back();
          break;
        }
        if (eol == std::string::npos) break;
        pos = eol + 1;
      }
    }
    d.text = std::move(text);
    docs->push_back(std::move(d));
    return true;
  }
  errors->push_back({path, 0, "unsupported file type '" + ext + "': expected .jsonl, .txt or .md"});
  return false;
}

FileIngestReport ingest_paths(KnowledgeBase& kb, const std::vector<std::string>& paths,
                              const FileIngestOptions& o) {
  // Expand folders; ids of .txt/.md files are their paths relative to the folder given.
  std::vector<std::pair<std::string, std::string>> files;  // (path, id base)
  for (const auto& path : paths) {
    std::error_code ec;
    DF_CHECK(fs::exists(path, ec), NotFound, "input " << path << " does not exist");
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(path, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && supported(it->path())) found.push_back(it->path());
      std::sort(found.begin(), found.end());
      for (const auto& f : found)
        files.emplace_back(f.string(), fs::relative(f, path).generic_string());
    } else {
      files.emplace_back(path, fs::path(path).filename().string());
    }
  }
  FileIngestReport rep;
  int64_t done = 0;
  const size_t batch = std::max<size_t>(1, o.batch_size);
  for (const auto& [path, id_base] : files) {
    std::vector<Document> docs;
    std::vector<LineError> errors;
    bool ok = read_documents(path, id_base, &docs, &errors);
    ++rep.files;
    rep.errors.insert(rep.errors.end(), errors.begin(), errors.end());
    if (!ok || (o.on_error == OnError::kReject && !errors.empty())) {
      rep.rejected_files.push_back(path);
      continue;
    }
    // Not one valid line is a wrong file (another format, a wrong field name), not a file to
    // skip quietly with `added: 0`.
    if (docs.empty() && !errors.empty()) {
      rep.errors.push_back({path, 0,
                            "no valid document in " + std::to_string(errors.size()) +
                                " malformed line(s): expected JSONL objects with \"id\" and "
                                "\"text\" (see deepfuse kb ingest --help)"});
      rep.rejected_files.push_back(path);
      continue;
    }
    // A later line with the same id replaces an earlier one within the file.
    {
      std::unordered_map<std::string, size_t> last;
      for (size_t i = 0; i < docs.size(); ++i) last[docs[i].id] = i;
      if (last.size() != docs.size()) {
        std::vector<Document> uniq;
        for (size_t i = 0; i < docs.size(); ++i)
          if (last[docs[i].id] == i) uniq.push_back(std::move(docs[i]));
        docs = std::move(uniq);
      }
    }
    if (o.on_error == OnError::kReject && docs.size() > batch) {
      // Reject must leave nothing half-ingested: the whole file is one transaction.
      if (o.transform)
        for (auto& d : docs) o.transform(&d);
      IngestReport r = kb.ingest(docs);
      rep.totals.added += r.added, rep.totals.updated += r.updated;
      rep.totals.unchanged += r.unchanged, rep.totals.chunks += r.chunks;
      rep.totals.version = r.version;
      done += static_cast<int64_t>(docs.size());
      if (o.progress) o.progress(done);
      continue;
    }
    for (size_t b = 0; b < docs.size(); b += batch) {
      std::vector<Document> part(
          std::make_move_iterator(docs.begin() + b),
          std::make_move_iterator(docs.begin() + std::min(docs.size(), b + batch)));
      if (o.transform)
        for (auto& d : part) o.transform(&d);
      IngestReport r = kb.ingest(part);
      rep.totals.added += r.added, rep.totals.updated += r.updated;
      rep.totals.unchanged += r.unchanged, rep.totals.chunks += r.chunks;
      rep.totals.version = r.version;
      done += static_cast<int64_t>(part.size());
      if (o.progress) o.progress(done);
    }
  }
  rep.totals.version = kb.version();
  return rep;
}

}  // namespace deepfuse::retrieval
