#include "cli/cli_util.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/thread_pool.h"
#include "tokenizer/unicode.h"

namespace deepfuse::cli {

bool read_line(std::istream& in, std::string* line) {
  if (!std::getline(in, *line)) return false;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

nlohmann::json parse_request_line(JsonReader& reader, const std::string& line, size_t lineno,
                                  const char* expected) {
  try {
    return reader.parse(line, "stdin line " + std::to_string(lineno));
  } catch (const FormatError& e) {
    throw InvalidArgument(std::string(e.what()) + " (expected " + expected + ")");
  }
}

void print_json_line(const nlohmann::json& j) {
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  std::cout.flush();
}

void add_threads_flag(CLI::App* cmd, int* threads) {
  cmd->add_option("--threads", *threads, "Worker threads (0 = all hardware threads)")
      ->check(CLI::NonNegativeNumber);
}

int cap_threads(int threads) {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads > hw) {
    std::fprintf(stderr, "deepfuse: --threads %d is more than the %d hardware threads; using %d\n",
                 threads, hw, hw);
    return hw;
  }
  return threads;
}

void apply_threads(int threads) {
  // Once, at the start of a command, before any work uses the process pool.
  ThreadPool::init_global(cap_threads(threads));
}

std::string unescape_flag(const std::string& value, const char* flag) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument(std::string(flag) + " '" + excerpt(value) + "': " + why +
                           R"( (escapes: \n \t \r \\ \" \' \uXXXX))");
  };
  auto hex4 = [&](size_t at) -> uint32_t {
    if (at + 4 > value.size()) throw bad("\\u needs 4 hex digits");
    uint32_t v = 0;
    for (size_t k = at; k < at + 4; ++k) {
      const char h = value[k];
      const int d = (h >= '0' && h <= '9')   ? h - '0'
                    : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                    : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                             : -1;
      if (d < 0) throw bad("\\u needs 4 hex digits");
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return v;
  };
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\') {
      out.push_back(value[i]);
      continue;
    }
    if (i + 1 >= value.size()) throw bad("ends with a lone backslash (write \\\\ for one)");
    const char e = value[++i];
    switch (e) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '\\':
      case '"':
      case '\'':
        out.push_back(e);
        break;
      case 'u': {
        uint32_t cp = hex4(i + 1);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (i + 2 >= value.size() || value[i + 1] != '\\' || value[i + 2] != 'u')
            throw bad("a high surrogate \\uD8xx must be followed by a low one \\uDCxx");
          const uint32_t lo = hex4(i + 3);
          if (lo < 0xDC00 || lo > 0xDFFF)
            throw bad("a high surrogate \\uD8xx must be followed by a low one \\uDCxx");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          throw bad("a low surrogate \\uDCxx without a high one");
        }
        tok::append_utf8(&out, static_cast<char32_t>(cp));
        break;
      }
      default:
        throw bad(std::string("unknown escape \\") + e);
    }
  }
  return out;
}

void check_output_path(const char* flag, const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw InvalidArgument(std::string(flag) + " " + path + ": folder '" + dir.string() +
                          "' does not exist (expected an existing folder; create it first)");
  if (fs::is_directory(p, ec))
    throw InvalidArgument(std::string(flag) + " " + path + ": is a folder (expected a file name)");
}

void set_examples(CLI::App* cmd, const std::string& examples) {
  cmd->footer("\nExamples:\n" + examples);
}

}  // namespace deepfuse::cli
