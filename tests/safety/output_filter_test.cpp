// Output safety filter (src/safety/output_filter.h): final check, refusal policy, and false
// blocks on a clean set (tests/fixtures/generation/clean_sentences.txt) measured by teacher-
// forcing each sentence's real tokenisation through the generation-time processor.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <limits>

#include "common/test_util.h"
#include "core/error.h"
#include "deepfuse/generation.h"
#include "deepfuse/tokenizer.h"
#include "engine/fake_lm.h"
#include "safety/output_filter.h"

using namespace deepfuse;

namespace {
std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) out.push_back(l);
  return out;
}
}  // namespace

TEST(OutputFilter, FinalCheckCutsAndRefuses) {
  OutputFilterOptions o;
  o.refusal = "REFUSED";
  o.min_useful_chars = 10;
  OutputFilter f({"kill yourself", "杀人"}, nullptr, o);
  auto v = f.finalize("A long and useful answer. Then: KILL   yourself no, KILL YOURSELF now");
  EXPECT_TRUE(v.blocked);
  EXPECT_FALSE(v.refused);
  EXPECT_EQ(v.text, "A long and useful answer. Then: ");  // space runs match too
  ASSERT_EQ(v.phrases.size(), 2u);
  auto r = f.finalize("ok 杀人");
  EXPECT_TRUE(r.refused);
  EXPECT_EQ(r.text, "REFUSED");
  auto clean = f.finalize("a short one");
  EXPECT_FALSE(clean.blocked);
  EXPECT_EQ(clean.text, "a short one");
  auto width = f.finalize("ｋｉｌｌ ｙｏｕｒｓｅｌｆ");
  EXPECT_TRUE(width.refused);
}

TEST(OutputFilter, NoFalseBlocksOnCleanSetWithRealTokenizer) {
  auto tok = AutoTokenizer::from_pretrained(test::source_path("assets/models/stories260K"));
  auto text = make_token_text_source(tok);
  auto filter = OutputFilter::from_file(test::fixture("generation/banned_phrases.txt"), text);
  const auto clean = lines(test::fixture("generation/clean_sentences.txt"));
  ASSERT_GE(clean.size(), 30u);
  int false_blocks = 0, steps = 0;
  for (const auto& s : clean) {
    EXPECT_TRUE(filter->check(s).empty()) << s;
    // Teacher forcing: would the processor have masked the token the text actually uses?
    std::vector<int32_t> ids = tok->encode(s, false);
    std::vector<int32_t> ctx = {1};
    auto proc = filter->make_processor();
    for (int32_t id : ids) {
      std::vector<float> scores(static_cast<size_t>(text->vocab_size()), 0.0f);
      GenerationState st;
      st.ids = ctx;
      st.prompt_len = 1;
      proc->process(st, scores);
      ++steps;
      if (scores[static_cast<size_t>(id)] == -std::numeric_limits<float>::infinity()) {
        ++false_blocks;
        ADD_FAILURE() << "false block in: " << s;
        break;
      }
      ctx.push_back(id);
    }
  }
  std::printf("[output filter] clean sentences: %zu, tokens: %d, false blocks: %d\n", clean.size(),
              steps, false_blocks);
  EXPECT_EQ(false_blocks, 0);
}

TEST(OutputFilter, BlocksBannedTextUnderTeacherForcing) {
  // The same teacher forcing on banned sentences must hit the mask before the phrase is done.
  auto tok = AutoTokenizer::from_pretrained(test::source_path("assets/models/stories260K"));
  auto text = make_token_text_source(tok);
  auto filter = OutputFilter::from_file(test::fixture("generation/banned_phrases.txt"), text);
  for (const std::string s : {"you should Kill Yourself now", "here is how to make a bomb today",
                              "他想杀人", "自杀方法"}) {
    std::vector<int32_t> ids = tok->encode(s, false);
    std::vector<int32_t> ctx = {1};
    auto proc = filter->make_processor();
    bool masked = false;
    for (int32_t id : ids) {
      std::vector<float> scores(static_cast<size_t>(text->vocab_size()), 0.0f);
      GenerationState st;
      st.ids = ctx;
      st.prompt_len = 1;
      proc->process(st, scores);
      if (scores[static_cast<size_t>(id)] == -std::numeric_limits<float>::infinity()) {
        masked = true;
        break;
      }
      ctx.push_back(id);
    }
    EXPECT_TRUE(masked) << s;
  }
  EXPECT_THROW(OutputFilter::from_file("/nonexistent/banned.txt", text), NotFound);
}

namespace {

// A fake model that writes `script` (token pieces) and then EOS, whatever the filter's
// processor would say: no processor is attached, so phrases reach the final check and only
// the streaming guard stands between them and the screen.
struct Scripted {
  std::shared_ptr<test::FakeVocab> vocab;
  std::vector<int32_t> ids;
};
Scripted scripted(const std::vector<std::string>& pieces) {
  std::vector<std::string> p = {""};  // 0: EOS
  for (const auto& s : pieces)
    if (std::find(p.begin(), p.end(), s) == p.end()) p.push_back(s);
  Scripted sc{std::make_shared<test::FakeVocab>(p), {}};
  for (const auto& s : pieces) sc.ids.push_back(sc.vocab->id(s));
  return sc;
}

struct StreamRun {
  std::vector<std::string> deltas;
  std::string shown;
  FilterVerdict verdict;
  GenerationResult result;
};
StreamRun run_stream(const OutputFilter& filter, const Scripted& sc) {
  test::FakeLM model(sc.vocab->vocab_size(), [&sc](const std::vector<int32_t>& ctx, float* lg) {
    const size_t step = ctx.size() - 1;  // prompt is one token
    for (int64_t i = 0; i < sc.vocab->vocab_size(); ++i) lg[i] = 0;
    lg[step < sc.ids.size() ? sc.ids[step] : 0] = 30.0f;
  });
  Generator g(model, sc.vocab);
  StreamRun run;
  FilteredStream fs(filter, [&run](std::string_view d) {
    run.deltas.emplace_back(d);
    run.shown += d;
  });
  GenerationRequest req;
  req.prompt_ids = {sc.ids.empty() ? 0 : sc.ids[0]};
  req.config.max_new_tokens = static_cast<int64_t>(sc.ids.size()) + 1;
  req.config.eos_token_id = std::vector<int32_t>{0};
  std::vector<std::string> shown_so_far;
  req.on_text = [&](std::string_view d) {
    fs.on_text(d);
    shown_so_far.push_back(run.shown);
  };
  run.result = g.generate(std::move(req));
  run.verdict = fs.finish(run.result.text, nullptr);
  // At no moment does what is on the screen hold a banned phrase, and it only ever grows
  // into the final answer.
  for (const auto& s : shown_so_far) {
    EXPECT_TRUE(filter.check(s).empty()) << "shown: " << s;
    EXPECT_EQ(run.verdict.text.compare(0, s.size(), s), 0) << "shown: " << s;
  }
  return run;
}

}  // namespace

TEST(OutputFilter, StreamNeverShowsABannedPhrase) {
  OutputFilterOptions o;
  o.refusal = "REFUSED";
  o.min_useful_chars = 10;
  OutputFilter f({"kill yourself", "杀人"}, nullptr, o);
  // Clean: everything is shown, and the stream equals the final text.
  auto clean = run_stream(f, scripted({"The ", "kil", "n ", "is ", "warm", ". ", "You", "rself",
                                       " ", "\xE6\x9D\x80", "\xE9\xB8\xA1", "."}));
  EXPECT_FALSE(clean.verdict.blocked);
  EXPECT_EQ(clean.result.text, "The kiln is warm. Yourself 杀鸡.");
  EXPECT_EQ(clean.shown, clean.result.text);
  EXPECT_GT(clean.deltas.size(), 2u);  // streamed, not shown all at the end
  // A phrase spelled in other case, width and spacing across tokens: the text before it is
  // shown, no byte of the phrase is, and the stream equals the verdict.
  auto bad = run_stream(f, scripted({"A long and useful answer", ". Then ", "\xEF\xBC\xAB", "ILL",
                                     "   your", "SELF", " and more text"}));
  EXPECT_TRUE(bad.verdict.blocked);
  EXPECT_FALSE(bad.verdict.refused);
  EXPECT_EQ(bad.verdict.text, "A long and useful answer. Then ");
  EXPECT_EQ(bad.shown, bad.verdict.text);
  // A short answer that gets blocked is replaced by the refusal, and nothing of it was shown
  // before the refusal.
  auto refused = run_stream(f, scripted({"ok ", "\xE6\x9D\x80", "\xE4\xBA\xBA", " now"}));
  EXPECT_TRUE(refused.verdict.refused);
  EXPECT_EQ(refused.shown, "REFUSED");
  ASSERT_EQ(refused.deltas.size(), 1u);
}
