// Typed errors: every exception deepfuse throws derives from deepfuse::Error. Every message
// names the file, field or tensor at fault and what was expected, so a user can act on it
// without reading code. The CLI maps them to exit codes (DESIGN.md):
// bad input -> 2, internal failure -> 1; the server maps them to HTTP statuses.
#pragma once

#include <stdexcept>
#include <string>

namespace deepfuse {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // Exit code the CLI uses for this error kind.
  virtual int exit_code() const { return 1; }
  // Short kind name used in logs and the HTTP error "type" field.
  virtual const char* kind() const { return "internal_error"; }
};

// The caller passed a value outside its contract (a negative top_p, an unknown flag value).
class InvalidArgument : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
  const char* kind() const override { return "invalid_argument"; }
};

// A file, tensor, token or document that was named does not exist.
class NotFound : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
  const char* kind() const override { return "not_found"; }
};

// A file exists but its content is malformed (corrupt safetensors, bad JSON, wrong shape).
class FormatError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
  const char* kind() const override { return "format_error"; }
};

// Well-formed input that asks for something deepfuse does not do (yet).
class Unsupported : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
  const char* kind() const override { return "unsupported"; }
};

// An allocation the machine cannot satisfy (host or device memory).
class OutOfMemory : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 1; }
  const char* kind() const override { return "out_of_memory"; }
};

// Broken internal invariant: a bug in deepfuse, never the user's input.
class InternalError : public Error {
 public:
  using Error::Error;
};

}  // namespace deepfuse
