// `deepfuse bench tokenizer`: load time, single-thread encode MB/s and batch-encode scaling on a
// mixed English/Chinese corpus (MedQuAD answers + Chinese medical dialogues), side by side with
// HF tokenizers (tools/tokenizer_refs/bench_hf.js, run in the same invocation on the same
// corpus file; skipped with a note when Node.js or the package is missing, or with --no-hf).
// Prints one JSON object per tokenizer.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/bench_long_line.h"
#include "cli/bench_registry.h"
#include "cli/cli_util.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::vector<std::string> models;
  std::string data_dir = "../shared/data";
  double corpus_mb = 10;
  std::vector<int> threads = {1, 2, 4};
  std::string hf_script = "tools/tokenizer_refs/bench_hf.js";
  std::string corpus_file;  // one document per line; empty: build from the corpora
  std::string save_corpus;
  bool hf = true;
  std::vector<double> long_line_mb;  // non-empty: the one-long-line memory mode
  bool long_line_mask = true;
};

double secs(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU time of the calling thread: on a machine shared with other jobs it is the fair measure of
// single-thread work (wall time includes waiting for a core).
double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Alternates English and Chinese documents until `mb` megabytes; one document per line.
std::vector<std::string> build_corpus(const std::string& data_dir, double mb) {
  std::string en_path = data_dir + "/corpora/medquad/medquad_qa.jsonl";
  std::string zh_path = data_dir + "/corpora/chinese-medical-dialogue/IM_neike_qa.jsonl";
  std::ifstream en(en_path), zh(zh_path);
  if (!en) throw NotFound(en_path + ": cannot open (expected the MedQuAD corpus; set --data)");
  if (!zh) throw NotFound(zh_path + ": cannot open (expected the Chinese medical dialogue corpus)");
  JsonReader reader(kRequestJsonLimits);
  auto next = [&reader](std::ifstream& in, std::initializer_list<const char*> keys) -> std::string {
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json j;
      try {
        j = reader.parse(line, "corpus line");
      } catch (const FormatError&) {
        continue;  // a corpus line that is not JSON is skipped, as before
      }
      if (!j.is_object()) continue;
      std::string doc;
      for (const char* k : keys)
        if (j.contains(k) && j[k].is_string()) {
          if (!doc.empty()) doc += ' ';
          doc += j[k].get<std::string>();
        }
      for (char& c : doc)
        if (c == '\n' || c == '\r') c = ' ';
      if (!doc.empty()) return doc;
    }
    return {};
  };
  std::vector<std::string> docs;
  size_t total = 0, target = static_cast<size_t>(mb * 1e6);
  bool en_left = true, zh_left = true;
  size_t en_bytes = 0, zh_bytes = 0;
  while (total < target && (en_left || zh_left)) {
    // Keep the byte mix roughly half English, half Chinese.
    bool want_en = en_left && (!zh_left || en_bytes <= zh_bytes);
    std::string d =
        want_en ? next(en, {"question", "answer"}) : next(zh, {"title", "ask", "answer"});
    if (d.empty()) {
      (want_en ? en_left : zh_left) = false;
      continue;
    }
    (want_en ? en_bytes : zh_bytes) += d.size();
    total += d.size();
    docs.push_back(std::move(d));
  }
  return docs;
}

nlohmann::json run_hf(const BenchOptions& o, const std::string& tok_json, const std::string& corpus,
                      int threads) {
  std::string cmd = "node '" + o.hf_script + "' '" + tok_json + "' '" + corpus + "' " +
                    std::to_string(threads) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {{"error", "cannot run node"}};
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int rc = pclose(p);
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (rc != 0 || j.is_discarded())
    return {{"error", "HF bench failed (npm ci in tools/tokenizer_refs?): " + out.substr(0, 200)}};
  return j;
}

// Why the HF side cannot run here ("" when it can): --no-hf, no node on PATH, or the npm package
// not resolvable from the script's folder. The benchmark then reports deepfuse alone (e.g. to
// measure thread scaling on a machine without Node.js) and says so in "hf_1t".
std::string hf_unavailable(const BenchOptions& o) {
  if (!o.hf) return "--no-hf";
  if (!fs::exists(o.hf_script))
    return o.hf_script + " not found (run from the repository root or pass --hf-script)";
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node not found on PATH";
  std::string dir = fs::absolute(o.hf_script).parent_path().string();
  std::string probe = "node -e \"require.resolve('@anush008/tokenizers', {paths: ['" + dir +
                      "']})\" >/dev/null 2>&1";
  if (dir.find_first_of("'\"\\") != std::string::npos || std::system(probe.c_str()) != 0)
    return "npm package @anush008/tokenizers not installed (cd " + dir + " && npm ci)";
  return "";
}

void run_bench(const BenchOptions& o) {
  const std::string hf_skip = hf_unavailable(o);
  if (!hf_skip.empty() && o.hf)
    std::fprintf(stderr, "bench tokenizer: HF tokenizers comparison skipped: %s\n",
                 hf_skip.c_str());
  std::vector<std::string> docs;
  if (!o.long_line_mb.empty()) {
    std::vector<std::string> models = o.models;
    if (models.empty())
      models = {o.data_dir + "/tokenizers/deepseek-v3", o.data_dir + "/tokenizers/llama3"};
    if (o.corpus_file.empty()) {
      docs = build_corpus(o.data_dir, 2);  // text repeated into the line: 2 MB is variety enough
    } else {
      std::ifstream in(o.corpus_file);
      if (!in) throw NotFound(o.corpus_file + ": cannot open (expected one document per line)");
      std::string line;
      while (std::getline(in, line))
        if (!line.empty()) docs.push_back(line);
    }
    run_long_line_bench(models, o.long_line_mb, docs, o.long_line_mask);
    return;
  }
  if (!o.corpus_file.empty()) {
    std::ifstream in(o.corpus_file);
    if (!in) throw NotFound(o.corpus_file + ": cannot open (expected one document per line)");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) docs.push_back(line);
  } else {
    docs = build_corpus(o.data_dir, o.corpus_mb);
  }
  size_t bytes = 0;
  for (auto& d : docs) bytes += d.size();
  std::string corpus_path =
      (fs::temp_directory_path() / "deepfuse_tokenizer_bench_corpus.txt").string();
  {
    std::ofstream f(corpus_path, std::ios::binary);
    for (auto& d : docs) f << d << '\n';
  }
  std::vector<std::string> models = o.models;
  if (models.empty())
    models = {o.data_dir + "/tokenizers/deepseek-v3", o.data_dir + "/tokenizers/llama3"};
  for (const auto& dir : models) {
    nlohmann::json r;
    r["bench"] = "tokenizer";
    r["model"] = dir;
    r["corpus_bytes"] = bytes;
    r["corpus_docs"] = docs.size();
    r["hardware_threads"] = hardware_threads();
    // Load time: median of 3.
    std::vector<double> loads, load_cpu;
    std::shared_ptr<const Tokenizer> tok;
    for (int i = 0; i < 3; ++i) {
      auto t0 = Clock::now();
      double c0 = thread_cpu_s();
      tok = AutoTokenizer::from_pretrained(dir);
      load_cpu.push_back((thread_cpu_s() - c0) * 1e3);
      loads.push_back(secs(t0) * 1e3);
    }
    std::sort(loads.begin(), loads.end());
    std::sort(load_cpu.begin(), load_cpu.end());
    r["load_ms"] = loads[1];
    r["load_cpu_ms"] = load_cpu[1];
    // Single-thread encode, fresh tokenizer (cold word cache, like the HF run).
    tok = AutoTokenizer::from_pretrained(dir);
    size_t tokens = 0;
    auto t0 = Clock::now();
    double c0 = thread_cpu_s();
    for (const auto& d : docs) tokens += tok->encode(d, false).size();
    double cpu = thread_cpu_s() - c0;
    double s = secs(t0);
    r["encode_1t_s"] = s;
    r["encode_1t_mb_per_s"] = bytes / 1e6 / s;
    r["encode_1t_cpu_s"] = cpu;
    r["encode_1t_mb_per_cpu_s"] = bytes / 1e6 / cpu;
    r["tokens"] = tokens;
    // Batch encode scaling.
    nlohmann::json scaling = nlohmann::json::array();
    for (int t : o.threads) {
      auto fresh = AutoTokenizer::from_pretrained(dir);
      BatchEncodeOptions bo;
      bo.add_special_tokens = false;
      bo.num_threads = t;
      auto t1 = Clock::now();
      auto enc = fresh->encode_batch(docs, bo);
      double bs = secs(t1);
      scaling.push_back({{"threads", t}, {"seconds", bs}, {"mb_per_s", bytes / 1e6 / bs}});
    }
    r["batch"] = scaling;
    std::string tj = dir + "/tokenizer.json";
    if (!hf_skip.empty()) {
      r["hf_1t"] = {{"skipped", hf_skip}};
    } else if (!fs::exists(tj)) {
      r["hf_1t"] = {{"skipped", "no tokenizer.json in the folder (HF side loads only that file)"}};
    } else {
      nlohmann::json hf = run_hf(o, tj, corpus_path, 1);
      r["hf_1t"] = hf;
      if (hf.contains("mb_per_s") && hf["mb_per_s"].get<double>() > 0) {
        r["speedup_vs_hf_1t"] =
            r["encode_1t_mb_per_s"].get<double>() / hf["mb_per_s"].get<double>();
        r["same_token_count_as_hf"] = hf.value("tokens", size_t{0}) == tokens;
        if (hf.contains("mb_per_cpu_s") && hf["mb_per_cpu_s"].get<double>() > 0)
          r["speedup_vs_hf_1t_cpu"] =
              r["encode_1t_mb_per_cpu_s"].get<double>() / hf["mb_per_cpu_s"].get<double>();
      }
    }
    print_json_line(r);
  }
  if (!o.save_corpus.empty())
    fs::copy_file(corpus_path, o.save_corpus, fs::copy_options::overwrite_existing);
  fs::remove(corpus_path);
}

void add_bench_tokenizer(CLI::App& bench) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "tokenizer", "Tokenizer load time, encode MB/s (1 thread and batch) vs HF tokenizers");
  cmd->add_option("--model", o->models,
                  "Model folder(s) (default: shared DeepSeek-V3 and Llama-3)");
  cmd->add_option("--data", o->data_dir, "Shared data folder with corpora/ and tokenizers/");
  cmd->add_option("--corpus-mb", o->corpus_mb, "Corpus size in MB (half English, half Chinese)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--corpus", o->corpus_file,
                  "Use this corpus (one document per line) instead of building one");
  cmd->add_option("--save-corpus", o->save_corpus, "Write the built corpus to this file");
  cmd->add_option("--threads-list", o->threads,
                  "Comma-separated thread counts for batch encode (each >= 1; default 1,2,4)")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--hf-script", o->hf_script,
                  "Node script that runs HF tokenizers (skipped, with a note in \"hf_1t\", when "
                  "node or the npm package is missing)");
  cmd->add_flag("!--no-hf", o->hf, "Skip the HF tokenizers comparison");
  cmd->add_option("--long-line-mb", o->long_line_mb,
                  "Instead: time and peak memory of tokenizing ONE line of each size (MB, "
                  "comma-separated), and of PII-masking it")
      ->delimiter(',')
      ->check(CLI::Range(0.001, 4096.0));
  cmd->add_flag("!--no-mask", o->long_line_mask, "With --long-line-mb: skip the masking run");
  set_examples(
      cmd,
      "  deepfuse bench tokenizer\n"
      "  deepfuse bench tokenizer --model ../shared/data/tokenizers/qwen3 --corpus-mb 2 --no-hf\n"
      "  # batch-encode thread scaling only (no Node.js needed):\n"
      "  deepfuse bench tokenizer --no-hf --threads-list 1,2,4,8,16\n"
      "  deepfuse bench tokenizer --no-hf --corpus corpus.txt --model DIR --threads-list 1,16\n"
      "  # memory and time of one long line (10 and 50 MB):\n"
      "  deepfuse bench tokenizer --long-line-mb 10,50 --model ../shared/data/tokenizers/qwen3\n");
  cmd->callback([o] { run_bench(*o); });
}

const bool kRegistered = register_bench_command("tokenizer", &add_bench_tokenizer);

}  // namespace

}  // namespace deepfuse::cli
