// Typed errors (the public types live in include/deepfuse/error.h, which every caller of the
// library sees) plus DF_CHECK, the internal shorthand for throwing them.
#pragma once

#include "deepfuse/error.h"

// Checks a caller-facing condition and throws `Type` with the streamed message when it fails.
// Usage: DF_CHECK(n > 0, InvalidArgument, "max_new_tokens must be >= 0, got " << n);
#include <sstream>
#define DF_CHECK(cond, Type, msg)                 \
  do {                                            \
    if (!(cond)) {                                \
      std::ostringstream df_check_os_;            \
      df_check_os_ << msg;                        \
      throw ::deepfuse::Type(df_check_os_.str()); \
    }                                             \
  } while (0)
