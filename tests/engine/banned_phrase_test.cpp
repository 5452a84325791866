// The banned-phrase processor: a fake model that strongly prefers the tokens spelling a phrase,
// in every tokenisation the vocabulary allows (whole word, pieces, other case, fullwidth,
// Chinese characters, raw UTF-8 bytes), never gets it out.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "deepfuse/generation.h"
#include "engine/banned_phrases.h"
#include "engine/fake_lm.h"
#include "engine/text_normalize.h"

using namespace deepfuse;
using deepfuse::test::FakeLM;
using deepfuse::test::FakeVocab;
namespace eng = deepfuse::engine;

namespace {

std::shared_ptr<FakeVocab> vocab() {
  std::vector<std::string> p = {""};  // 0: EOS
  for (char c = 'a'; c <= 'z'; ++c) p.push_back(std::string(1, c));
  for (char c = 'A'; c <= 'Z'; ++c) p.push_back(std::string(1, c));
  for (const char* s : {" ",
                        ".",
                        "ki",
                        "ll",
                        "kill",
                        " kill",
                        "KILL",
                        "Kil",
                        "il",
                        "l ",
                        "\xEF\xBD\x8B",              // fullwidth k
                        "\xEF\xBD\x89\xEF\xBD\x8C",  // fullwidth il
                        "\xE6\x9D\x80",              // 杀
                        "\xE4\xBA\xBA",              // 人
                        "\xE6\x9D\x80\xE4\xBA\xBA",  // 杀人
                        "\xE6",
                        "\x9D",
                        "\x80",
                        "\xE4",
                        "\xBA",  // raw bytes
                        "\xE6\x9D",
                        "\x80\xE4\xBA\xBA",
                        "you",
                        " me",
                        "\xE6\x88\x91"})  // 我
    p.push_back(s);
  return std::make_shared<FakeVocab>(p);
}

// Scores every token whose normalised text continues `target` (from the longest suffix of the
// text that is a target prefix) far above the rest; ties broken by a per-context hash so many
// tokenisations get tried over many seeds.
FakeLM::ScoreFn forcing_model(std::shared_ptr<FakeVocab> v, std::string target,
                              int64_t prompt_len) {
  return [v, target = eng::normalize_for_match(target), prompt_len](const std::vector<int32_t>& ctx,
                                                                    float* lg) {
    FakeLM::hash_logits(ctx, v->vocab_size(), lg);
    std::string raw;
    for (size_t i = static_cast<size_t>(prompt_len); i < ctx.size(); ++i)
      raw += v->pieces()[static_cast<size_t>(ctx[i])];
    const std::string norm = eng::normalize_for_match(FakeVocab::lossy_utf8(raw));
    const std::string raw_tail = raw.substr(eng::complete_utf8_prefix(raw));
    size_t have = 0;  // bytes of target already written at the end of the text
    for (size_t k = std::min(norm.size(), target.size()); k > 0; --k)
      if (norm.compare(norm.size() - k, k, target, 0, k) == 0) {
        have = k;
        break;
      }
    for (int64_t id = 1; id < v->vocab_size(); ++id) {
      const std::string& piece = v->pieces()[static_cast<size_t>(id)];
      std::string cont = raw_tail.empty() ? eng::normalize_for_match(piece) : raw_tail + piece;
      size_t pos = have;
      if (!raw_tail.empty()) pos = have;  // raw bytes continue after the complete text
      if (pos < target.size() && !cont.empty() &&
          target.compare(pos, std::min(cont.size(), target.size() - pos), cont, 0,
                         std::min(cont.size(), target.size() - pos)) == 0)
        lg[id] += 20.0f + static_cast<float>(cont.size());
    }
  };
}

}  // namespace

TEST(BannedPhrase, NormalisationIsCaseAndWidthInsensitive) {
  EXPECT_EQ(eng::normalize_for_match("ＫiLL"), "kill");
  EXPECT_EQ(eng::normalize_for_match("Straße"), "strasse");
  EXPECT_EQ(eng::normalize_for_match("殺人"), "殺人");  // no traditional/simplified folding
  eng::BannedPhraseIndex idx({"kill", "杀人"}, nullptr);
  auto m = idx.find("I will ＫＩＬＬ you, 杀人!");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(std::string("I will ＫＩＬＬ you, 杀人!").substr(m[0].begin, m[0].end - m[0].begin),
            "ＫＩＬＬ");
  EXPECT_EQ(std::string("I will ＫＩＬＬ you, 杀人!").substr(m[1].begin, m[1].end - m[1].begin),
            "杀人");
  EXPECT_TRUE(idx.find("skilled? no: ski ll").size() == 1);  // substring match is intended
  EXPECT_TRUE(idx.find("a clean sentence").empty());
}

TEST(BannedPhrase, ForcedModelNeverEmitsPhraseInAnyTokenisation) {
  auto v = vocab();
  auto index =
      std::make_shared<eng::BannedPhraseIndex>(std::vector<std::string>{"kill", "杀人"}, v);
  int64_t interventions = 0;
  for (const std::string target : {"i kill you", "我杀人", "KILL", "杀人杀人"}) {
    const std::vector<int32_t> prompt = {v->id("you")};
    FakeLM model(v->vocab_size(), forcing_model(v, target, 1));
    Generator g(model, v);
    // Without the processor the model does write the phrase (the test can fail).
    GenerationRequest plain;
    plain.prompt_ids = prompt;
    plain.config.max_new_tokens = 12;
    auto free_run = g.generate(plain);
    EXPECT_FALSE(index->find(free_run.text).empty())
        << "model should be forced to '" << target << "', wrote '" << free_run.text << "'";
    for (uint64_t seed = 0; seed < 40; ++seed) {
      GenerationRequest r;
      r.prompt_ids = prompt;
      r.config.max_new_tokens = 24;
      r.config.do_sample = seed > 0;
      r.config.seed = seed;
      r.config.top_k = 0;
      auto proc = std::make_shared<eng::BannedPhraseProcessor>(index);
      r.logits_processors.push_back(proc);
      auto res = g.generate(r);
      EXPECT_TRUE(index->find(res.text).empty())
          << "seed " << seed << " wrote '" << res.text << "'";
      EXPECT_TRUE(index->find(v->decode(res.ids)).empty());
      interventions += proc->interventions();
    }
  }
  EXPECT_GT(interventions, 0);
}

TEST(BannedPhrase, CleanTextIsNotBlocked) {
  auto v = vocab();
  auto index =
      std::make_shared<eng::BannedPhraseIndex>(std::vector<std::string>{"kill", "杀人"}, v);
  // A model forced toward a clean sentence is left alone.
  FakeLM model(v->vocab_size(), forcing_model(v, "i see you me", 1));
  Generator g(model, v);
  GenerationRequest a;
  a.prompt_ids = {v->id("you")};
  a.config.max_new_tokens = 12;
  GenerationRequest b = a;
  auto proc = std::make_shared<eng::BannedPhraseProcessor>(index);
  b.logits_processors.push_back(proc);
  EXPECT_EQ(g.generate(a).ids, g.generate(b).ids);
  EXPECT_EQ(proc->interventions(), 0);
}

TEST(BannedPhrase, PhraseFileParsing) {
  const std::string dir = deepfuse::test::temp_dir("banned");
  deepfuse::test::write_text(dir + "/p.txt", "\xEF\xBB\xBF# comment\n  kill  \r\n\n杀人\n");
  auto p = eng::BannedPhraseIndex::read_phrase_file(dir + "/p.txt");
  EXPECT_EQ(p, (std::vector<std::string>{"kill", "杀人"}));
  deepfuse::test::write_text(dir + "/empty.txt", "# nothing\n\n");
  EXPECT_THROW(eng::BannedPhraseIndex::read_phrase_file(dir + "/empty.txt"), InvalidArgument);
  EXPECT_THROW(eng::BannedPhraseIndex::read_phrase_file(dir + "/missing.txt"), NotFound);
  EXPECT_THROW(eng::BannedPhraseIndex({"", "  "}, nullptr), InvalidArgument);
}

// The streaming scanner on random texts fed in random pieces: the safe part never reaches
// the start of the phrase the final check cuts at (so a stream shows no part of a phrase),
// never shrinks, ends on a character boundary, and covers the whole text when it is clean.
TEST(BannedPhrase, ScannerNeverShowsAPhraseStart) {
  auto index = std::make_shared<eng::BannedPhraseIndex>(
      std::vector<std::string>{"kill you", "ab ab", "杀人", "baa"}, nullptr);
  const std::vector<std::string> atoms = {"a",
                                          "b",
                                          " ",
                                          "  ",
                                          "A",
                                          "B",
                                          "k",
                                          "ill",
                                          "KILL",
                                          "you",
                                          "YOU",
                                          "\xEF\xBD\x81" /* ａ */,
                                          "\xE6\x9D\x80" /* 杀 */,
                                          "\xE4\xBA\xBA" /* 人 */,
                                          "\xE6\x9D",
                                          "\x80",
                                          "x",
                                          "\n"};
  uint64_t h = 88172645463325252ull;
  auto rnd = [&](uint64_t n) {
    h ^= h << 13, h ^= h >> 7, h ^= h << 17;
    return h % n;
  };
  int with_phrase = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    const size_t len = 1 + rnd(24);
    for (size_t i = 0; i < len; ++i) text += atoms[rnd(atoms.size())];
    const auto matches = index->find(FakeVocab::lossy_utf8(text));
    // Feed the bytes in random pieces (cutting characters apart too).
    eng::BannedPhraseScanner sc(index);
    size_t fed = 0, prev_safe = 0;
    std::string lossy = FakeVocab::lossy_utf8(text);
    // The scanner follows decoded text, which is valid UTF-8: feed `lossy`.
    while (fed < lossy.size()) {
      const size_t n = std::min(lossy.size() - fed, 1 + rnd(5));
      sc.append(std::string_view(lossy).substr(fed, n));
      fed += n;
      const size_t safe = sc.safe_length();
      ASSERT_GE(safe, prev_safe) << lossy;
      ASSERT_LE(safe, fed);
      prev_safe = safe;
      const std::string shown = lossy.substr(0, safe);
      ASSERT_TRUE(index->find(shown).empty()) << "shown '" << shown << "' of '" << lossy << "'";
      ASSERT_EQ(eng::complete_utf8_prefix(shown), shown.size());
      if (!matches.empty()) ASSERT_LE(safe, matches.front().begin) << lossy;
    }
    if (matches.empty()) {
      // A clean text is held back only where a phrase could still begin.
      const size_t safe = sc.safe_length();
      const std::string rest = lossy.substr(safe);
      if (!rest.empty()) {
        // ... i.e. some ending of some phrase completes it into a match starting right there.
        bool could_grow = false;
        for (const auto& p : index->phrases())
          for (size_t k = 0; k <= p.size() && !could_grow; ++k) {
            const auto m = index->find(rest + p.substr(k));
            could_grow = !m.empty() && m.front().begin == 0;
          }
        EXPECT_TRUE(could_grow) << "held back '" << rest << "' of '" << lossy << "'";
      }
    } else {
      ++with_phrase;
      EXPECT_EQ(sc.match_begin(), matches.front().begin);
    }
  }
  EXPECT_GT(with_phrase, 100);
}
