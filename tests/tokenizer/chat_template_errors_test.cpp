// Error paths of the chat-template renderer: syntax errors, unsupported constructs, the
// template's raise_exception, undefined misuse, and hostile templates (deep nesting, huge
// loops, exploding strings) that must fail fast with a clear error instead of crashing/hanging.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
  EXPECT_NE(error_of<InvalidArgument>("{% set ns = namespace(s='ab') %}{% for i in range(100) %}"
                                      "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}")
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
