// The Porter (1980) stemmer, as in Martin Porter's reference C implementation and Lucene's
// PorterStemFilter (which includes the "logi" -> "log" and "bli" -> "ble" step-2 rules).
#pragma once

#include <string>

namespace deepfuse::retrieval {

// Stems one lowercase ASCII word in place. Words of fewer than three letters are left as they are.
// Non-ASCII or non-alphabetic words are stemmed byte-wise as Lucene does (only a-z are vowels).
void porter_stem(std::string* word);

}  // namespace deepfuse::retrieval
