// Knowledge bases shared by processes: two writers at once, and writers killed with SIGKILL at
// random points (issue 14, item 2). The writers are this test binary re-run on a disabled test
// (KbChild.DISABLED_Writer) configured through the environment, so no helper program is needed.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/test_util.h"
#include "deepfuse/knowledge_base.h"

extern char** environ;

namespace deepfuse {
namespace {

// Ingests KB_CHILD_N documents "<prefix><i>" in batches of KB_CHILD_BATCH into KB_CHILD_DIR and
// appends "id version" to KB_CHILD_LOG after each batch's ingest returned (an acknowledgement).
TEST(KbChild, DISABLED_Writer) {
  const char* dir = std::getenv("KB_CHILD_DIR");
  ASSERT_NE(dir, nullptr) << "run by KbProcesses tests only";
  std::string prefix = std::getenv("KB_CHILD_PREFIX");
  int n = std::atoi(std::getenv("KB_CHILD_N"));
  int batch = std::atoi(std::getenv("KB_CHILD_BATCH"));
  std::string tag = std::getenv("KB_CHILD_TAG");
  auto kb = KnowledgeBase::open(dir);
  FILE* log = std::fopen(std::getenv("KB_CHILD_LOG"), "a");
  ASSERT_NE(log, nullptr);
  for (int b = 0; b < n; b += batch) {
    std::vector<Document> docs;
    for (int i = b; i < std::min(n, b + batch); ++i) {
      Document d;
      d.id = prefix + std::to_string(i);
      d.text = "shared words " + tag + " unique" + prefix + std::to_string(i) + "w";
      docs.push_back(std::move(d));
    }
    auto r = kb->ingest(docs);
    for (const auto& d : docs)
      std::fprintf(log, "%s %llu\n", d.id.c_str(), (unsigned long long)r.version);
    std::fflush(log);
    ::fsync(fileno(log));
  }
  std::fclose(log);
}

pid_t spawn_writer(const std::map<std::string, std::string>& env) {
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : envs) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string a1 = "--gtest_also_run_disabled_tests", a2 = "--gtest_filter=KbChild.DISABLED_Writer";
  std::vector<char*> argv = {exe.data(), a1.data(), a2.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// (id, version) acknowledgements; a line cut by a kill is dropped.
std::vector<std::pair<std::string, uint64_t>> read_acks(const std::string& path) {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id;
    uint64_t v = 0;
    if (ls >> id >> v) out.emplace_back(id, v);
  }
  return out;
}

TEST(KbProcesses, TwoWritersAtOnceNeitherDuplicateNorLoseVersions) {
  std::string root = test::temp_dir("kb_two_writers");
  std::string dir = root + "/kb";
  KnowledgeBase::open(dir);  // created first, so both children open the same store
  const int n = 300;
  std::map<std::string, std::string> common = {{"KB_CHILD_DIR", dir},
                                               {"KB_CHILD_PREFIX", "d"},
                                               {"KB_CHILD_N", std::to_string(n)},
                                               {"KB_CHILD_BATCH", "10"}};
  auto env_a = common, env_b = common;
  env_a["KB_CHILD_TAG"] = "writera";
  env_a["KB_CHILD_LOG"] = root + "/a.log";
  env_b["KB_CHILD_TAG"] = "writerb";
  env_b["KB_CHILD_LOG"] = root + "/b.log";
  pid_t a = spawn_writer(env_a), b = spawn_writer(env_b);
  ASSERT_EQ(wait_exit(a), 0);
  ASSERT_EQ(wait_exit(b), 0);

  std::set<uint64_t> all_versions;
  size_t commits = 0;
  for (const char* log : {"/a.log", "/b.log"}) {
    auto acks = read_acks(root + log);
    ASSERT_EQ(acks.size(), static_cast<size_t>(n));
    std::set<uint64_t> mine;
    uint64_t last = 0;
    for (const auto& [id, v] : acks) {
      EXPECT_GE(v, last) << "version went backwards in " << log;
      last = v;
      mine.insert(v);
    }
    commits += mine.size();
    all_versions.insert(mine.begin(), mine.end());
  }
  // Every batch is one commit with its own version number: none shared, none lost.
  EXPECT_EQ(commits, 2u * n / 10);
  EXPECT_EQ(all_versions.size(), commits);
  auto kb = KnowledgeBase::open(dir);
  EXPECT_EQ(kb->version(), *all_versions.rbegin());
  auto st = kb->stats();
  EXPECT_EQ(st.documents, n);
  EXPECT_EQ(st.chunks, n);
  SearchOptions o;
  o.top_k = 1000;
  auto hits = kb->search("shared words", o);
  std::set<std::string> ids;
  for (const auto& h : hits) ids.insert(h.doc_id);
  EXPECT_EQ(hits.size(), static_cast<size_t>(n));
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
}

TEST(KbProcesses, KilledWritersLoseNothingAcknowledged) {
  std::string root = test::temp_dir("kb_kill9");
  std::string dir = root + "/kb";
  KnowledgeBase::open(dir);
  uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  uint64_t last_version = 0;
  size_t acknowledged = 0;
  for (int round = 0; round < 4; ++round) {
    std::string log = root + "/r" + std::to_string(round) + ".log";
    std::string prefix = "r" + std::to_string(round) + "x";
    pid_t pid = spawn_writer({{"KB_CHILD_DIR", dir},
                              {"KB_CHILD_PREFIX", prefix},
                              {"KB_CHILD_N", "100000"},
                              {"KB_CHILD_BATCH", "25"},
                              {"KB_CHILD_TAG", "killed"},
                              {"KB_CHILD_LOG", log}});
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(150, 900)(rng)));
    ::kill(pid, SIGKILL);
    EXPECT_EQ(wait_exit(pid), 128 + SIGKILL) << "the writer ended before it was killed";
    // The store opens (verifying every chunk's offsets) and holds everything acknowledged.
    auto kb = KnowledgeBase::open(dir);
    auto acks = read_acks(log);
    acknowledged += acks.size();
    for (const auto& [id, v] : acks) ASSERT_TRUE(kb->get(id).has_value()) << id;
    EXPECT_EQ(kb->stats().chunks, kb->stats().documents);
    EXPECT_GE(kb->version(), last_version);
    if (!acks.empty()) {
      EXPECT_GE(kb->version(), acks.back().second);
      const std::string& id = acks[acks.size() / 2].first;
      auto hits = kb->search("unique" + id + "w", SearchOptions{});
      ASSERT_FALSE(hits.empty()) << id;
      EXPECT_EQ(hits[0].doc_id, id);
    }
    last_version = kb->version();
  }
  EXPECT_GT(acknowledged, 0u) << "no writer got as far as a commit before being killed";
}

}  // namespace
}  // namespace deepfuse
