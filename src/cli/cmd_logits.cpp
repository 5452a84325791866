// `deepfuse logits --model DIR --ids 1,2,3 --out F.npy`: float32 logits [n_ids, vocab] at every
// position of one prefill, as a NumPy .npy file. Needs only config.json and the weights.
#include <fstream>
#include <sstream>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "deepfuse/auto_model.h"
#include "ops/profiler.h"

namespace deepfuse::cli {
namespace {

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    DF_CHECK(used > 0 && used == item.size() && v >= 0 && v <= INT32_MAX, InvalidArgument,
             "--ids: '" << item << "' is not a token id (expected comma-separated integers >= 0)");
    ids.push_back(static_cast<int32_t>(v));
  }
  DF_CHECK(!ids.empty(), InvalidArgument, "--ids: no token ids given (expected e.g. 1,2,3)");
  return ids;
}

// NumPy .npy v1.0: magic, header dict padded with spaces to a multiple of 64 bytes, raw data.
std::string npy_f32(const Tensor& t) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                     std::to_string(t.dim(0)) + ", " + std::to_string(t.dim(1)) + "), }";
  const size_t base = 10 + dict.size() + 1;
  dict.append((64 - base % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  const uint16_t n = static_cast<uint16_t>(dict.size());
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>(n >> 8));
  out += dict;
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

}  // namespace

void register_logits(CLI::App& root) {
  auto* cmd =
      root.add_subcommand("logits", "Write the logits at every position of --ids to a .npy file");
  static std::string model, ids, out, device = "cpu", dtype = "auto";
  static bool profile = false;
  static int threads = 0;
  cmd->add_option("--model", model, "Hugging Face model folder (config.json + *.safetensors)")
      ->required();
  cmd->add_option("--ids", ids, "Comma-separated token ids, e.g. 1,2,3")->required();
  cmd->add_option("--out", out, "Output .npy file: float32 [n_ids, vocab]")->required();
  cmd->add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--dtype", dtype,
                  "Weight dtype: auto (checkpoint's), float32, bfloat16, float16");
  cmd->add_flag("--profile", profile, "Print a per-op time table after the run");
  add_threads_flag(cmd, &threads);
  set_examples(
      cmd,
      "  deepfuse logits --model assets/models/stories260K --ids 1,403,407 --out logits.npy\n"
      "  python3 -c \"import numpy; print(numpy.load('logits.npy').argmax(-1))\"\n");
  cmd->callback([] {
    apply_threads(threads);
    check_output_path("--out", out);
    const std::vector<int32_t> tokens = parse_ids(ids);
    auto lm = AutoModelForCausalLM::from_pretrained(model, {.dtype = dtype, .device = device});
    for (int32_t id : tokens)
      DF_CHECK(id < lm.info().vocab_size, InvalidArgument,
               "--ids: token id " << id << " is outside the vocabulary (size "
                                  << lm.info().vocab_size << ")");
    if (profile) {
      Profiler::global().reset();
      Profiler::global().set_enabled(true);
    }
    const Tensor logits = lm.forward(tokens);  // [n, vocab]
    if (profile) {
      Profiler::global().set_enabled(false);
      std::cout << Profiler::global().table();
    }
    write_file_atomic(out, npy_f32(logits));
  });
}

}  // namespace deepfuse::cli
