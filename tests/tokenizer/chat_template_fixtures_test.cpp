// Byte-for-byte parity of the chat-template renderer with Python jinja2 as transformers sets
// it up. Fixtures: tests/fixtures/chat_template/*.json, made by tools/chat_template_refs.py from
// the templates in ../shared/data/tokenizers plus feature templates.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "core/error.h"
#include "tokenizer/chat_template.h"

namespace deepfuse {
namespace {

using ojson = nlohmann::ordered_json;

std::vector<std::string> fixture_files() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(test::fixture("chat_template")))
    if (e.path().extension() == ".json" && e.path().filename() != "snippets.json")
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ChatTemplateFixtures, AllTemplatesPresent) {
  // The shared tokenizers with a template, SmolLM2's ChatML and the feature templates.
  auto files = fixture_files();
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(std::filesystem::path(f).stem().string());
  for (const char* want :
       {"deepseek-v3", "qwen3", "llama3", "smollm2-chatml", "feature_kitchen_sink",
        "feature_whitespace", "feature_llama31_style", "feature_mistral_style"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
}

TEST(ChatTemplateFixtures, MatchesJinja2ByteForByte) {
  int checked = 0;
  for (const auto& path : fixture_files()) {
    ojson fx = ojson::parse(test::read_text(path));
    SCOPED_TRACE(path);
    ChatTemplate tpl = ChatTemplate::from_string(fx["template"].get<std::string>());
    for (const auto& c : fx["cases"]) {
      SCOPED_TRACE(c["name"].get<std::string>());
      ChatTemplateOptions o;
      o.add_generation_prompt = c["add_generation_prompt"].get<bool>();
      o.tools = c["tools"];
      o.extra = fx["special_tokens"];
      for (auto it = c["extra"].begin(); it != c["extra"].end(); ++it)
        o.extra[it.key()] = it.value();
      if (c.contains("expected_error")) {
        try {
          tpl.render(c["messages"], o);
          ADD_FAILURE() << "expected an error: " << c["expected_error"];
        } catch (const InvalidArgument& e) {
          if (c["expected_error_type"] == "TemplateError") {
            EXPECT_EQ(std::string(e.what()), c["expected_error"].get<std::string>());
          }
        }
      } else {
        std::string got = tpl.render(c["messages"], o);
        EXPECT_EQ(got, c["expected"].get<std::string>());
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

TEST(ChatTemplateFixtures, SharedConfigsLoadThroughConfigField) {
  // The real tokenizer_config.json files give the same template source the fixtures used.
  for (const char* name : {"deepseek-v3", "qwen3", "llama3"}) {
    auto cfg = nlohmann::json::parse(test::read_text(
        test::shared_data("tokenizers/" + std::string(name) + "/tokenizer_config.json")));
    ChatTemplate tpl = ChatTemplate::from_config_field(cfg["chat_template"]);
    ojson fx = ojson::parse(
        test::read_text(test::fixture("chat_template/" + std::string(name) + ".json")));
    EXPECT_EQ(tpl.source(), fx["template"].get<std::string>()) << name;
    // The special tokens the reference script passed are the ones read from the config.
    EXPECT_EQ(special_tokens_context(cfg), fx["special_tokens"]) << name;
  }
}

}  // namespace
}  // namespace deepfuse

namespace deepfuse {
namespace {

TEST(ChatTemplateFixtures, SnippetsMatchJinja2) {
  // One semantic per snippet: scoping, whitespace control, Python printing, Unicode, filters.
  ojson fx = ojson::parse(test::read_text(test::fixture("chat_template/snippets.json")));
  int n = 0;
  for (const auto& c : fx["cases"]) {
    const std::string src = c["template"].get<std::string>();
    SCOPED_TRACE(src);
    ChatTemplateOptions o;
    o.add_generation_prompt = true;
    o.tools = fx["tools"];
    o.extra = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
    if (c.contains("expected_error")) {
      try {
        ChatTemplate::from_string(src).render(fx["messages"], o);
        ADD_FAILURE() << "expected an error: " << c["expected_error"];
      } catch (const InvalidArgument& e) {
        if (c["expected_error_type"] == "TemplateError") {
          EXPECT_EQ(std::string(e.what()), c["expected_error"].get<std::string>());
        }
      }
    } else {
      EXPECT_EQ(ChatTemplate::from_string(src).render(fx["messages"], o),
                c["expected"].get<std::string>());
    }
    ++n;
  }
  EXPECT_GT(n, 60);
}

}  // namespace
}  // namespace deepfuse
