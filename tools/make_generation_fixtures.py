#!/usr/bin/env python3
"""Records Hugging Face transformers references for deepfuse's generation engine.

Run on the GPU machine (torch + transformers installed; no network needed):
    python3 tools/make_generation_fixtures.py --out OUTDIR

Writes into OUTDIR:
  processors.json  fixed random logits / input_ids and, for each transformers logits processor
                   (RepetitionPenalty, NoRepeatNGram, NoBadWords, SuppressTokens, MinLength,
                   MinNewTokens, ForcedEOS, Temperature, TopK, TopP, MinP, Typical), its processed
                   scores; plus the processor class order `_get_logits_processor` builds.
  generate.json    greedy `model.generate` continuations of the real stories260K model
                   (assets/models/stories260K) with stop strings, EOS lists, min/max tokens,
                   max_length and the penalty processors; token ids (generated only) and text.
All math is float32 on the CPU. Non-finite floats are written as the strings "-inf"/"inf"/"nan"
because JSON has no literal for them.
"""
import argparse
import json
import math
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
from transformers.generation import logits_process as lp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_DIR = os.path.join(ROOT, "assets", "models", "stories260K")


def enc(x):
    out = []
    for v in x:
        if isinstance(v, list):
            out.append(enc(v))
        elif math.isinf(v):
            out.append("-inf" if v < 0 else "inf")
        elif math.isnan(v):
            out.append("nan")
        else:
            out.append(float(v))
    return out


def processor_fixtures():
    torch.manual_seed(1234)
    batch, seq, vocab = 3, 12, 64
    # Small id range so n-grams and bad-word prefixes actually repeat.
    input_ids = torch.randint(0, 10, (batch, seq), dtype=torch.long)
    input_ids[1, -2:] = torch.tensor([3, 7])[:2]  # ends with a prefix of a bad word seq [3,7,x]?
    input_ids[2, -1] = 3  # ends with the prefix of bad word [3, 7]
    scores = (torch.randn(batch, vocab, dtype=torch.float32) * 3.0).contiguous()
    cases = []

    def add(name, params, proc):
        try:
            out = proc(input_ids.clone(), scores.clone())
            cases.append({"name": name, "params": params, "scores": enc(out.tolist())})
        except Exception as e:  # record, never stop the whole run
            cases.append({"name": name, "params": params, "error": repr(e)})
            print("processor failed:", name, repr(e), file=sys.stderr)

    add("repetition_penalty", {"penalty": 1.3}, lp.RepetitionPenaltyLogitsProcessor(1.3))
    add("repetition_penalty", {"penalty": 0.8}, lp.RepetitionPenaltyLogitsProcessor(0.8))
    add("no_repeat_ngram", {"n": 2}, lp.NoRepeatNGramLogitsProcessor(2))
    add("no_repeat_ngram", {"n": 3}, lp.NoRepeatNGramLogitsProcessor(3))
    bad = [[5], [3, 7], [1, 2, 9], [4, 4], [2], [7, 3, 11]]
    add("no_bad_words", {"bad_words_ids": bad, "eos_token_id": [2]},
        lp.NoBadWordsLogitsProcessor(bad, eos_token_id=2))
    add("suppress_tokens", {"suppress_tokens": [1, 4, 60]},
        lp.SuppressTokensLogitsProcessor([1, 4, 60], device="cpu"))
    add("min_length", {"min_length": 15, "eos_token_id": [2, 3]},
        lp.MinLengthLogitsProcessor(15, [2, 3], device="cpu"))
    add("min_length", {"min_length": 12, "eos_token_id": [2]},
        lp.MinLengthLogitsProcessor(12, 2, device="cpu"))
    add("min_new_tokens", {"prompt_length": 8, "min_new_tokens": 5, "eos_token_id": [2]},
        lp.MinNewTokensLengthLogitsProcessor(8, 5, 2, device="cpu"))
    add("min_new_tokens", {"prompt_length": 8, "min_new_tokens": 4, "eos_token_id": [2]},
        lp.MinNewTokensLengthLogitsProcessor(8, 4, 2, device="cpu"))
    add("forced_eos", {"max_length": 13, "eos_token_id": [2, 3]},
        lp.ForcedEOSTokenLogitsProcessor(13, [2, 3], device="cpu"))
    add("forced_eos", {"max_length": 20, "eos_token_id": [2]},
        lp.ForcedEOSTokenLogitsProcessor(20, 2, device="cpu"))
    add("temperature", {"temperature": 0.7}, lp.TemperatureLogitsWarper(0.7))
    add("temperature", {"temperature": 1.5}, lp.TemperatureLogitsWarper(1.5))
    add("top_k", {"top_k": 5}, lp.TopKLogitsWarper(5))
    add("top_k", {"top_k": 1}, lp.TopKLogitsWarper(1))
    add("top_p", {"top_p": 0.8}, lp.TopPLogitsWarper(0.8))
    add("top_p", {"top_p": 0.3}, lp.TopPLogitsWarper(0.3))
    add("min_p", {"min_p": 0.1}, lp.MinPLogitsWarper(0.1))
    add("min_p", {"min_p": 0.5}, lp.MinPLogitsWarper(0.5))
    add("typical_p", {"typical_p": 0.9}, lp.TypicalLogitsWarper(0.9))
    add("typical_p", {"typical_p": 0.5}, lp.TypicalLogitsWarper(0.5))

    # The whole chain in transformers' order for one config (processors then warpers).
    order = None
    chain_scores = None
    try:
        model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, dtype=torch.float32)
        gc = GenerationConfig(do_sample=True, temperature=0.8, top_k=20, top_p=0.9, min_p=0.05,
                              typical_p=0.95, repetition_penalty=1.2, no_repeat_ngram_size=3,
                              bad_words_ids=[[5], [3, 7]], suppress_tokens=[60],
                              min_new_tokens=5, forced_eos_token_id=2, eos_token_id=2,
                              max_length=40, pad_token_id=0)
        # generate() prepares the special-token tensors before building the processor list.
        model._prepare_special_tokens(gc, kwargs_has_attention_mask=True, device="cpu")
        procs = model._get_logits_processor(generation_config=gc, input_ids_seq_length=8,
                                            encoder_input_ids=input_ids, device="cpu",
                                            prefix_allowed_tokens_fn=None, logits_processor=None)
        order = [type(p).__name__ for p in procs]
        # Same chain applied to a 512-vocab score row (stories260K vocab) of the fixture.
        torch.manual_seed(99)
        s512 = torch.randn(batch, 512, dtype=torch.float32) * 3.0
        chain_out = procs(input_ids.clone(), s512.clone())
        chain_scores = {"scores_in": enc(s512.tolist()), "scores_out": enc(chain_out.tolist()),
                        "prompt_length": 8,
                        "config": {"temperature": 0.8, "top_k": 20, "top_p": 0.9, "min_p": 0.05,
                                   "typical_p": 0.95, "repetition_penalty": 1.2,
                                   "no_repeat_ngram_size": 3, "bad_words_ids": [[5], [3, 7]],
                                   "suppress_tokens": [60], "min_new_tokens": 5,
                                   "forced_eos_token_id": 2, "eos_token_id": [2], "max_length": 40}}
    except Exception as e:
        print("_get_logits_processor failed:", repr(e), file=sys.stderr)
        order = ["error: " + repr(e)]

    return {"transformers": transformers.__version__, "torch": torch.__version__,
            "input_ids": input_ids.tolist(), "scores": enc(scores.tolist()), "cases": cases,
            "processor_order": order, "chain": chain_scores}


def generate_fixtures():
    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, dtype=torch.float32)
    model.eval()
    results = []

    def gen(name, prompt, **kw):
        enc_ = tok(prompt, return_tensors="pt")
        ids = enc_["input_ids"]
        kwargs = dict(kw)
        if "stop_strings" in kwargs:
            kwargs["tokenizer"] = tok
        try:
            with torch.no_grad():
                out = model.generate(ids, attention_mask=enc_["attention_mask"],
                                     do_sample=False, pad_token_id=0, **kwargs)
        except Exception as e:  # record, never stop the whole run
            print("generate failed:", name, repr(e), file=sys.stderr)
            rec = {"name": name, "error": repr(e), "ids": [], "text": ""}
            results.append(rec)
            return rec
        new = out[0, ids.shape[1]:].tolist()
        rec = {"name": name, "prompt": prompt, "prompt_ids": ids[0].tolist(),
               "params": {k: v for k, v in kw.items()}, "ids": new,
               "text": tok.decode(new, skip_special_tokens=True)}
        results.append(rec)
        return rec

    base = gen("greedy_40", "Once upon a time", max_new_tokens=40)
    gen("greedy_64_demo", "Once upon a time", max_new_tokens=64)
    gen("greedy_other_prompt", "The little dog", max_new_tokens=30)
    gen("greedy_one_token", "Lily", max_new_tokens=1)
    gen("max_length", "Once upon a time", max_length=15)
    # An EOS list where the second id appears mid-continuation: generation stops on it.
    stop_tok = base["ids"][9]
    gen("eos_list", "Once upon a time", max_new_tokens=40, eos_token_id=[2, stop_tok])
    # min_new_tokens masks the EOS ids until that many tokens exist.
    first = base["ids"].index(stop_tok) + 1
    gen("min_new_tokens_eos", "Once upon a time", max_new_tokens=40, eos_token_id=[stop_tok],
        min_new_tokens=first + 3)
    # Stop strings: a word from the middle of the greedy text, and one spanning a token border.
    words = base["text"].split()
    gen("stop_string_word", "Once upon a time", max_new_tokens=40, stop_strings=[words[6]])
    mid = base["text"][20:26]
    gen("stop_string_span", "Once upon a time", max_new_tokens=40,
        stop_strings=["zzzz", mid])
    gen("penalties", "Once upon a time", max_new_tokens=40, repetition_penalty=1.3,
        no_repeat_ngram_size=3)
    gen("bad_words_suppress", "Once upon a time", max_new_tokens=30,
        bad_words_ids=[[base["ids"][1]], base["ids"][4:6]], suppress_tokens=[base["ids"][2]])
    gen("forced_eos", "Once upon a time", max_new_tokens=12, forced_eos_token_id=2,
        eos_token_id=2)
    gen("min_length", "Once upon a time", max_new_tokens=20, min_length=10)
    return {"transformers": transformers.__version__, "model": "assets/models/stories260K",
            "cases": results}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    p = processor_fixtures()
    with open(os.path.join(args.out, "processors.json"), "w") as f:
        json.dump(p, f)
    g = generate_fixtures()
    with open(os.path.join(args.out, "generate.json"), "w") as f:
        json.dump(g, f, indent=1, ensure_ascii=False)
    print("transformers", transformers.__version__)
    print("processor cases:", len(p["cases"]), "errors:",
          [c["name"] for c in p["cases"] if "error" in c])
    print("processor order:", p["processor_order"])
    for c in g["cases"]:
        print(c["name"], len(c["ids"]), repr(c["text"][:60]))


if __name__ == "__main__":
    main()
