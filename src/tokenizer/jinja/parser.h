// Recursive-descent parser for the Jinja2 subset chat templates use. Grammar and operator
// precedence follow jinja2's parser (condexpr > or > and > not > compare > +,- > ~ > *,/,//,% >
// ** > unary > postfix/filters/tests). Tags it does not implement (extends, include, import,
// raw, recursive loops, ...) raise Unsupported naming the tag and line.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/jinja/ast.h"

namespace deepfuse::jinja {

// Throws FormatError for syntax errors and Unsupported for constructs outside the subset.
std::shared_ptr<const Template> parse_template(const std::string& source);

}  // namespace deepfuse::jinja
