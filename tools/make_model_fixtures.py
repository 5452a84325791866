#!/usr/bin/env python3
"""Builds the tiny random-weight model fixtures in tests/fixtures/models/ (run where torch and
transformers are installed; CPU is enough).

For every family it saves a model folder with from_config + save_pretrained, and next to the
weights a `reference.safetensors` read by tests/models/:
  causal LMs:  prompt_ids [T] i64, logits [T, vocab] f32 (HF, eager attention, float32 math on the
               saved weights), greedy_ids [24] i64 (model.generate, do_sample=False).
  encoders:    ids_<k> [T_k] i64, embedding_<k> [hidden] f32 (pooled as modules.json says).
  classifiers: ids_<k> [T_k] i64, logits_<k> [num_labels] f32; labels in reference.json.
reference.json records the generation kwargs, transformers/torch versions and per-step top-1/top-2
logit gaps (seeds are chosen so that greedy decisions are not near-ties).

Usage: python3 tools/make_model_fixtures.py OUT_DIR [NAME...]
(with NAMEs, only those fixtures are rebuilt; the others in OUT_DIR are left as they are)
"""
import json
import os
import shutil
import sys

import torch
import transformers
from safetensors.torch import save_file

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/models"
ONLY = set(sys.argv[2:])
PROMPT_LEN = 20
NEW_TOKENS = 24
# Smallest accepted top-1/top-2 logit gap along the prompt and the greedy path. bf16 weights
# need a wide margin: deepfuse rounds matmul inputs to bf16 (as torch does in bf16) while the
# reference here is float32 math on the same weights.
MIN_GAP = {torch.float32: 2e-3, torch.bfloat16: 0.06}

torch.set_num_threads(4)
summary = []


def save_ref(folder, tensors, meta):
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(folder, "reference.safetensors"))
    meta["transformers"] = transformers.__version__
    meta["torch"] = torch.__version__
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def f32_twin(model):
    """Float32 copy of `model` whose weights equal the saved (possibly bf16-rounded) ones."""
    twin = type(model)(model.config).eval()
    twin.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    return twin.float()


def min_gap(logits):
    top = torch.topk(logits.float(), 2, dim=-1).values
    return float((top[..., 0] - top[..., 1]).min())


def wanted(name):
    return not ONLY or name in ONLY


def causal(name, cls_name, cfg_kwargs, dtype=torch.float32, init_range=0.15, shard=None):
    if not wanted(name):
        return
    cls = getattr(transformers, cls_name)
    cfg_cls = getattr(transformers, cls_name.replace("ForCausalLM", "Config").replace("LMHeadModel", "Config"))
    best = None
    for seed in range(1, 120):
        torch.manual_seed(seed)
        cfg = cfg_cls(initializer_range=init_range, attn_implementation="eager", **cfg_kwargs)
        want = cfg_kwargs.get("rope_parameters", {}).get("rope_type")
        if want:  # make sure this transformers version took the rope parameters
            assert cfg.rope_parameters["rope_type"] == want, cfg.rope_parameters
        model = cls(cfg).eval()
        model = model.to(dtype)
        ref = f32_twin(model)
        ref.config._attn_implementation = "eager"
        g = torch.Generator().manual_seed(1000 + seed)
        vocab = cfg.vocab_size
        prompt = torch.randint(3, vocab, (1, PROMPT_LEN), generator=g)
        with torch.no_grad():
            logits = ref(prompt).logits[0].float()
            # eos disabled so that exactly NEW_TOKENS tokens are produced with no logits processor.
            ref.generation_config.eos_token_id = None
            gen_kwargs = dict(max_new_tokens=NEW_TOKENS, do_sample=False, num_beams=1,
                              eos_token_id=None, pad_token_id=0, use_cache=True)
            out = ref.generate(prompt, attention_mask=torch.ones_like(prompt), **gen_kwargs,
                               output_scores=True, return_dict_in_generate=True)
        greedy = out.sequences[0, PROMPT_LEN:]
        assert greedy.numel() == NEW_TOKENS, greedy
        gap = min(min_gap(logits), min_gap(torch.stack(out.scores)))
        if best is None or gap > best[0]:
            best = (gap, seed, model, prompt, logits, greedy, gen_kwargs)
        if gap >= MIN_GAP[dtype]:
            break
    # Falls back to the widest-margin seed tried (recorded as min_gap in reference.json).
    gap, seed, model, prompt, logits, greedy, gen_kwargs = best
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    kw = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(folder, safe_serialization=True, **kw)
    save_ref(folder, {"prompt_ids": prompt[0].to(torch.int64), "logits": logits,
                      "greedy_ids": greedy.to(torch.int64)},
             {"kind": "causal_lm", "class": cls_name, "seed": seed, "min_gap": gap,
              "weights_dtype": str(dtype), "generate_kwargs": gen_kwargs,
              "num_parameters": model.num_parameters(),
              "reference_math": "float32 eager attention on the saved weights"})
    summary.append(f"{name}: seed {seed} gap {gap:.4f} greedy {greedy[:6].tolist()}...")


# ---- Llama family -----------------------------------------------------------------------------
base = dict(vocab_size=384, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
causal("llama_f32", "LlamaForCausalLM", base)
causal("llama_bf16", "LlamaForCausalLM", base, dtype=torch.bfloat16, init_range=0.3)
causal("llama_tied_headdim", "LlamaForCausalLM",
       dict(base, hidden_size=48, num_attention_heads=4, num_key_value_heads=1, head_dim=16,
            tie_word_embeddings=True))
causal("llama_rope_llama3", "LlamaForCausalLM",
       dict(base, rope_parameters=dict(rope_type="llama3", rope_theta=50000.0, factor=8.0, low_freq_factor=1.0,
                                       high_freq_factor=4.0, original_max_position_embeddings=16)))
causal("llama_rope_yarn", "LlamaForCausalLM",
       dict(base, rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=4.0,
                                       original_max_position_embeddings=64)))
causal("qwen2_f32", "Qwen2ForCausalLM", dict(base, tie_word_embeddings=True), shard="150KB")
causal("qwen2_bf16", "Qwen2ForCausalLM", dict(base, tie_word_embeddings=True), dtype=torch.bfloat16,
       init_range=0.3)
causal("qwen3_f32", "Qwen3ForCausalLM", dict(base, head_dim=32, tie_word_embeddings=True))
causal("mistral_f32", "MistralForCausalLM", dict(base, sliding_window=6))
causal("gpt2_f32", "GPT2LMHeadModel",
       dict(vocab_size=384, n_positions=128, n_embd=64, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2))
causal("gpt2_bf16", "GPT2LMHeadModel",
       dict(vocab_size=384, n_positions=128, n_embd=64, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2),
       dtype=torch.bfloat16, init_range=0.3)
# GPT-Neo (as gpt-neo-2.7B): layers alternate global / local attention. window_size 6 is shorter
# than the prompt, so the local layers (1 and 3) drop keys in prefill, decode and the greedy run.
causal("gpt_neo_f32", "GPTNeoForCausalLM",
       dict(vocab_size=384, max_position_embeddings=128, hidden_size=64, num_layers=4, num_heads=4,
            intermediate_size=96, attention_types=[[["global", "local"], 2]], window_size=6,
            bos_token_id=1, eos_token_id=2))

# ---- encoders ---------------------------------------------------------------------------------
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders

WORDS = ("the a an of to and in is it that for on with as was at by be this are from or have not "
         "market stock price rose fell sharply profit loss company shares investors growth bank "
         "rate good bad news year quarter sales strong weak revenue earnings up down cat dog "
         "sat mat hello world deep fuse model text embed fast slow happy sad").split()


def wordpiece_tokenizer(folder, vocab_size):
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?'-")
    vocab = specials + letters + ["##" + c for c in letters] + WORDS
    vocab = list(dict.fromkeys(vocab))[:vocab_size]
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.decoder = decoders.WordPiece()
    tok.save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizerFast", "do_lower_case": True, "cls_token": "[CLS]",
                   "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]",
                   "model_max_length": 128}, f)
    return tok


TEXTS = ["The stock price rose sharply this quarter.", "Bad news: the company had a loss.",
         "hello world", "Investors are happy with strong earnings growth!"]
LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def encoder_cfg(kind):
    if kind == "bert":
        return transformers.BertConfig(vocab_size=200, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                       intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
                                       pad_token_id=0)
    if kind == "distilbert":
        return transformers.DistilBertConfig(vocab_size=200, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                             max_position_embeddings=64, pad_token_id=0)
    return transformers.XLMRobertaConfig(vocab_size=200, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                         intermediate_size=64, max_position_embeddings=80, type_vocab_size=1,
                                         pad_token_id=0, bos_token_id=2, eos_token_id=3)


def pool(hidden, mode, normalize):
    v = hidden[0] if mode == "cls" else hidden.mean(0)
    if normalize:
        v = torch.nn.functional.normalize(v, dim=-1)
    return v


ENC_CLASS = {"bert": "BertModel", "distilbert": "DistilBertModel", "xlm-roberta": "XLMRobertaModel"}
for kind, mode, normalize in [("bert", "mean", True), ("distilbert", "cls", False), ("xlm-roberta", "mean", True)]:
    name = "enc_" + kind.replace("-", "")
    if not wanted(name):
        continue
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    torch.manual_seed(7)
    cfg = encoder_cfg(kind)
    cfg.initializer_range = 0.2
    cfg._attn_implementation = "eager"
    model = getattr(transformers, ENC_CLASS[kind])(cfg, add_pooling_layer=False) if kind != "distilbert" else \
        transformers.DistilBertModel(cfg)
    model.eval()
    model.save_pretrained(folder, safe_serialization=True)
    tok = wordpiece_tokenizer(folder, cfg.vocab_size)
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
                  + ([{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
                     if normalize else []), f, indent=1)
    os.makedirs(os.path.join(folder, "1_Pooling"))
    with open(os.path.join(folder, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": cfg.hidden_size if kind != "distilbert" else cfg.dim,
                   "pooling_mode_cls_token": mode == "cls", "pooling_mode_mean_tokens": mode == "mean",
                   "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=1)
    tensors = {}
    for k, text in enumerate(TEXTS):
        ids = torch.tensor([tok.encode(text).ids])
        with torch.no_grad():
            h = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
        tensors[f"ids_{k}"] = ids[0].to(torch.int64)
        tensors[f"embedding_{k}"] = pool(h, mode, normalize).float()
    save_ref(folder, tensors, {"kind": "encoder", "class": ENC_CLASS[kind], "pooling": mode,
                               "normalize": normalize, "texts": TEXTS})
    summary.append(f"{name}: {len(TEXTS)} embeddings, pooling {mode}, normalize {normalize}")

CLS_CLASS = {"bert": "BertForSequenceClassification", "distilbert": "DistilBertForSequenceClassification",
             "xlm-roberta": "XLMRobertaForSequenceClassification"}
for kind in ["bert", "distilbert", "xlm-roberta"]:
    name = "cls_" + kind.replace("-", "")
    if not wanted(name):
        continue
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    torch.manual_seed(11)
    cfg = encoder_cfg(kind)
    cfg.initializer_range = 0.3
    cfg._attn_implementation = "eager"
    cfg.num_labels = 3
    cfg.id2label = dict(LABELS)
    cfg.label2id = {v: k for k, v in LABELS.items()}
    model = getattr(transformers, CLS_CLASS[kind])(cfg).eval()
    model.save_pretrained(folder, safe_serialization=True)
    tok = wordpiece_tokenizer(folder, cfg.vocab_size)
    tensors, labels, scores = {}, [], []
    for k, text in enumerate(TEXTS):
        ids = torch.tensor([tok.encode(text).ids])
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0].float()
        tensors[f"ids_{k}"] = ids[0].to(torch.int64)
        tensors[f"logits_{k}"] = logits
        p = torch.softmax(logits, -1)
        labels.append(LABELS[int(p.argmax())])
        scores.append(float(p.max()))
    save_ref(folder, tensors, {"kind": "classifier", "class": CLS_CLASS[kind], "texts": TEXTS,
                               "labels": labels, "scores": scores})
    summary.append(f"{name}: labels {labels}")

for dirpath, _, files in os.walk(OUT):
    for fn in files:
        p = os.path.join(dirpath, fn)
        assert os.path.getsize(p) < 1_000_000, p
print("\n".join(summary))
