#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <numeric>

#include "common/test_util.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace deepfuse {
namespace {

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {3, 2});
  Tensor r = t.slice_rows(1, 2);
  EXPECT_EQ(r.shape(), Shape({2, 2}));
  EXPECT_EQ(r.data<float>()[0], 2.0f);
  r.data<float>()[0] = 42.0f;
  EXPECT_EQ(t.data<float>()[2], 42.0f);
  Tensor flat = t.reshape({-1});
  EXPECT_EQ(flat.shape(), Shape({6}));
  EXPECT_EQ(t.row(2).shape(), Shape({2}));
  EXPECT_EQ(t.row(2).data<float>()[1], 5.0f);
  EXPECT_THROW(t.reshape({4, 2}), InvalidArgument);
  EXPECT_THROW(t.slice_rows(2, 2), InvalidArgument);
  EXPECT_EQ(t.dim(-1), 2);
  EXPECT_THROW(t.dim(2), InvalidArgument);
}

TEST(Tensor, BorrowedMemoryIsNotOwned) {
  std::vector<float> buf(8, 1.0f);
  Tensor t = Tensor::borrow(buf.data(), DType::F32, {2, 4});
  EXPECT_FALSE(t.owns_storage());
  EXPECT_EQ(t.data<float>(), buf.data());
  Tensor c = t.to(DType::BF16);
  EXPECT_TRUE(c.owns_storage());
  EXPECT_EQ(c.to_f32_vector(), std::vector<float>(8, 1.0f));
}

TEST(Tensor, AlignedAllocation) {
  Tensor t = Tensor::empty(DType::BF16, {3, 7});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
}

TEST(Tensor, CudaWithoutCudaBuildIsUnsupported) {
#ifndef DEEPFUSE_HAVE_CUDA
  EXPECT_THROW(Tensor::empty(DType::F32, {2}, Device::CUDA), Unsupported);
#endif
  EXPECT_THROW(device_from_string("tpu"), InvalidArgument);
}

TEST(ThreadPool, CoversRangeExactlyOnce) {
  ThreadPool pool(4);
  for (int64_t n : {1, 7, 100, 12345}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    pool.parallel_for(n, 3, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
    });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, ManyShortRegions) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 2000; ++rep)
    pool.parallel_for(16, 1, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 2000 * 16);
}

TEST(ThreadPool, ExceptionReachesCaller) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(100, 1,
                                 [](int64_t b, int64_t) {
                                   if (b == 57) throw FormatError("chunk 57");
                                 }),
               FormatError);
  // The pool is still usable afterwards.
  std::atomic<int> n{0};
  pool.parallel_for(10, 1, [&](int64_t b, int64_t e) { n += static_cast<int>(e - b); });
  EXPECT_EQ(n.load(), 10);
}

TEST(ThreadPool, NestedCallsComplete) {
  ThreadPool pool(2);
  std::atomic<int> n{0};
  pool.parallel_for(4, 1, [&](int64_t, int64_t) {
    pool.parallel_for(5, 1, [&](int64_t b, int64_t e) { n += static_cast<int>(e - b); });
  });
  EXPECT_EQ(n.load(), 20);
}

TEST(MappedFile, MapsAndReportsMissing) {
  const std::string dir = test::temp_dir("mmap");
  const std::string path = dir + "/x.bin";
  write_file_atomic(path, "hello");
  auto f = MappedFile::open(path);
  ASSERT_EQ(f->size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()), 5), "hello");
  EXPECT_THROW(MappedFile::open(dir + "/missing.bin"), NotFound);
  EXPECT_THROW(MappedFile::open(dir), FormatError);
  // No temporary left behind by the atomic write.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(Errors, ExitCodes) {
  EXPECT_EQ(InvalidArgument("x").exit_code(), 2);
  EXPECT_EQ(FormatError("x").exit_code(), 2);
  EXPECT_EQ(NotFound("x").exit_code(), 2);
  EXPECT_EQ(Unsupported("x").exit_code(), 2);
  EXPECT_EQ(OutOfMemory("x").exit_code(), 1);
}

}  // namespace
}  // namespace deepfuse
