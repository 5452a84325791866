// ResultQueue: the typed queue between the engine thread (producer) and request threads.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "deepfuse/engine.h"

namespace deepfuse {

struct ResultQueue::State {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<EngineEvent> events;
};

ResultQueue::ResultQueue() : state_(std::make_unique<State>()) {}
ResultQueue::~ResultQueue() = default;

void ResultQueue::on_delta(StreamDelta delta) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->events.push_back(EngineEvent{std::move(delta), std::nullopt});
  }
  state_->cv.notify_all();
}

void ResultQueue::on_result(EngineResult result) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->events.push_back(EngineEvent{std::nullopt, std::move(result)});
  }
  state_->cv.notify_all();
}

EngineEvent ResultQueue::pop() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [&] { return !state_->events.empty(); });
  EngineEvent e = std::move(state_->events.front());
  state_->events.pop_front();
  return e;
}

std::optional<EngineEvent> ResultQueue::pop_for(double seconds) {
  std::unique_lock<std::mutex> lock(state_->mu);
  if (!state_->cv.wait_for(lock, std::chrono::duration<double>(seconds),
                           [&] { return !state_->events.empty(); }))
    return std::nullopt;
  EngineEvent e = std::move(state_->events.front());
  state_->events.pop_front();
  return e;
}

EngineResult ResultQueue::wait_result() {
  for (;;) {
    EngineEvent e = pop();
    if (e.result) return std::move(*e.result);
  }
}

}  // namespace deepfuse
