// UTF-8 helpers for the Jinja2 renderer: Python strings index, slice and measure by code point,
// and str.upper/lower/title/strip work on Unicode, so the renderer does the same on UTF-8 bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace deepfuse::jinja {

// Decodes UTF-8 into code points; an invalid byte becomes U+FFFD (strings reaching the renderer
// come from JSON, which is valid UTF-8, so this is only a guard).
std::vector<char32_t> utf8_decode(std::string_view s);
void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(const std::vector<char32_t>& cps);
size_t utf8_length(std::string_view s);

// Python str.isspace() for one code point.
bool py_isspace(char32_t cp);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_title(std::string_view s);
std::string py_capitalize(std::string_view s);
// str.strip/lstrip/rstrip; `chars` null means whitespace.
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
// str.split(sep, maxsplit) / str.rsplit; `sep` null means runs of whitespace.
std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit,
                                  bool from_right);
std::string py_replace(std::string_view s, std::string_view old_s, std::string_view new_s,
                       int64_t count);
// Python str repr with its quoting and escaping of non-printable characters.
std::string py_str_repr(std::string_view s);

}  // namespace deepfuse::jinja
