// libFuzzer target: the serving engine under ASan/UBSan. Each input is a script of requests
// and cancels (prompt lengths, shared prefixes, max_new_tokens, sampling, stop strings,
// cancels at random points) run against a fake model that stores and reads back its context
// through the paged KV cache (tests/engine/fake_lm.h), on a tiny pool so preemption, prefix
// reuse and eviction all happen. After the script every request must have exactly one result,
// the engine must go idle (a deadlock is a finding), and the pool must be whole again.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "../tests/engine/fake_lm.h"
#include "deepfuse/engine.h"
#include "fuzz_util.h"

using namespace deepfuse;

namespace {

// Reads the script one byte at a time; past the end it reads zeros (the script ends).
struct Script {
  const uint8_t* p;
  size_t n, i = 0;
  bool more() const { return i < n; }
  uint8_t next() { return i < n ? p[i++] : 0; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr int64_t kVocab = 40;
  Script sc{data, size};
  // Pieces: id 0 = EOS (no text), then printable bytes, so stop strings can match.
  std::vector<std::string> pieces{""};
  for (int64_t i = 1; i < kVocab; ++i) pieces.push_back(std::string(1, static_cast<char>('a' + i % 26)));
  auto vocab = std::make_shared<test::FakeVocab>(pieces);
  test::FakeLM lm(kVocab);
  EngineOptions o;
  o.kv_block_size = 1 + sc.next() % 4;
  o.kv_blocks = 8 + sc.next() % 40;
  o.max_batch_tokens = 4 + sc.next() % 60;
  o.max_running = 1 + static_cast<int32_t>(sc.next() % 8);
  if (o.max_running > o.max_batch_tokens) o.max_running = static_cast<int32_t>(o.max_batch_tokens);
  o.prefix_caching = sc.next() % 4 != 0;
  o.check_invariants = true;
  Engine engine(lm, vocab, o);
  auto q = std::make_shared<ResultQueue>();
  std::vector<int32_t> shared;
  for (int k = 0; k < 12; ++k) shared.push_back(1 + static_cast<int32_t>(k * 7 % (kVocab - 1)));
  std::vector<RequestId> ids;
  int submitted = 0;
  for (int op = 0; op < 48 && sc.more(); ++op) {
    const uint8_t kind = sc.next();
    if (kind % 5 == 4 && !ids.empty()) {
      engine.cancel(ids[sc.next() % ids.size()]);
      continue;
    }
    EngineRequest r;
    if (kind & 8) r.prompt_ids = shared;
    const int64_t tail = sc.next() % 24;
    for (int64_t k = 0; k < tail || r.prompt_ids.empty(); ++k)
      r.prompt_ids.push_back(static_cast<int32_t>(sc.next() % kVocab));
    r.config.max_new_tokens = sc.next() % 32;
    r.config.do_sample = (kind & 16) != 0;
    r.config.seed = sc.next();
    if (kind & 32) r.config.stop_strings = std::vector<std::string>{std::string(1 + sc.next() % 2, 'c')};
    if (kind & 64) r.config.eos_token_id = std::vector<int32_t>{};  // run to the length
    r.cache_salt = kind >> 7;
    r.sink = q;
    try {
      ids.push_back(engine.submit(std::move(r)));
      ++submitted;
    } catch (const InvalidArgument&) {
      // Longer than the whole pool, or a bad config: refused, nothing queued.
    }
  }
  std::map<RequestId, int> results;
  for (int got = 0; got < submitted;) {
    auto ev = q->pop_for(60);
    fuzz::check(ev.has_value());  // no result within a minute: a deadlock
    if (!ev->result) continue;
    fuzz::check(++results[ev->result->id] == 1);
    ++got;
  }
  fuzz::check(engine.wait_idle(60));
  const EngineStats s = engine.stats();
  fuzz::check(s.kv_blocks_used == 0 && s.kv_blocks_free == s.kv_blocks_total);
  fuzz::check(s.running == 0 && s.waiting == 0);
  fuzz::check(s.requests_finished + s.requests_cancelled + s.requests_failed == submitted);
  return 0;
}
