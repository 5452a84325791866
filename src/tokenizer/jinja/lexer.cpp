#include "tokenizer/jinja/lexer.h"

#include <array>
#include <cstring>

#include "core/error.h"
#include "tokenizer/jinja/text.h"

namespace deepfuse::jinja {

namespace {

// jinja2 splits on \r\n, \r and \n and rejoins with "\n"; a single trailing newline is dropped
// (keep_trailing_newline=False).
std::string normalize_source(const std::string& src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out.push_back(src[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool all_space(const std::string& s, size_t from) {
  if (from >= s.size()) return false;  // \s+ needs at least one character
  for (char32_t c : utf8_decode(std::string_view(s).substr(from)))
    if (!py_isspace(c)) return false;
  return true;
}

std::string rstrip_ws(const std::string& s) {
  return py_strip(s, nullptr, false, true);
}

// Python's "unicode-escape" decoding of a string literal body (jinja2 unescapes literals that way).
std::string unescape(const std::string& body, int line) {
  std::string out;
  auto hexval = [&](size_t pos, int n) -> uint32_t {
    DF_CHECK(pos + static_cast<size_t>(n) <= body.size(), FormatError,
             "chat template line " << line << ": truncated \\x/\\u escape in string literal");
    uint32_t v = 0;
    for (int k = 0; k < n; ++k) {
      char c = body[pos + static_cast<size_t>(k)];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        throw FormatError("chat template line " + std::to_string(line) +
                          ": invalid hex digit in string escape");
    }
    return v;
  };
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out.push_back(c);
      continue;
    }
    char e = body[++i];
    switch (e) {
      case '\n':
        break;  // line continuation
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case '"':
        out.push_back('"');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
        utf8_append(out, hexval(i + 1, 2));
        i += 2;
        break;
      case 'u':
        utf8_append(out, hexval(i + 1, 4));
        i += 4;
        break;
      case 'U': {
        uint32_t v = hexval(i + 1, 8);
        DF_CHECK(v <= 0x10FFFF, FormatError,
                 "chat template line " << line << ": \\U escape out of Unicode range");
        utf8_append(out, v);
        i += 8;
        break;
      }
      case 'N':
        throw Unsupported("chat template line " + std::to_string(line) +
                          ": \\N{...} named escapes in string literals");
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7';
               ++k)
            v = v * 8 + static_cast<uint32_t>(body[++i] - '0');
          utf8_append(out, v);
        } else {
          // Unknown escapes keep the backslash, as Python does.
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  return out;
}

// Byte length of the Python whitespace character (\s in jinja2's str regexes) at `pos`, or 0.
size_t space_len(const std::string& s, size_t pos) {
  unsigned char c = static_cast<unsigned char>(s[pos]);
  if (c < 0x80) return py_isspace(c) ? 1 : 0;
  size_t n = (c >= 0xF0) ? 4 : (c >= 0xE0) ? 3 : (c >= 0xC0) ? 2 : 1;
  if (pos + n > s.size()) return 0;
  auto cps = utf8_decode(std::string_view(s).substr(pos, n));
  return cps.size() == 1 && py_isspace(cps[0]) ? n : 0;
}

size_t skip_spaces(const std::string& s, size_t pos) {
  while (pos < s.size()) {
    size_t n = space_len(s, pos);
    if (n == 0) break;
    pos += n;
  }
  return pos;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : s_(std::move(src)) {}

  std::vector<Token> run() {
    while (pos_ < s_.size()) lex_root();
    toks_.push_back({TokenType::kEnd, "", line_});
    return std::move(toks_);
  }

 private:
  void emit(TokenType t, std::string text, int line) {
    toks_.push_back({t, std::move(text), line});
  }

  void advance_to(size_t p) {
    for (size_t i = pos_; i < p && i < s_.size(); ++i)
      if (s_[i] == '\n') ++line_;
    pos_ = p;
  }

  void lex_root() {
    size_t idx = pos_;
    while (true) {
      idx = s_.find('{', idx);
      if (idx == std::string::npos || idx + 1 >= s_.size()) {
        emit_data(s_.substr(pos_));
        advance_to(s_.size());
        return;
      }
      char n = s_[idx + 1];
      if (n == '{' || n == '%' || n == '#') break;
      ++idx;
    }
    char kind = s_[idx + 1];
    char sign = idx + 2 < s_.size() ? s_[idx + 2] : '\0';
    if (sign != '-' && sign != '+') sign = '\0';
    std::string text = s_.substr(pos_, idx - pos_);
    if (sign == '-') {
      text = rstrip_ws(text);
    } else if (sign != '+' && kind != '{') {
      // lstrip_blocks: drop spaces between the line start and a block/comment tag.
      size_t l_pos = text.rfind('\n');
      l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
      if ((l_pos > 0 || line_starting_) && all_space(text, l_pos)) text.resize(l_pos);
    }
    emit_data(text);
    advance_to(idx + 2 + (sign ? 1 : 0));
    if (kind == '#') {
      lex_comment();
    } else {
      lex_tag(kind == '{');
    }
  }

  void emit_data(const std::string& text) {
    if (!text.empty()) emit(TokenType::kData, text, line_);
  }

  void lex_comment() {
    int start_line = line_;
    size_t end = s_.find("#}", pos_);
    DF_CHECK(end != std::string::npos, FormatError,
             "chat template line " << start_line << ": comment {# is never closed by #}");
    size_t after = end + 2;
    if (end > pos_ && s_[end - 1] == '-') {
      after = skip_spaces(s_, after);
      line_starting_ = after > end + 2 && s_[after - 1] == '\n';
    } else if (end > pos_ && s_[end - 1] == '+') {
      line_starting_ = false;
    } else {
      if (after < s_.size() && s_[after] == '\n') ++after;  // trim_blocks
      line_starting_ = s_[after - 1] == '\n';
    }
    advance_to(after);
  }

  // Tries to match the closing delimiter of the current tag at pos_; returns true when closed.
  bool match_tag_end(bool is_var) {
    const char* close = is_var ? "}}" : "%}";
    auto at = [&](size_t p, const char* lit) { return s_.compare(p, std::strlen(lit), lit) == 0; };
    if (s_[pos_] == '-' && at(pos_ + 1, close)) {
      size_t after = skip_spaces(s_, pos_ + 3);
      line_starting_ = after > pos_ + 3 && s_[after - 1] == '\n';
      int l = line_;
      advance_to(after);
      emit(is_var ? TokenType::kVarEnd : TokenType::kBlockEnd, "", l);
      return true;
    }
    if (s_[pos_] == '+' && at(pos_ + 1, close)) {
      line_starting_ = false;
      int l = line_;
      advance_to(pos_ + 3);
      emit(is_var ? TokenType::kVarEnd : TokenType::kBlockEnd, "", l);
      return true;
    }
    if (at(pos_, close)) {
      size_t after = pos_ + 2;
      if (!is_var && after < s_.size() && s_[after] == '\n') ++after;  // trim_blocks
      line_starting_ = s_[after - 1] == '\n';
      int l = line_;
      advance_to(after);
      emit(is_var ? TokenType::kVarEnd : TokenType::kBlockEnd, "", l);
      return true;
    }
    return false;
  }

  void lex_tag(bool is_var) {
    int start_line = line_;
    emit(is_var ? TokenType::kVarBegin : TokenType::kBlockBegin, "", line_);
    int depth = 0;  // brackets: a "}}" inside {...} is not the tag end (jinja2's balancing stack)
    while (true) {
      advance_to(skip_spaces(s_, pos_));
      DF_CHECK(pos_ < s_.size(), FormatError,
               "chat template line " << start_line << ": tag " << (is_var ? "{{" : "{%")
                                     << " is never closed by " << (is_var ? "}}" : "%}"));
      if (depth == 0 && match_tag_end(is_var)) return;
      char c = s_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number();
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = pos_;
        while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_'))
          ++e;
        emit(TokenType::kName, s_.substr(pos_, e - pos_), line_);
        advance_to(e);
      } else if (c == '\'' || c == '"') {
        lex_string(c);
      } else {
        static const std::array<const char*, 6> kTwo = {"//", "**", "==", "!=", ">=", "<="};
        std::string op;
        for (const char* t : kTwo)
          if (s_.compare(pos_, 2, t) == 0) op = t;
        if (op.empty()) {
          DF_CHECK(std::strchr("+-*/%~[](){}<>=.:|,;", c) != nullptr && c != '\0', FormatError,
                   "chat template line " << line_ << ": unexpected character '" << c
                                         << "' inside a tag");
          op = std::string(1, c);
        }
        if (op == "(" || op == "[" || op == "{") ++depth;
        if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
        emit(TokenType::kOperator, op, line_);
        advance_to(pos_ + op.size());
      }
    }
  }

  void lex_number() {
    auto digits = [&](size_t p) {
      // (\d+_)*\d+
      size_t e = p;
      while (e < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[e])) ||
                               (s_[e] == '_' && e + 1 < s_.size() &&
                                std::isdigit(static_cast<unsigned char>(s_[e + 1])) && e > p)))
        ++e;
      return e;
    };
    size_t e = digits(pos_);
    bool is_float = false;
    bool after_dot = pos_ > 0 && s_[pos_ - 1] == '.';  // jinja2: (?<!\.) before a float
    if (!after_dot) {
      size_t f = e;
      if (f + 1 < s_.size() && s_[f] == '.' &&
          std::isdigit(static_cast<unsigned char>(s_[f + 1]))) {
        f = digits(f + 1);
        is_float = true;
      }
      if (f < s_.size() && (s_[f] == 'e' || s_[f] == 'E')) {
        size_t g = f + 1;
        if (g < s_.size() && (s_[g] == '+' || s_[g] == '-')) ++g;
        if (g < s_.size() && std::isdigit(static_cast<unsigned char>(s_[g]))) {
          f = digits(g);
          is_float = true;
        }
      }
      if (is_float) e = f;
    }
    std::string text;
    for (size_t i = pos_; i < e; ++i)
      if (s_[i] != '_') text.push_back(s_[i]);
    emit(is_float ? TokenType::kFloat : TokenType::kInteger, text, line_);
    advance_to(e);
  }

  void lex_string(char q) {
    int start_line = line_;
    size_t i = pos_ + 1;
    while (i < s_.size() && s_[i] != q) {
      if (s_[i] == '\\') ++i;
      ++i;
    }
    DF_CHECK(i < s_.size(), FormatError,
             "chat template line " << start_line << ": string literal is never closed");
    emit(TokenType::kString, unescape(s_.substr(pos_ + 1, i - pos_ - 1), start_line), start_line);
    advance_to(i + 1);
  }

  std::string s_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> toks_;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) {
  return Lexer(normalize_source(source)).run();
}

}  // namespace deepfuse::jinja
