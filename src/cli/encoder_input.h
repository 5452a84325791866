// Stdin input for the encoder subcommands (embed, classify): one text per line, or with
// --jsonl one {"text": ...} object per line, encoded with the model's tokenizer.
#pragma once

#include <cstdint>
#include <istream>
#include <vector>

#include "deepfuse/tokenizer.h"

namespace deepfuse::cli {

// Reads the next text from `in` and encodes it (special tokens added), truncated to
// `max_positions` ids keeping the last one (the [SEP] / </s> it ends with). `line_no` counts
// lines read. False at end of input; InvalidArgument naming the line for a malformed --jsonl
// line or a text that encodes to no tokens.
bool read_encoder_ids(std::istream& in, bool jsonl, const Tokenizer& tok, int64_t max_positions,
                      size_t* line_no, std::vector<int32_t>* ids);

}  // namespace deepfuse::cli
