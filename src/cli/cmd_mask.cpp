// `deepfuse mask`: PII masking of stdin, line by line (PII never spans a line break), and
// `--eval FILE` to score the masker against a labelled JSONL set.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/error.h"
#include "safety/pii.h"
#include "safety/pii_eval.h"

namespace deepfuse::cli {

namespace {

struct MaskArgs {
  std::string types;
  std::vector<std::string> disabled;
  std::string style = "tags";
  bool json = false;
  bool with_original = false;
  bool any_card_prefix = false;
  std::string eval_file;
};

PiiOptions build_options(const MaskArgs& a) {
  PiiOptions o;
  if (!a.types.empty()) {
    o = PiiOptions::none();
    size_t pos = 0;
    while (pos <= a.types.size()) {
      size_t comma = a.types.find(',', pos);
      if (comma == std::string::npos) comma = a.types.size();
      std::string name = a.types.substr(pos, comma - pos);
      auto t = parse_pii_type(name);
      DF_CHECK(t.has_value(), InvalidArgument,
               "--types: unknown PII type '"
                   << name << "' (expected card, date, email, phone, id, iban, ip)");
      o.set(*t, true);
      pos = comma + 1;
    }
  }
  for (const std::string& name : a.disabled) o.set(*parse_pii_type(name), false);
  DF_CHECK(a.style == "tags" || a.style == "mask", InvalidArgument,
           "--style must be 'tags' or 'mask', got '" << a.style << "'");
  o.style = a.style == "tags" ? MaskStyle::kTags : MaskStyle::kMask;
  o.card_require_iin = !a.any_card_prefix;
  return o;
}

void run_eval(const MaskArgs& a, const PiiOptions& opts) {
  std::vector<PiiEvalCase> cases = load_pii_eval(a.eval_file);
  auto t0 = std::chrono::steady_clock::now();
  PiiEvalReport r = evaluate_pii(cases, opts);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json j = pii_eval_to_json(r);
  j["file"] = a.eval_file;
  j["seconds"] = s;
  print_json_line(j);
}

void run_mask(const MaskArgs& a, const PiiOptions& opts) {
  std::string line;
  while (std::getline(std::cin, line)) {
    bool had_newline = !std::cin.eof();
    MaskResult r = mask_pii(line, opts);
    if (a.json) {
      nlohmann::json spans = nlohmann::json::array();
      for (const PiiSpan& s : r.spans) {
        nlohmann::json js = {{"type", pii_type_name(s.type)}, {"start", s.begin}, {"end", s.end}};
        if (a.with_original) js["original"] = line.substr(s.begin, s.end - s.begin);
        spans.push_back(std::move(js));
      }
      print_json_line({{"text", r.text}, {"spans", spans}});
    } else {
      std::cout << r.text;
      if (had_newline) std::cout << '\n';
    }
  }
  std::cout.flush();
}

}  // namespace

void register_mask(CLI::App& root) {
  auto args = std::make_shared<MaskArgs>();
  CLI::App* cmd = root.add_subcommand(
      "mask", "Mask PII (cards, dates, e-mails, phones, Chinese IDs, IBANs, IPs) in stdin text");
  cmd->add_option("--types", args->types,
                  "Comma-separated types to mask (default all): card,date,email,phone,id,iban,ip");
  for (const char* t : {"card", "date", "email", "phone", "id", "iban", "ip"}) {
    std::string name = t;
    cmd->add_flag_callback(
        "--no-" + name, [args, name] { args->disabled.push_back(name); },
        "Do not mask " + name + (name == "id" ? " (Chinese resident ID)" : "") + " spans");
  }
  cmd->add_option("--style", args->style, "Replacement: 'tags' ([CARD], [DATE], ...) or 'mask'")
      ->capture_default_str();
  cmd->add_flag("--json", args->json,
                "One JSON object per input line: {\"text\": masked, \"spans\": [{\"type\", "
                "\"start\", \"end\"}]} (byte offsets into the input line)");
  cmd->add_flag("--with-original", args->with_original,
                "With --json: include each span's \"original\" text");
  cmd->add_flag("--any-card-prefix", args->any_card_prefix,
                "Mask Luhn-valid card numbers even without a known issuer prefix");
  cmd->add_option("--eval", args->eval_file,
                  "Score against a labelled JSONL set ({\"text\",\"spans\":[{\"type\",\"start\","
                  "\"end\"}]}) and print per-type precision/recall as JSON");
  set_examples(cmd,
               "  echo 'card 4111 1111 1111 1111, mail a@b.com' | deepfuse mask\n"
               "  deepfuse mask --json --with-original < notes.txt\n"
               "  deepfuse mask --types card,id --style mask < chat.txt\n"
               "  deepfuse mask --no-date < log.txt\n"
               "  deepfuse mask --eval tests/fixtures/safety/pii_eval.jsonl\n");
  cmd->callback([args] {
    PiiOptions opts = build_options(*args);
    if (!args->eval_file.empty()) {
      run_eval(*args, opts);
    } else {
      run_mask(*args, opts);
    }
  });
}

}  // namespace deepfuse::cli
