// Load-time comparison behind DECISIONS.md "One JSON reader": fast_json (tokenizer/fast_json.cpp)
// vs the core JSON reader (simdjson -> nlohmann) vs nlohmann::json::parse vs a bare simdjson DOM
// walk of model.vocab / model.merges, best of 7 each, on one tokenizer.json. Not part of the
// build; from the repository root after `ninja -C build deepfuse`:
//   g++ -O2 -std=c++20 -Isrc -Iinclude tools/json_load_bench.cpp \
//     build/src/tokenizer/libdeepfuse_tokenizer.a build/src/core/libdeepfuse_core.a \
//     -lsimdjson -lpcre2-8 -lutf8proc -lfmt -lspdlog -o /tmp/json_load_bench
//   /tmp/json_load_bench ../shared/data/tokenizers/deepseek-v3/tokenizer.json
#include <simdjson.h>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include "core/json_reader.h"
#include "core/mapped_file.h"
#include "tokenizer/fast_json.h"
using namespace deepfuse;
using C = std::chrono::steady_clock;
int main(int argc, char** argv) {
  std::string text = read_file(argv[1]);
  auto best = [&](auto f) { double b = 1e9; for (int i = 0; i < 7; ++i) { auto t = C::now(); f(); b = std::min(b, std::chrono::duration<double>(C::now() - t).count()); } return b * 1e3; };
  double a = best([&] { tok::json rest; tok::ModelData d; tok::parse_tokenizer_json(text, "x", &rest, &d); });
  double n = best([&] { auto j = nlohmann::json::parse(text); });
  double s = best([&] { auto j = parse_json(text, "x"); });
  double raw = best([&] { simdjson::dom::parser p; simdjson::padded_string ps(text); auto r = p.parse(ps); size_t k = 0;
      simdjson::dom::object vo = r["model"]["vocab"].get_object().value(); for (auto f : vo) { std::string key(f.key); k += key.size() + f.value.get_int64().value(); }
      simdjson::dom::array ma = r["model"]["merges"].get_array().value(); for (auto m : ma) { if (m.is_string()) { std::string s(m.get_string().value()); k += s.size(); } else { simdjson::dom::array xa = m.get_array().value(); for (auto x : xa) { std::string s(x.get_string().value()); k+=s.size(); } } }
      if (k == 1) puts(""); });
  printf("{\"file\":\"%s\",\"fast_json_ms\":%.1f,\"nlohmann_full_ms\":%.1f,\"reader_full_ms\":%.1f,\"simdjson_dom_walk_vocab_merges_ms\":%.1f}\n", argv[1], a, n, s, raw);
}
