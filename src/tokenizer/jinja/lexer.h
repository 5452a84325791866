// Jinja2 lexer with the settings transformers uses for chat templates: trim_blocks and
// lstrip_blocks on, keep_trailing_newline off, newlines normalised to "\n". Whitespace control
// ({%- -%}, {{- -}}, {#- -#}, {%+ +%}) is applied here, so the parser sees final data text.
#pragma once

#include <string>
#include <vector>

namespace deepfuse::jinja {

enum class TokenType {
  kData,        // literal template text
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,  // value already unescaped
  kInteger,
  kFloat,
  kOperator,  // text holds the operator: "+", "==", "(", ...
  kEnd,
};

struct Token {
  TokenType type;
  std::string text;
  int line;
};

// Throws FormatError (syntax: unterminated tag or string, unexpected character) naming the line.
std::vector<Token> tokenize(const std::string& source);

}  // namespace deepfuse::jinja
