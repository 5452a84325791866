#include "retrieval/write_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace deepfuse::retrieval {

WriteLock::WriteLock(std::string path) : path_(std::move(path)) {}

WriteLock::~WriteLock() {
  unlock();
  if (fd_ >= 0) ::close(fd_);
}

void WriteLock::lock(double timeout_s, const std::function<void(const std::string&)>& on_wait) {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error("cannot open the write lock " + path_ + ": " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
    held_ = true;
    return;
  }
  if (errno != EWOULDBLOCK && errno != EINTR)
    throw Error("cannot lock " + path_ + ": " + std::strerror(errno));
  if (on_wait) {
    std::ostringstream os;
    os << "waiting for another writer of " << path_ << " to finish";
    if (timeout_s >= 0) os << " (giving up after " << timeout_s << " s)";
    on_wait(os.str());
  }
  if (timeout_s < 0) {
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) throw Error("cannot lock " + path_ + ": " + std::strerror(errno));
    held_ = true;
    return;
  }
  // flock has no timed wait: poll, at most every 20 ms (a write takes longer than that).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      held_ = true;
      return;
    }
    if (errno != EWOULDBLOCK && errno != EINTR)
      throw Error("cannot lock " + path_ + ": " + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      std::ostringstream os;
      os << "another process is writing to this knowledge base (" << path_ << " still locked after "
         << timeout_s << " s): retry later or raise --lock-timeout";
      throw Error(os.str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void WriteLock::unlock() noexcept {
  if (held_ && fd_ >= 0) ::flock(fd_, LOCK_UN);
  held_ = false;
}

}  // namespace deepfuse::retrieval
