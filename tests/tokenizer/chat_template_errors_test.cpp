// Error paths of the chat-template renderer: syntax errors, unsupported constructs, the
// template's raise_exception, undefined misuse, and hostile templates (deep nesting, huge
// loops, exploding strings) that must fail fast with a clear error instead of crashing/hanging.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "core/error.h"
#include "tokenizer/chat_template.h"

namespace deepfuse {
namespace {

using ojson = nlohmann::ordered_json;

const ojson kMessages = ojson::parse(R"([{"role": "user", "content": "hi"}])");

std::string render(const std::string& src, const ChatTemplateOptions& o = {}) {
  return ChatTemplate::from_string(src).render(kMessages, o);
}

template <typename E>
std::string error_of(const std::string& src, const ChatTemplateOptions& o = {}) {
  try {
    render(src, o);
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no " << typeid(E).name() << " for template: " << src;
  return "";
}

TEST(ChatTemplateErrors, SyntaxErrorsAreFormatErrorsWithLine) {
  EXPECT_NE(error_of<FormatError>("{% if x %}never closed").find("line 1"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("a\nb\n{{ x ").find("never closed"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("\n\n{{ 'abc }}").find("line 3"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("{% endfor %}").find("unknown tag 'endfor'"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("{{ 1 + }}").find("unexpected"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("{# open comment").find("comment"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("{{ a $ b }}").find("unexpected character '$'"),
            std::string::npos);
}

TEST(ChatTemplateErrors, NamespaceHoldingItselfIsRefused) {
  // Fuzz finding (fuzz_chat_template, LeakSanitizer): `ns.a = ns` made a reference cycle.
  EXPECT_NE(error_of<Unsupported>("{% set ns = namespace(a=0) %}{% set ns.a = ns %}").find("'ns'"),
            std::string::npos);
  EXPECT_NE(error_of<Unsupported>("{% set ns = namespace(a=0) %}{% set ns.a = [1, {'k': ns}] %}")
                .find("own attribute 'a'"),
            std::string::npos);
  // Holding another namespace is fine.
  EXPECT_EQ(render("{% set o = namespace(v=2) %}{% set ns = namespace(a=0) %}{% set ns.a = o %}"
                   "{{ ns.a.v }}"),
            "2");
}

TEST(ChatTemplateErrors, UnsupportedConstructsAreNamed) {
  EXPECT_NE(error_of<Unsupported>("{% include 'x.jinja' %}").find("{% include %}"),
            std::string::npos);
  EXPECT_NE(error_of<Unsupported>("{% extends 'base' %}").find("{% extends %}"), std::string::npos);
  EXPECT_NE(error_of<Unsupported>("{% raw %}x{% endraw %}").find("{% raw %}"), std::string::npos);
  EXPECT_NE(
      error_of<Unsupported>("{% for m in messages recursive %}{% endfor %}").find("recursive"),
      std::string::npos);
  EXPECT_NE(
      error_of<Unsupported>("\n{{ messages|wordwrap }}").find("line 2: the filter 'wordwrap'"),
      std::string::npos);
  EXPECT_NE(error_of<Unsupported>("{{ 1 is prime }}").find("the test 'prime'"), std::string::npos);
  EXPECT_NE(error_of<Unsupported>("{{ 'a {}'.format(1) }}").find("format"), std::string::npos);
  EXPECT_NE(error_of<Unsupported>("{{ '%s' % 1 }}").find("string formatting"), std::string::npos);
  // Python would print an object address: refused instead of printing something else.
  EXPECT_NE(error_of<Unsupported>("{{ messages|map(attribute='role') }}").find("generator"),
            std::string::npos);
  EXPECT_NE(error_of<Unsupported>("{{ namespace(a=1) }}").find("namespace"), std::string::npos);
  EXPECT_NE(error_of<Unsupported>("{{ 'a'|safe + '<b>' }}").find("Markup"), std::string::npos);
  EXPECT_EQ(render("{{ '<b>'|e|e }}{{ '<i>'|safe ~ '<u>' }}"), "&lt;b&gt;<i><u>");
  EXPECT_NE(error_of<Unsupported>("{{ 9223372036854775807 + 1 }}").find("64 bits"),
            std::string::npos);
}

TEST(ChatTemplateErrors, RaiseExceptionCarriesTemplateMessage) {
  EXPECT_EQ(error_of<InvalidArgument>("{{ raise_exception('Roles must alternate!') }}"),
            "Roles must alternate!");
  EXPECT_EQ(
      error_of<InvalidArgument>(
          "{% for m in messages %}{% if m.role == 'user' %}{{ raise_exception('no ' ~ m.role) }}"
          "{% endif %}{% endfor %}"),
      "no user");
}

TEST(ChatTemplateErrors, UndefinedMisuseIsInvalidArgument) {
  EXPECT_NE(error_of<InvalidArgument>("{{ foo.bar }}").find("'foo' is undefined"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>("{{ messages[0].nope.x }}").find("has no attribute 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>("{{ foo() }}").find("'foo' is undefined"), std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>("{{ 'a' + 1 }}").find("concatenate"), std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>("{{ 1 // 0 }}").find("zero"), std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>("{% set x = 1 %}{% set x.a = 2 %}").find("namespace"),
            std::string::npos);
  // Printing, testing and iterating an Undefined are fine, as in jinja2.
  EXPECT_EQ(
      render("[{{ foo }}]{{ foo is defined }}{% for x in foo %}x{% endfor %}{{ foo|length }}"),
      "[]False0");
}

TEST(ChatTemplateErrors, HostileTemplatesHitLimits) {
  // Deep nesting: refused by the parser, not a stack overflow.
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_NE(error_of<InvalidArgument>(deep).find("nesting"), std::string::npos);
  std::string deep_if;
  for (int i = 0; i < 1000; ++i) deep_if += "{% if true %}";
  EXPECT_NE(error_of<InvalidArgument>(deep_if).find("nesting"), std::string::npos);
  // range() is capped like jinja2's sandbox (MAX_RANGE = 100000).
  EXPECT_NE(
      error_of<InvalidArgument>("{% for i in range(10**9) %}{% endfor %}").find("Range too big"),
      std::string::npos);
  // Nested loops within the range cap still hit the step budget.
  ChatTemplateOptions small;
  small.limits.max_steps = 100000;
  EXPECT_NE(
      error_of<InvalidArgument>(
          "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", small)
          .find("steps"),
      std::string::npos);
  // Exponential string growth stops at the output limit.
  ChatTemplateOptions mib;
  mib.limits.max_output_bytes = size_t{1} << 20;
  EXPECT_NE(error_of<InvalidArgument>("{% set ns = namespace(s='ab') %}{% for i in range(100) %}"
                                      "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
                                      mib)
                .find("output limit"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>("{{ 'x' * 10**12 }}").find("output limit"),
            std::string::npos);
  ChatTemplateOptions tiny;
  tiny.limits.max_output_bytes = 1000;
  EXPECT_NE(error_of<InvalidArgument>("{% for i in range(2000) %}x{% endfor %}", tiny)
                .find("output limit"),
            std::string::npos);
  // Unbounded macro recursion.
  EXPECT_NE(error_of<InvalidArgument>("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
                .find("recursed"),
            std::string::npos);
}

TEST(ChatTemplateErrors, DeeplyNestedValuesAreRefused) {
  // Built by the template: refused at construction, before printing could recurse too deep.
  EXPECT_NE(error_of<InvalidArgument>("{% set ns = namespace(x=[]) %}{% for i in range(100000) %}"
                                      "{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}")
                .find("nested deeper"),
            std::string::npos);
  // Given as input.
  std::string deep = std::string(20000, '[') + std::string(20000, ']');
  ojson msgs = ojson::array({ojson{{"role", "user"}, {"content", ojson::parse(deep)}}});
  EXPECT_THROW(ChatTemplate::from_string("{{ messages }}").render(msgs), InvalidArgument);
}

// Mutated real templates (truncated, bytes replaced by Jinja syntax characters) must only ever
// fail with deepfuse's typed errors: no crash, no hang, no foreign exception.
TEST(ChatTemplateErrors, MutatedTemplatesFailCleanly) {
  const ojson msgs =
      ojson::parse(R"([{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
      {"role": "assistant", "content": "<think>r</think>a", "tool_calls": [{"type": "function",
       "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "content": "t"}])");
  const std::string alphabet = "{}%#-+()[]'\"|.~=,: \nx0";
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  auto next = [&]() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  int tried = 0, ok = 0;
  for (const char* name :
       {"qwen3", "deepseek-v3", "llama3", "feature_kitchen_sink", "feature_whitespace"}) {
    ojson fx = ojson::parse(
        test::read_text(test::fixture("chat_template/" + std::string(name) + ".json")));
    const std::string src = fx["template"].get<std::string>();
    std::vector<std::string> variants;
    for (size_t cut = 0; cut < src.size(); cut += 1 + src.size() / 150)
      variants.push_back(src.substr(0, cut));
    for (int k = 0; k < 300; ++k) {
      std::string m = src;
      for (int r = 0; r < 3; ++r) m[next() % m.size()] = alphabet[next() % alphabet.size()];
      variants.push_back(m);
    }
    for (const auto& v : variants) {
      ++tried;
      try {
        ChatTemplateOptions o;
        o.add_generation_prompt = true;
        o.limits.max_steps = 200000;
        ChatTemplate::from_string(v).render(msgs, o);
        ++ok;
      } catch (const Error&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << "foreign exception " << e.what() << " for template:\n" << v;
      }
    }
  }
  EXPECT_GT(tried, 1000);
  EXPECT_GT(ok, 0);
}

TEST(ChatTemplateApi, NamedTemplatesFromConfigField) {
  auto field = nlohmann::json::parse(
      R"([{"name": "default", "template": "D{{ messages|length }}"},
          {"name": "tool_use", "template": "T{{ tools|length }}"}])");
  ChatTemplateOptions o;
  o.tools = ojson::parse(R"([{"type": "function"}])");
  EXPECT_EQ(ChatTemplate::from_config_field(field).render(kMessages, o), "D1");
  EXPECT_EQ(ChatTemplate::from_config_field(field, "tool_use").render(kMessages, o), "T1");
  try {
    ChatTemplate::from_config_field(field, "rag");
    ADD_FAILURE();
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("default, tool_use"), std::string::npos);
  }
  EXPECT_THROW(ChatTemplate::from_config_field(nlohmann::json(3)), FormatError);
  EXPECT_THROW(ChatTemplate::from_config_field(nlohmann::json::parse(R"([{"name": 1}])")),
               FormatError);
  EXPECT_EQ(ChatTemplate::from_config_field(nlohmann::json("plain")).render(kMessages), "plain");
}

TEST(ChatTemplateApi, ContextVariablesAndInputValidation) {
  ChatTemplateOptions o;
  EXPECT_EQ(render("{{ tools }} {{ documents }} {{ add_generation_prompt }}", o),
            "None None False");
  o.add_generation_prompt = true;
  o.extra = ojson::parse(R"({"bos_token": "<s>", "enable_thinking": false, "n": 2.5})");
  EXPECT_EQ(
      render("{{ bos_token }}{{ enable_thinking is false }}{{ n * 2 }}{{ add_generation_prompt }}",
             o),
      "<s>True5.0True");
  o.extra = ojson::parse(R"({"messages": []})");
  EXPECT_THROW(render("x", o), InvalidArgument);
  EXPECT_THROW(ChatTemplate::from_string("x").render(ojson::parse(R"({"role": "user"})")),
               InvalidArgument);
  // Key order of the caller's JSON is kept (Python dicts keep insertion order).
  EXPECT_EQ(ChatTemplate::from_string("{{ messages[0]|tojson }}")
                .render(ojson::parse(R"([{"z": 1, "a": [1.0, null]}])")),
            R"({"z": 1, "a": [1.0, null]})");
  // strftime_now gives today's date in the requested format.
  EXPECT_EQ(render("{{ strftime_now('%Y-%m-%d')|length }}"), "10");
}

}  // namespace
}  // namespace deepfuse
