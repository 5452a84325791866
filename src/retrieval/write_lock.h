// The cross-process write lock of a knowledge base: an exclusive flock(2) on DIR/write.lock.
//
// flock locks belong to an open file description, so two KnowledgeBase objects of one process
// exclude each other as two processes do, and the kernel drops the lock when its holder dies
// (kill -9 included): there is no stale lock to clean up.
#pragma once

#include <functional>
#include <string>

namespace deepfuse::retrieval {

class WriteLock {
 public:
  // `path`: the lock file (created when missing, never deleted).
  explicit WriteLock(std::string path);
  ~WriteLock();
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;

  // Takes the lock. When another holder has it, calls `on_wait` once (may be empty) and waits up
  // to `timeout_s` seconds (< 0: for ever); then throws Error naming the folder and the timeout.
  void lock(double timeout_s, const std::function<void(const std::string&)>& on_wait);
  void unlock() noexcept;

 private:
  std::string path_;
  int fd_ = -1;
  bool held_ = false;
};

// Holds a WriteLock for a scope.
class WriteLockGuard {
 public:
  WriteLockGuard(WriteLock& l, double timeout_s,
                 const std::function<void(const std::string&)>& on_wait)
      : l_(l) {
    l_.lock(timeout_s, on_wait);
  }
  ~WriteLockGuard() { l_.unlock(); }
  WriteLockGuard(const WriteLockGuard&) = delete;
  WriteLockGuard& operator=(const WriteLockGuard&) = delete;

 private:
  WriteLock& l_;
};

}  // namespace deepfuse::retrieval
