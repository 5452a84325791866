// Porter stemming through Snowball's libstemmer ("porter" algorithm), which replaced a
// hand-written port: same SciFact nDCG@10 (0.6778 vs 0.6777, docs/DECISIONS.md), maintained by
// Debian. The two differ only on Lucene's later step-2 rules ("-logi" -> "-log", "-bli" ->
// "-ble": 128 of SciFact's 30,833 words) and on two-letter words, which we keep unstemmed as
// Lucene's PorterStemFilter does.
#include "retrieval/porter_stemmer.h"

#include <libstemmer.h>

#include "core/error.h"

namespace deepfuse::retrieval {
namespace {

// A Snowball stemmer keeps its work buffer inside: one per thread, freed when the thread ends.
struct ThreadStemmer {
  sb_stemmer* s = sb_stemmer_new("porter", "UTF_8");
  ~ThreadStemmer() { sb_stemmer_delete(s); }
};

}  // namespace

void porter_stem(std::string* word) {
  if (word->size() < 3) return;
  thread_local ThreadStemmer t;
  if (t.s == nullptr) throw OutOfMemory("cannot create the Snowball porter stemmer");
  const sb_symbol* r = sb_stemmer_stem(t.s, reinterpret_cast<const sb_symbol*>(word->data()),
                                       static_cast<int>(word->size()));
  if (r == nullptr) throw OutOfMemory("Snowball porter stemmer: out of memory");
  word->assign(reinterpret_cast<const char*>(r), sb_stemmer_length(t.s));
}

}  // namespace deepfuse::retrieval
