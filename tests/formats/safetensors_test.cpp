// safetensors reader/writer: round trips, sharded indexes, and hostile files. Every malformed
// file must give FormatError (and `deepfuse inspect` exit 2 with one line), never a crash,
// hang or huge allocation.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "common/test_util.h"
#include "core/error.h"
#include "formats/model_folder.h"
#include "formats/safetensors.h"
#include "formats/weight_store.h"

namespace deepfuse {
namespace {

using test::temp_dir;
using test::write_text;

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file with `header` as its JSON and `data_bytes` zero bytes of data.
std::string file_with(const std::string& header, size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

std::string write_raw(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string p = dir + "/" + name;
  write_text(p, bytes);
  return p;
}

void expect_format_error(const std::string& path, const std::string& needle) {
  try {
    SafetensorsFile::open(path);
    FAIL() << "expected FormatError for " << path;
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "message names the file";
  }
}

TEST(Safetensors, RoundTripAllDtypesZeroCopy) {
  const std::string dir = temp_dir("st_rt");
  std::vector<std::pair<std::string, Tensor>> ts;
  ts.push_back({"a.f32", Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3})});
  ts.push_back({"b.bf16", ts[0].second.to(DType::BF16)});
  ts.push_back({"c.f16", ts[0].second.to(DType::F16)});
  ts.push_back({"d.i32", Tensor::from_vector(std::vector<int32_t>{7, -8}, {2})});
  for (DType d : {DType::F8E4M3, DType::I8, DType::I64, DType::U8, DType::Bool}) {
    Tensor t = Tensor::zeros(d, {3});
    static_cast<uint8_t*>(t.raw())[0] = 1;
    ts.push_back({std::string("e.") + dtype_safetensors_name(d), t});
  }
  ts.push_back(
      {"scalar", Tensor::from_vector(std::vector<float>{42}, Shape(std::vector<int64_t>{}))});
  ts.push_back({"empty", Tensor::zeros(DType::F32, {0, 4})});
  write_safetensors(dir + "/m.safetensors", ts, {{"format", "pt"}});
  auto f = SafetensorsFile::open(dir + "/m.safetensors");
  EXPECT_EQ(f->metadata().at("format"), "pt");
  ASSERT_EQ(f->entries().size(), ts.size());
  for (const auto& [name, t] : ts) {
    const Tensor r = f->tensor(name);
    EXPECT_EQ(r.dtype(), t.dtype()) << name;
    EXPECT_EQ(r.shape(), t.shape()) << name;
    EXPECT_FALSE(r.owns_storage()) << name << " must borrow the mapping";
    EXPECT_EQ(std::memcmp(r.raw(), t.raw(), t.nbytes()), 0) << name;
  }
  // Views keep the mapping alive after the file object is gone.
  Tensor keep = f->tensor("a.f32");
  f.reset();
  EXPECT_EQ(keep.to_f32_vector()[5], 6.f);
  EXPECT_THROW(SafetensorsFile::open(dir + "/m.safetensors")->tensor("nope"), NotFound);
}

TEST(Safetensors, ShardedIndex) {
  const std::string dir = temp_dir("st_shard");
  write_safetensors(dir + "/s1.safetensors",
                    {{"x", Tensor::from_vector(std::vector<float>{1, 2}, {2})}});
  write_safetensors(dir + "/s2.safetensors",
                    {{"y", Tensor::from_vector(std::vector<float>{3}, {1})}});
  write_text(dir + "/model.safetensors.index.json",
             R"({"metadata": {}, "weight_map": {"x": "s1.safetensors", "y": "s2.safetensors"}})");
  WeightStore w = WeightStore::open_index(dir + "/model.safetensors.index.json");
  EXPECT_EQ(w.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(w.get("y").to_f32_vector()[0], 3.f);
  EXPECT_EQ(w.files().size(), 2u);
  EXPECT_THROW(w.get("z"), NotFound);

  write_text(dir + "/bad.index.json", R"({"weight_map": {"x": "s2.safetensors"}})");
  EXPECT_THROW(WeightStore::open_index(dir + "/bad.index.json"), FormatError);
  write_text(dir + "/escape.index.json", R"({"weight_map": {"x": "../s1.safetensors"}})");
  EXPECT_THROW(WeightStore::open_index(dir + "/escape.index.json"), FormatError);
  write_text(dir + "/notjson.index.json", R"({"weight_map": )");
  EXPECT_THROW(WeightStore::open_index(dir + "/notjson.index.json"), FormatError);
  write_text(dir + "/missing.index.json", R"({"weight_map": {"x": "nope.safetensors"}})");
  EXPECT_THROW(WeightStore::open_index(dir + "/missing.index.json"), NotFound);
}

// The hostile cases: each is a (file name, bytes, expected message fragment).
struct Hostile {
  const char* name;
  std::string bytes;
  const char* needle;
};

std::vector<Hostile> hostile_files() {
  const std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::vector<Hostile> h;
  h.push_back({"short.safetensors", std::string("abc"), "too short"});
  h.push_back({"len_past_end.safetensors", le64(1000) + ok + std::string(8, '\0'),
               "larger than the rest of the file"});
  h.push_back({"len_10gb.safetensors", le64(10ull * 1000 * 1000 * 1000) + ok, "exceeds"});
  h.push_back({"len_max.safetensors", le64(~0ull) + ok, "exceeds"});
  h.push_back({"offsets_past_end.safetensors",
               file_with(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
               "past the data section"});
  h.push_back({"truncated.safetensors", file_with(ok, 4), "past the data section"});
  h.push_back({"overlap.safetensors",
               file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         12),
               "overlap"});
  h.push_back({"begin_gt_end.safetensors",
               file_with(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8),
               "begin > end"});
  h.push_back({"shape_mismatch.safetensors",
               file_with(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
               "needs 12 bytes"});
  h.push_back({"bad_dtype.safetensors",
               file_with(R"({"t":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", 8),
               "unknown dtype"});
  h.push_back({"not_json.safetensors", file_with(R"({"t":{"dtype":)", 8), "not valid JSON"});
  h.push_back({"duplicate.safetensors",
               file_with(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                         16),
               "more than once"});
  h.push_back(
      {"non_utf8_name.safetensors",
       file_with("{\"t\xff\xfe\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
       "UTF-8"});
  h.push_back(
      {"shape_overflow.safetensors",
       file_with(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                 8),
       "overflows"});
  h.push_back({"negative_shape.safetensors",
               file_with(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
               "non-negative"});
  h.push_back({"top_level_array.safetensors", file_with("[1,2]", 0), "JSON object"});
  h.push_back({"deep_nesting.safetensors",
               file_with(std::string(5000, '[') + std::string(5000, ']'), 0), "nested"});
  h.push_back({"metadata_not_strings.safetensors", file_with(R"({"__metadata__":{"a":1}})", 0),
               "__metadata__"});
  return h;
}

TEST(Safetensors, HostileFilesGiveFormatError) {
  const std::string dir = temp_dir("st_hostile");
  for (const Hostile& h : hostile_files()) {
    SCOPED_TRACE(h.name);
    expect_format_error(write_raw(dir, h.name, h.bytes), h.needle);
  }
}

TEST(Safetensors, InspectExitsTwoOnHostileFiles) {
  const std::string dir = temp_dir("st_hostile_cli");
  for (const Hostile& h : hostile_files()) {
    SCOPED_TRACE(h.name);
    const std::string m = dir + "/" + h.name + ".model";
    std::filesystem::create_directories(m);
    write_text(m + "/config.json",
               R"({"architectures":["LlamaForCausalLM"],"model_type":"llama"})");
    write_raw(m, "model.safetensors", h.bytes);
    const auto r = test::run_cli({"inspect", "--model", m});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;
    // One line: the message and its newline.
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

TEST(Safetensors, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xe4\xb8\xad\xe6\x96\x87"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe4\xb8"));          // truncated
}

TEST(ModelFolder, FindsFilesAndReportsMissing) {
  const std::string dir = temp_dir("folder");
  EXPECT_THROW(ModelFolder::open(dir + "/nope"), NotFound);
  EXPECT_THROW(ModelFolder::open(dir), NotFound);  // no config.json
  write_text(dir + "/config.json", R"({"architectures":["LlamaForCausalLM"]})");
  const ModelFolder f = ModelFolder::open(dir);
  EXPECT_EQ(f.config().architecture, "LlamaForCausalLM");
  EXPECT_THROW(f.weights_path(), NotFound);
  EXPECT_FALSE(f.tokenizer_json().has_value());
  write_safetensors(dir + "/model.safetensors",
                    {{"w", Tensor::from_vector(std::vector<float>{1}, {1})}});
  EXPECT_EQ(f.open_weights().names().size(), 1u);
}

}  // namespace
}  // namespace deepfuse
