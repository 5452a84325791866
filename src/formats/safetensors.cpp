#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace deepfuse {
namespace {

using Json = nlohmann::json;

// Printable form of a (possibly hostile) name for error messages: bounded, control bytes escaped.
std::string printable(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && out.size() < 120; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c >= 0x80) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 120) out += "...";
  return out;
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

}  // namespace

bool is_valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(len) > n) return false;
    for (int k = 1; k < len; ++k) {
      if ((p[i + static_cast<size_t>(k)] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + static_cast<size_t>(k)] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
      return false;  // overlong
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

std::vector<SafetensorsEntry> parse_safetensors_header(
    const std::string& header, uint64_t data_size, const std::string& file,
    std::map<std::string, std::string>* metadata) {
  const std::string where = file + ": safetensors header";
  // Duplicate keys are silently merged by JSON parsers; detect them with a parser callback.
  std::set<std::string> seen;
  std::string duplicate;
  Json root;
  try {
    root = Json::parse(
        header,
        [&](int depth, Json::parse_event_t event, Json& parsed) {
          if (depth > 4)
            throw FormatError(where +
                              ": JSON nested deeper than 4 levels (expected "
                              "{name: {dtype, shape, data_offsets}})");
          if (event == Json::parse_event_t::key && depth == 1 && parsed.is_string()) {
            const auto& k = parsed.get_ref<const std::string&>();
            if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
          }
          return true;
        },
        /*allow_exceptions=*/true);
  } catch (const Json::exception& e) {
    throw FormatError(where + " is not valid JSON (" + e.what() + ")");
  }
  if (!duplicate.empty())
    throw FormatError(where + ": tensor '" + printable(duplicate) +
                      "' appears more than once (names must be unique)");
  if (!root.is_object()) throw FormatError(where + ": expected a JSON object at the top level");

  std::vector<SafetensorsEntry> entries;
  entries.reserve(root.size());
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string& name = it.key();
    if (!is_valid_utf8(name))
      throw FormatError(where + ": tensor name '" + printable(name) + "' is not valid UTF-8");
    const Json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw FormatError(where + ": __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          throw FormatError(where + ": __metadata__['" + printable(m.key()) +
                            "'] must be a string");
        if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string t = where + ": tensor '" + printable(name) + "'";
    if (name.empty()) throw FormatError(where + ": empty tensor name");
    if (!v.is_object()) throw FormatError(t + ": expected an object {dtype, shape, data_offsets}");
    SafetensorsEntry e;
    e.name = name;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) throw FormatError(t + ": missing string field 'dtype'");
    if (!dtype_from_safetensors(dt->get<std::string>(), &e.dtype))
      throw FormatError(t + ": unknown dtype '" + printable(dt->get<std::string>()) +
                        "' (expected F32, F16, BF16, F8_E4M3, I8, I32, I64, U8 or BOOL)");
    auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) throw FormatError(t + ": missing array field 'shape'");
    if (sh->size() > static_cast<size_t>(Shape::kMaxDims))
      throw FormatError(t + ": shape has " + std::to_string(sh->size()) + " dimensions (at most " +
                        std::to_string(Shape::kMaxDims) + " supported)");
    std::vector<int64_t> dims;
    uint64_t numel = 1;
    for (const Json& d : *sh) {
      if (!d.is_number_unsigned())
        throw FormatError(t + ": shape entries must be non-negative integers, got " + d.dump());
      const uint64_t x = d.get<uint64_t>();
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          mul_overflows(numel, x, &numel))
        throw FormatError(t + ": shape " + sh->dump() + " overflows 64 bits");
      dims.push_back(static_cast<int64_t>(x));
    }
    e.shape = Shape(dims);
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      throw FormatError(t + ": 'data_offsets' must be [begin, end] with non-negative integers");
    e.begin = (*off)[0].get<uint64_t>();
    e.end = (*off)[1].get<uint64_t>();
    if (e.begin > e.end)
      throw FormatError(t + ": data_offsets [" + std::to_string(e.begin) + ", " +
                        std::to_string(e.end) + "] has begin > end");
    if (e.end > data_size)
      throw FormatError(t + ": data_offsets end " + std::to_string(e.end) +
                        " is past the data section (" + std::to_string(data_size) +
                        " bytes; file truncated?)");
    uint64_t expect = 0;
    if (mul_overflows(numel, dtype_size(e.dtype), &expect) || expect != e.nbytes())
      throw FormatError(t + ": " + std::to_string(e.nbytes()) +
                        " bytes in data_offsets but shape " + e.shape.str() + " x " +
                        dtype_safetensors_name(e.dtype) + " needs " + std::to_string(expect) +
                        " bytes");
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < entries.size(); ++i) {
    const auto& p = entries[i - 1];
    const auto& c = entries[i];
    if (c.begin < p.end && c.nbytes() > 0 && p.nbytes() > 0)
      throw FormatError(where + ": tensors '" + printable(p.name) + "' [" +
                        std::to_string(p.begin) + ", " + std::to_string(p.end) + ") and '" +
                        printable(c.name) + "' [" + std::to_string(c.begin) + ", " +
                        std::to_string(c.end) + ") overlap (expected disjoint data ranges)");
  }
  return entries;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto f = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  f->file_ = MappedFile::open(path);
  const uint64_t size = f->file_->size();
  if (size < 8)
    throw FormatError(path + ": " + std::to_string(size) +
                      " bytes is too short for a safetensors file (expected an 8-byte header "
                      "length first)");
  uint64_t n = 0;
  const uint8_t* p = f->file_->data();
  for (int i = 7; i >= 0; --i) n = (n << 8) | p[i];  // little endian
  if (n > kSafetensorsMaxHeaderBytes)
    throw FormatError(path + ": safetensors header length " + std::to_string(n) +
                      " bytes exceeds the " + std::to_string(kSafetensorsMaxHeaderBytes) +
                      "-byte limit (corrupt or not a safetensors file)");
  if (n > size - 8)
    throw FormatError(path + ": safetensors header length " + std::to_string(n) +
                      " bytes is larger than the rest of the file (" + std::to_string(size - 8) +
                      " bytes; truncated?)");
  if (n < 2) throw FormatError(path + ": safetensors header is empty (expected a JSON object)");
  std::string header(reinterpret_cast<const char*>(p + 8), static_cast<size_t>(n));
  f->data_start_ = 8 + n;
  f->entries_ = parse_safetensors_header(header, size - f->data_start_, path, &f->metadata_);
  for (size_t i = 0; i < f->entries_.size(); ++i) f->index_[f->entries_[i].name] = i;
  return f;
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsEntry* e = find(name);
  if (!e) throw NotFound(path() + ": no tensor named '" + name + "'");
  return tensor(*e);
}

Tensor SafetensorsFile::tensor(const SafetensorsEntry& e) const {
  // The bytes are read-only (PROT_READ); models never write into weights.
  void* data = const_cast<uint8_t*>(file_->data() + data_start_ + e.begin);
  return Tensor::borrow(data, e.dtype, e.shape, Device::CPU,
                        std::static_pointer_cast<const void>(file_));
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    DF_CHECK(names.insert(name).second, InvalidArgument,
             path << ": tensor '" << name << "' given twice");
    DF_CHECK(t.defined() && t.device() == Device::CPU, InvalidArgument,
             path << ": tensor '" << name << "' must be a defined CPU tensor");
    const uint64_t nb = t.nbytes();
    header[name] = {{"dtype", dtype_safetensors_name(t.dtype())},
                    {"shape", t.shape().to_vector()},
                    {"data_offsets", {offset, offset + nb}}};
    offset += nb;
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h.push_back(' ');
  std::string out;
  out.reserve(8 + h.size() + offset);
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += h;
  for (const auto& [name, t] : tensors) out.append(static_cast<const char*>(t.raw()), t.nbytes());
  write_file_atomic(path, out);
}

}  // namespace deepfuse
