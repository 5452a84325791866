// The Porter (1980) stemmer (Snowball's "porter" through libstemmer). Lucene's
// PorterStemFilter adds two later step-2 rules ("logi" -> "log", "bli" -> "ble") that this lacks.
#pragma once

#include <string>

namespace deepfuse::retrieval {

// Stems one lowercase ASCII word in place. Words of fewer than three letters are left as they are.
// Non-ASCII or non-alphabetic words are stemmed byte-wise as Lucene does (only a-z are vowels).
void porter_stem(std::string* word);

}  // namespace deepfuse::retrieval
