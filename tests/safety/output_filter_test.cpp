// Output safety filter (src/safety/output_filter.h): final check, refusal policy, and false
// blocks on a clean set (tests/fixtures/generation/clean_sentences.txt) measured by teacher-
// forcing each sentence's real tokenisation through the generation-time processor.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "common/test_util.h"
#include "core/error.h"
#include "deepfuse/generation.h"
#include "deepfuse/tokenizer.h"
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
