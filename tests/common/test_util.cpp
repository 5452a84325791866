#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace deepfuse::test {

namespace fs = std::filesystem;

std::string fixture(const std::string& rel) {
  return std::string(DEEPFUSE_FIXTURES_DIR) + "/" + rel;
}
std::string shared_data(const std::string& rel) {
  return std::string(DEEPFUSE_SHARED_DATA_DIR) + "/" + rel;
}
std::string source_path(const std::string& rel) {
  return std::string(DEEPFUSE_SOURCE_DIR) + "/" + rel;
}

namespace {
std::mutex g_tmp_mu;
std::vector<std::string>* g_tmp_dirs = nullptr;
void cleanup_tmp() {
  if (!g_tmp_dirs) return;
  for (const auto& d : *g_tmp_dirs) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const fs::path p =
      fs::temp_directory_path() /
      ("deepfuse-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  std::lock_guard<std::mutex> lock(g_tmp_mu);
  if (!g_tmp_dirs) {
    g_tmp_dirs = new std::vector<std::string>();
    std::atexit(cleanup_tmp);
  }
  g_tmp_dirs->push_back(p.string());
  return p.string();
}

void write_text(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
std::string drain(int fd) {
  std::string s;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
  }
  return s;
}
}  // namespace

CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text) {
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits before reading stdin must not kill the test
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe(in_pipe) || ::pipe(out_pipe) || ::pipe(err_pipe)) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      ::close(fd);
    std::vector<char*> argv;
    std::string bin = DEEPFUSE_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    _exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CliResult r;
  std::thread writer([&] {
    size_t off = 0;
    while (off < stdin_text.size()) {
      const ssize_t w = ::write(in_pipe[1], stdin_text.data() + off, stdin_text.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    ::close(in_pipe[1]);
  });
  std::thread err_reader([&] { r.err = drain(err_pipe[0]); });
  r.out = drain(out_pipe[0]);
  writer.join();
  err_reader.join();
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace deepfuse::test
