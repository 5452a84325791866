// Helpers shared by the model implementations.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/models.h"

namespace deepfuse::tok {

// Reads the vocab (object token -> id) from ModelData or JSON; fills map and id -> token table.
void read_vocab(const json& model, ModelData* data, const std::string& path, VocabMap* map,
                std::vector<std::string>* id_to_token);

// Converts raw bytes to the GPT-2 byte-level image.
inline void to_byte_level(std::string_view raw, std::string* out) {
  out->clear();
  out->reserve(raw.size() * 2);
  for (unsigned char c : raw) out->append(byte_to_unicode(c));
}

std::unique_ptr<Model> make_bpe(const json& j, ModelData* data, const std::string& path);
std::unique_ptr<Model> make_wordpiece(const json& j, ModelData* data, const std::string& path);
std::unique_ptr<Model> make_wordlevel(const json& j, ModelData* data, const std::string& path);
std::unique_ptr<Model> make_unigram(const json& j, const std::string& path);

}  // namespace deepfuse::tok
