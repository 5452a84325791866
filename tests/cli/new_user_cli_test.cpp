// Regression tests for issue 13: defects a new user hits in the CLI (lost space after the
// prompt, literal "\n" stop strings, chat past the context, deep JSON, unbounded --threads,
// logits --out into a missing folder, --log-level after the subcommand, unknown subcommands).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace deepfuse {
namespace {

using nlohmann::json;
constexpr const char* kModel = "assets/models/stories260K";

std::string model() {
  return test::source_path(kModel);
}

std::string detokenize(const std::vector<int32_t>& ids) {
  const auto r = test::run_cli({"detokenize", "--model", model(), "--skip-special"},
                               json{{"ids", ids}}.dump());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out)["text"];
}

// transformers' view of the generated text: decode(prompt + new) less decode(prompt) (what
// TextStreamer and pipeline users see). `deepfuse detokenize` matches HF's decode (tokenizer
// golden tests), so it serves as the reference here.
std::string text_after_prompt(const std::vector<int32_t>& prompt, const std::vector<int32_t>& gen) {
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), gen.begin(), gen.end());
  const std::string full = detokenize(all), head = detokenize(prompt);
  EXPECT_EQ(full.compare(0, head.size(), head), 0) << full;
  return full.substr(head.size());
}

TEST(NewUserCli, GeneratedTextKeepsTheSpaceAfterThePrompt) {
  const std::vector<std::string> base = {"generate",  "--model",          model(), "--prompt",
                                         "Lily went", "--max-new-tokens", "5",     "--greedy"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return test::run_cli(a);
  };
  const auto j_run = with({"--json"});
  ASSERT_EQ(j_run.exit_code, 0) << j_run.err;
  const json j = json::parse(j_run.out);
  const std::string want = text_after_prompt(j["prompt_ids"].get<std::vector<int32_t>>(), j["ids"]);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(want[0], ' ') << want;  // "Lily went" + " to..." (was "Lily wentto")
  EXPECT_EQ(j["text"], want);
  const auto plain = with({}), streamed = with({"--stream"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "Lily went" + want + "\n");
  EXPECT_EQ(streamed.out, plain.out);

  // The same holds for the fixture prompts whose first new token starts a word.
  const auto dog = test::run_cli({"generate", "--model", model(), "--prompt", "The little dog",
                                  "--max-new-tokens", "8", "--greedy", "--json"});
  ASSERT_EQ(dog.exit_code, 0) << dog.err;
  const json d = json::parse(dog.out);
  EXPECT_EQ(d["text"], text_after_prompt(d["prompt_ids"].get<std::vector<int32_t>>(), d["ids"]));
}

TEST(NewUserCli, StopStringsInterpretEscapes) {
  // The --help example, as written (M = the embedded model).
  const auto r = test::run_cli({"generate", "--model", model(), "--prompt", "Hi", "--greedy",
                                "--stop", "\\n", "--json", "--top-logprobs", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["text"].get<std::string>().find('\n'), std::string::npos);
  EXPECT_EQ(j["text"].get<std::string>().find("\\n"), std::string::npos);
  // A stop string spelled with escapes matches the text it stands for.
  const auto u = test::run_cli({"generate", "--model", model(), "--prompt", "Once upon a time",
                                "--max-new-tokens", "40", "--greedy", "--stop", "little\\u0020girl",
                                "--json"});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  const json ju = json::parse(u.out);
  EXPECT_EQ(ju["finish_reason"], "stop");
  EXPECT_EQ(ju["stop_string"], "little girl");
  EXPECT_EQ(ju["text"], ", there was a ");
  for (const char* bad : {"\\q", "ab\\", "\\u12", "\\ud800x", ""}) {
    const auto e = test::run_cli(
        {"generate", "--model", model(), "--prompt", "Hi", "--greedy", "--stop", bad});
    EXPECT_EQ(e.exit_code, 2) << bad << ": " << e.err;
    EXPECT_NE(e.err.find("--stop"), std::string::npos) << e.err;
  }
}

std::string long_message(int words) {
  std::string s;
  for (int i = 0; i < words; ++i) s += i ? " the little dog ran" : "the little dog ran";
  return s;
}

TEST(NewUserCli, ChatDropsOldestTurnsInsteadOfDying) {
  // stories260K has a 512-token context; three ~160-token messages overflow it.
  const std::string msg = long_message(40);
  const std::string in = msg + "\n" + msg + "\n" + msg + "\n";
  const auto r = test::run_cli({"chat", "--model", model(), "--max-new-tokens", "8", "--greedy",
                                "--json", "--system", "You tell stories."},
                               in);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t lines = 0;
  for (char c : r.out) lines += c == '\n';
  EXPECT_EQ(lines, 3u) << r.out;
  const std::string note = "dropping the oldest turns";
  const size_t at = r.err.find(note);
  EXPECT_NE(at, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(note, at + 1), std::string::npos) << "said more than once: " << r.err;

  // One message longer than the context: refused, and the conversation goes on.
  const auto big =
      test::run_cli({"chat", "--model", model(), "--max-new-tokens", "8", "--greedy", "--json"},
                    long_message(200) + "\nOnce upon a time\n");
  ASSERT_EQ(big.exit_code, 0) << big.err;
  EXPECT_NE(big.err.find("not sent"), std::string::npos) << big.err;
  const auto nl = big.out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(json::parse(big.out.substr(0, nl))["finish_reason"], "context_overflow");
  EXPECT_TRUE(json::parse(big.out.substr(nl + 1)).contains("text")) << big.out;
}

TEST(NewUserCli, ChatCommands) {
  const auto r =
      test::run_cli({"chat", "--model", model(), "--max-new-tokens", "4", "--greedy", "--json"},
                    "/help\nOnce upon a time\n/reset\n/exit\nnever answered\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t lines = 0;
  for (char c : r.out) lines += c == '\n';
  EXPECT_EQ(lines, 1u) << r.out;
  EXPECT_NE(r.err.find("/reset"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("conversation reset"), std::string::npos) << r.err;
}

TEST(NewUserCli, DeeplyNestedJsonIsAShortErrorNotACrash) {
  for (size_t depth : {100000u, 20000u, 200u}) {
    const std::string ids = std::string(depth, '[') + std::string(depth, ']');
    const auto r = test::run_cli({"detokenize", "--model", model()}, "{\"ids\":" + ids + "}\n");
    EXPECT_EQ(r.exit_code, 2) << depth << ": " << r.err.substr(0, 300);
    EXPECT_LT(r.err.size(), 300u) << r.err.substr(0, 300);
    EXPECT_NE(r.err.find("stdin line 1"), std::string::npos) << r.err;
  }
  const auto t = test::run_cli({"tokenize", "--model", model(), "--jsonl"},
                               "{\"text\":" + std::string(50000, '[') + "}\n");
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_LT(t.err.size(), 300u);
  // A config file goes through the same reader.
  const std::string dir = test::temp_dir("deep_config");
  test::write_text(dir + "/config.json",
                   "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}");
  const auto c = test::run_cli({"inspect", "--model", dir});
  EXPECT_EQ(c.exit_code, 2) << c.err.substr(0, 300);
  EXPECT_LT(c.err.size(), 300u) << c.err.substr(0, 300);
  EXPECT_NE(c.err.find("nested deeper than"), std::string::npos) << c.err;
}

TEST(NewUserCli, ThreadsAreCappedAtTheHardware) {
  const auto r = test::run_cli({"generate", "--model", model(), "--prompt", "Hi", "--greedy",
                                "--max-new-tokens", "2", "--threads", "5000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("--threads 5000 is more than the"), std::string::npos) << r.err;
  const auto neg =
      test::run_cli({"generate", "--model", model(), "--prompt", "Hi", "--threads", "-1"});
  EXPECT_EQ(neg.exit_code, 2);
}

TEST(NewUserCli, LogitsOutIntoAMissingFolderIsBadInput) {
  const std::string out = test::temp_dir("logits") + "/no/such/folder/l.npy";
  const auto r = test::run_cli({"logits", "--model", model(), "--ids", "1,2", "--out", out});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
  const auto dir = test::run_cli(
      {"logits", "--model", model(), "--ids", "1,2", "--out", test::temp_dir("logits_dir")});
  EXPECT_EQ(dir.exit_code, 2) << dir.err;
}

TEST(NewUserCli, LogLevelAfterTheSubcommand) {
  const auto before = test::run_cli({"--log-level", "error", "inspect", "--model", model()});
  const auto after = test::run_cli({"inspect", "--model", model(), "--log-level", "error"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  const auto bad = test::run_cli({"inspect", "--model", model(), "--log-level", "loud"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST(NewUserCli, BenchTokenizerLongLineReportsMemory) {
  const std::string dir = test::temp_dir("long_line");
  test::write_text(dir + "/corpus.txt", "Once upon a time there was a little dog.\nIt ran.\n");
  const auto r = test::run_cli({"bench", "tokenizer", "--long-line-mb", "0.05,0.1", "--model",
                                model(), "--corpus", dir + "/corpus.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> rows;
  size_t at = 0;
  for (size_t nl; (nl = r.out.find('\n', at)) != std::string::npos; at = nl + 1)
    rows.push_back(json::parse(r.out.substr(at, nl - at)));
  ASSERT_EQ(rows.size(), 4u) << r.out;  // per size: the tokenizer, then mask_pii
  EXPECT_EQ(rows[0]["bench"], "tokenizer_long_line");
  EXPECT_EQ(rows[1]["bench"], "mask_long_line");
  EXPECT_EQ(rows[0]["line_bytes"], 50000);
  EXPECT_EQ(rows[2]["line_bytes"], 100000);
  EXPECT_GT(rows[2]["tokens"].get<int64_t>(), rows[0]["tokens"].get<int64_t>());
  for (const auto& row : rows) EXPECT_TRUE(row.contains("peak_rss_per_input_byte")) << row;
  const auto bad = test::run_cli({"bench", "tokenizer", "--long-line-mb", "-1"});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(NewUserCli, UnknownSubcommandIsNamed) {
  const auto r = test::run_cli({"rag", "--model", model()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown subcommand 'rag'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("generate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tokenize"), std::string::npos) << r.err;
  const auto with_level = test::run_cli({"--log-level", "error", "rag"});
  EXPECT_NE(with_level.err.find("'rag'"), std::string::npos) << with_level.err;
  const auto nested = test::run_cli({"bench", "nope"});
  EXPECT_EQ(nested.exit_code, 2);
  EXPECT_NE(nested.err.find("unknown subcommand 'nope' for deepfuse bench"), std::string::npos)
      << nested.err;
  EXPECT_NE(nested.err.find("tokenizer"), std::string::npos) << nested.err;
  // Known subcommands still run, and --help still works.
  EXPECT_EQ(test::run_cli({"--help"}).exit_code, 0);
  EXPECT_EQ(test::run_cli({"generate", "--help"}).exit_code, 0);
}

}  // namespace
}  // namespace deepfuse
