#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include "core/error.h"

namespace deepfuse::tok {

namespace {
// Per-thread match data and JIT stack: matching is lock-free across threads.
struct ThreadMatchState {
  pcre2_match_data* md = nullptr;
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_context* ctx = nullptr;
  ThreadMatchState() {
    md = pcre2_match_data_create(32, nullptr);
    stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
    ctx = pcre2_match_context_create(nullptr);
    pcre2_jit_stack_assign(ctx, nullptr, stack);
  }
  ~ThreadMatchState() {
    pcre2_match_data_free(md);
    pcre2_match_context_free(ctx);
    pcre2_jit_stack_free(stack);
  }
};
ThreadMatchState& tls() {
  thread_local ThreadMatchState s;
  return s;
}
}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where) : pattern_(pattern) {
  int err = 0;
  PCRE2_SIZE erroff = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                        PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &erroff, nullptr);
  if (!code_) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    throw FormatError(where + ": regex does not compile at offset " + std::to_string(erroff) +
                      ": " + reinterpret_cast<char*>(buf) +
                      " (expected a valid Oniguruma-style "
                      "pattern)");
  }
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() {
  pcre2_code_free(code_);
}

void Regex::find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>* out) const {
  auto& st = tls();
  auto subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t n = s.size(), pos = 0;
  while (pos <= n) {
    int rc = jit_ ? pcre2_jit_match(code_, subject, n, pos, 0, st.md, st.ctx)
                  : pcre2_match(code_, subject, n, pos, PCRE2_NO_UTF_CHECK, st.md, st.ctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0 && rc != 0) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(rc, buf, sizeof(buf));
      throw Error(std::string("regex match failed: ") + reinterpret_cast<char*>(buf));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.md);
    size_t b = ov[0], e = ov[1];
    if (e > b) {
      out->emplace_back(b, e);
      pos = e;
    } else {
      // Empty match: skip one character (Onig's find_iter does the same).
      if (b >= n) break;
      pos = b + 1;
      while (pos < n && (static_cast<uint8_t>(s[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
}

}  // namespace deepfuse::tok
