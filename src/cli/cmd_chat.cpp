// `deepfuse chat`: an interactive conversation through the model's chat template, with history.
// Ctrl-D ends the session; Ctrl-C stops the reply being written (a second Ctrl-C at the prompt
// quits). When stdin is not a terminal, each input line is one user message. Lines starting with
// '/' are commands (/help, /reset, /exit). When the history no longer fits the context, the
// oldest turns are dropped (the system prompt stays) so the conversation goes on.
#include "models/causal_lm.h"
#include "deepfuse/auto_model.h"

#include <unistd.h>

#include <signal.h>
#include <algorithm>
#include <atomic>
#include <iostream>
#include <optional>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "core/log.h"
#include "deepfuse/engine.h"
#include "deepfuse/tokenizer.h"
#include "safety/output_filter.h"
#include "tokenizer/chat_template.h"

namespace deepfuse::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) {
  g_interrupted.store(true);
}

struct ChatArgs {
  GenerationFlags gen;
  std::string system;
  bool json = false;
};

// Stops the reply when Ctrl-C was pressed.
struct InterruptCriteria : StoppingCriteria {
  bool should_stop(const GenerationState&) override { return g_interrupted.load(); }
};

// Fallback for models without a chat template (base models such as stories260K): a plain
// transcript the model can continue.
std::string plain_transcript(const nlohmann::ordered_json& messages) {
  std::string s;
  for (const auto& m : messages) {
    const std::string role = m["role"];
    const std::string content = m["content"];
    if (role == "system")
      s += content + "\n\n";
    else
      s += (role == "user" ? "User: " : "Assistant: ") + content + "\n";
  }
  return s + "Assistant:";
}

constexpr const char* kChatHelp =
    "commands: /help this list; /reset forget the conversation (keeps --system); /exit quit "
    "(also Ctrl-D)";

// Prompt tokens the history may use: the context less the room the reply needs
// (--max-new-tokens, or a quarter of the context when it is not set).
int64_t prompt_budget(int64_t context, const GenerationConfig& cfg) {
  const int64_t reply = cfg.max_new_tokens.value_or(context / 4);
  return std::max<int64_t>(1, context - std::min(reply, context - 1));
}

// Drops the oldest turn after the system prompt: a user message and the reply that followed.
void drop_oldest_turn(nlohmann::ordered_json* history) {
  size_t first = 0;
  while (first < history->size() && (*history)[first]["role"] == "system") ++first;
  auto it = history->begin() + static_cast<std::ptrdiff_t>(first);
  it = history->erase(it);
  if (it != history->end() && (*it)["role"] == "assistant") history->erase(it);
}

size_t non_system_messages(const nlohmann::ordered_json& history) {
  size_t n = 0;
  for (const auto& m : history) n += m["role"] != "system";
  return n;
}

void run_chat(const ChatArgs& a) {
  GenerationSession s = open_session(a.gen);
  const bool tty = isatty(STDIN_FILENO) != 0;
  std::optional<ChatTemplate> tpl;
  const TokenizerConfig& tc = s.tokenizer->config();
  if (!tc.chat_template.empty()) {
    tpl = ChatTemplate::from_string(tc.chat_template);
  } else {
    DF_LOG_WARN("{} has no chat template; using a plain 'User:/Assistant:' transcript",
                a.gen.model);
  }
  // A transcript turn ends at a new "User:" line when there is no template.
  GenerationConfig cfg = s.config;
  if (!tpl) {
    auto stops = cfg.stop_strings.value_or(std::vector<std::string>{});
    stops.push_back("\nUser:");
    cfg.stop_strings = stops;
  }
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  if (!a.system.empty()) history.push_back({{"role", "system"}, {"content", a.system}});
  // No SA_RESTART: Ctrl-C at the prompt interrupts the blocking read, which ends the session.
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  struct sigaction old {};
  sigaction(SIGINT, &sa, &old);
  // One engine for the whole conversation: each turn re-sends the history, whose KV blocks the
  // prefix cache still holds from the turn before, so only the new message is computed.
  EngineOptions eo;
  eo.max_running = 2;  // this turn, plus room for the previous turn's cached blocks
  Engine engine(*s.model, s.text, eo);
  const int64_t context = s.model->info().max_positions;
  const int64_t budget = context > 0 ? prompt_budget(context, cfg) : 0;
  bool told_dropping = false;
  auto render = [&](const nlohmann::ordered_json& h) {
    if (!tpl) return plain_transcript(h);
    ChatTemplateOptions o;
    o.add_generation_prompt = true;
    o.extra["bos_token"] = tc.bos_token.value_or("");
    o.extra["eos_token"] = tc.eos_token.value_or("");
    return tpl->render(h, o);
  };
  std::string line;
  for (;;) {
    if (tty) {
      std::cout << "> ";
      std::cout.flush();
    }
    g_interrupted.store(false);
    if (!read_line(std::cin, &line)) break;  // Ctrl-D / end of input
    if (g_interrupted.load()) break;         // Ctrl-C at the prompt
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/help" || line == "/?") {
      std::cerr << kChatHelp << "\n";
      continue;
    }
    if (line == "/reset") {
      while (non_system_messages(history) > 0) drop_oldest_turn(&history);
      std::cerr << "(conversation reset)\n";
      continue;
    }
    size_t masked = maybe_mask_pii(a.gen, &line);
    history.push_back({{"role", "user"}, {"content", line}});
    // The template already holds the special tokens (transformers: add_special_tokens=False);
    // the plain transcript needs the tokenizer's BOS.
    std::vector<int32_t> prompt_ids = s.tokenizer->encode(render(history), !tpl);
    // Past the context the conversation would end (issue 13): drop the oldest turns instead.
    while (budget > 0 && static_cast<int64_t>(prompt_ids.size()) > budget &&
           non_system_messages(history) > 1) {
      if (!told_dropping) {
        std::cerr << "deepfuse: the conversation is longer than the context (" << context
                  << " tokens, " << budget
                  << " for the prompt); dropping the oldest turns to fit\n";
        told_dropping = true;
      }
      drop_oldest_turn(&history);
      prompt_ids = s.tokenizer->encode(render(history), !tpl);
    }
    if (budget > 0 && static_cast<int64_t>(prompt_ids.size()) > budget) {
      const std::string why = "this message is " + std::to_string(prompt_ids.size()) +
                              " prompt tokens, more than the " + std::to_string(budget) +
                              " that fit the context; not sent (shorten it, or lower "
                              "--max-new-tokens)";
      std::cerr << "deepfuse: " << why << "\n";
      if (a.json) print_json_line({{"error", why}, {"finish_reason", "context_overflow"}});
      history.erase(history.end() - 1);
      continue;
    }
    GenerationRequest req;
    req.prompt_ids = std::move(prompt_ids);
    req.config = cfg;
    req.stopping_criteria.push_back(std::make_shared<InterruptCriteria>());
    std::shared_ptr<engine::BannedPhraseProcessor> proc;
    if (s.filter) {
      proc = s.filter->make_processor();
      req.logits_processors.push_back(proc);
    }
    const bool stream = !a.json;
    auto print = [](std::string_view d) {
      std::cout << d;
      std::cout.flush();
    };
    // With a banned-phrase list, text that could still become a phrase (or be replaced by
    // the refusal) is held back until it cannot; finish() shows the rest.
    std::optional<FilteredStream> filtered;
    if (stream && s.filter) {
      filtered.emplace(*s.filter, print);
      req.on_text = [&filtered](std::string_view d) { filtered->on_text(d); };
    } else if (stream) {
      req.on_text = print;
    }
    std::vector<GenerationRequest> turn;
    turn.push_back(std::move(req));
    GenerationResult r = std::move(engine.run(std::move(turn))[0]);
    std::string reply = r.text;
    if (filtered)
      reply = filtered->finish(r.text, proc.get()).text;
    else if (s.filter)
      reply = s.filter->finalize(r.text, proc.get()).text;
    const bool interrupted = g_interrupted.load();
    if (a.json) {
      nlohmann::json j = {{"text", reply},
                          {"finish_reason", interrupted ? "interrupted" : r.finish_reason},
                          {"ids", r.ids}};
      if (a.gen.mask_pii) j["pii_masked"] = masked;
      print_json_line(j);
    } else {
      if (!stream) std::cout << reply;
      std::cout << (interrupted ? " [interrupted]\n" : "\n");
      std::cout.flush();
    }
    // The reply text keeps the space its first token decodes to after the prompt
    // ("Assistant:" + " Hi"); the history holds the message itself, as chat templates expect.
    const size_t start = reply.find_first_not_of(" \t\n");
    history.push_back({{"role", "assistant"},
                       {"content", start == std::string::npos ? "" : reply.substr(start)}});
  }
  sigaction(SIGINT, &old, nullptr);
  if (tty) std::cout << "\n";
}

}  // namespace

void register_chat(CLI::App& root) {
  auto a = std::make_shared<ChatArgs>();
  CLI::App* cmd = root.add_subcommand("chat", "Interactive chat using the model's chat template");
  cmd->callback([a] { run_chat(*a); });
  add_generation_flags(cmd, &a->gen);
  cmd->add_option("--system", a->system, "System message at the start of the conversation");
  cmd->add_flag("--json", a->json, "One JSON line per reply: text, finish_reason, ids");
  set_examples(
      cmd,
      "  deepfuse chat --model models/Qwen2.5-0.5B-Instruct --temperature 0.7 --seed 1\n"
      "  printf 'Hi\\nTell me more\\n' | deepfuse chat --model M --max-new-tokens 32 --json\n"
      "  (Ctrl-D or /exit quits; Ctrl-C stops the current reply; /reset, /help)\n");
}

}  // namespace deepfuse::cli
