#!/usr/bin/env python3
"""Builds the tiny DeepSeek-V2 / DeepSeek-V3 reference fixtures with transformers (GPU machine).

Usage: python3 tools/make_deepseek_fixtures.py OUT_DIR

Writes OUT_DIR/{v2_tiny,v3_fp8_tiny}/ with config.json, model.safetensors (checkpoint layout of the
real Hub folders: one tensor per expert, FP8 + weight_scale_inv for V3) and reference.safetensors +
reference.json (prompt ids, logits at every position of prompt+continuation, 24-token greedy
continuation), all computed by transformers in float32 with eager attention.

V3 follows DeepSeek's FP8 recipe: per 128x128 block (ceil-div at the edges) scale_inv =
amax / 448, w_fp8 = (w / scale_inv).to(float8_e4m3fn); the reference model runs on the
dequantised weights (w_fp8.float() * scale_inv), so the checkpoint and the reference agree.
"""
import json
import math
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, DeepseekV2Config, DeepseekV3Config

torch.manual_seed(1234)
OUT = sys.argv[1]
PROMPT_LEN = 12
NEW_TOKENS = 24
BLOCK = 128


def build(cfg):
    try:
        m = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", dtype=torch.float32)
    except TypeError:
        m = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", torch_dtype=torch.float32)
    m.eval()
    return m


def randomize(model, gen):
    # O(1) activations so attention, routing and rope all matter in the logits.
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            if not p.is_floating_point():
                continue
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif "e_score_correction_bias" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            elif "inv_freq" in name:
                continue
            elif p.ndim >= 2:
                fan_in = p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def hub_layout(sd):
    """transformers 5 may fuse experts into 3-D tensors; the Hub checkpoints keep one tensor per
    expert (mlp.experts.{e}.{gate,up,down}_proj.weight). Converts back to the Hub layout."""
    out = {}
    for k, v in sd.items():
        if k.endswith("experts.gate_up_proj") and v.ndim == 3:
            pre = k[: -len("gate_up_proj")]
            inter = v.shape[1] // 2
            for e in range(v.shape[0]):
                out[f"{pre}{e}.gate_proj.weight"] = v[e, :inter].clone()
                out[f"{pre}{e}.up_proj.weight"] = v[e, inter:].clone()
        elif k.endswith("experts.down_proj") and v.ndim == 3:
            pre = k[: -len("down_proj")]
            for e in range(v.shape[0]):
                out[f"{pre}{e}.down_proj.weight"] = v[e].clone()
        elif "rotary_emb" in k or k.endswith("inv_freq"):
            continue
        else:
            out[k] = v.clone()
    return out


def quantize_block_fp8(w):
    rows, cols = w.shape
    br, bc = math.ceil(rows / BLOCK), math.ceil(cols / BLOCK)
    scale = torch.empty(br, bc, dtype=torch.float32)
    q = torch.empty(rows, cols, dtype=torch.float8_e4m3fn)
    deq = torch.empty(rows, cols, dtype=torch.float32)
    for i in range(br):
        for j in range(bc):
            blk = w[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK].float()
            s = blk.abs().amax().clamp(min=1e-12) / 448.0
            qb = (blk / s).to(torch.float8_e4m3fn)
            scale[i, j] = s
            q[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK] = qb
            deq[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK] = qb.float() * s
    return q, scale, deq


def is_quantized_linear(name, t):
    if t.ndim != 2 or not name.endswith(".weight"):
        return False
    if "embed_tokens" in name or name.startswith("lm_head") or "norm" in name:
        return False
    if name.endswith("mlp.gate.weight"):  # the router stays in bf16 in the real checkpoints
        return False
    return ".layers." in name


def references(model, vocab, gen):
    prompt = torch.randint(3, vocab, (1, PROMPT_LEN), generator=gen)
    ids = prompt.clone()
    margins = []
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            logits = model(ids).logits[0, -1].double()
            top2 = torch.topk(logits, 2).values
            margins.append(float(top2[0] - top2[1]))
            ids = torch.cat([ids, logits.argmax().view(1, 1)], dim=1)
        full = model(ids).logits[0].float().contiguous()
        prompt_logits = model(prompt).logits[0].float().contiguous()
    return prompt[0].tolist(), ids[0, PROMPT_LEN:].tolist(), full, prompt_logits, min(margins)


def write_refs(d, prompt, cont, full, prompt_logits, extra):
    save_file({"logits_full": full, "logits_prompt": prompt_logits}, os.path.join(d, "reference.safetensors"))
    rec = {"prompt_ids": prompt, "greedy_ids": cont, "new_tokens": NEW_TOKENS,
           "note": "logits_full: HF float32 eager logits at every position of prompt_ids + greedy_ids"}
    rec.update(extra)
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(rec, f, indent=1)


def reload(d, label):
    m, info = AutoModelForCausalLM.from_pretrained(d, attn_implementation="eager", dtype=torch.float32,
                                                   output_loading_info=True)
    print(f"{label} loading info:", {k: list(v)[:8] for k, v in info.items() if v})
    assert not info.get("missing_keys"), f"{label}: missing keys {info['missing_keys']}"
    m.eval()
    return m


def make_v2():
    d = os.path.join(OUT, "v2_tiny")
    os.makedirs(d, exist_ok=True)
    kw = dict(vocab_size=320, hidden_size=64, intermediate_size=128, moe_intermediate_size=16,
              num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
              n_shared_experts=1, n_routed_experts=8, num_experts_per_tok=3, n_group=4, topk_group=2,
              topk_method="group_limited_greedy", scoring_func="softmax", routed_scaling_factor=1.5,
              norm_topk_prob=False, first_k_dense_replace=1, moe_layer_freq=1, q_lora_rank=None,
              kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=12,
              max_position_embeddings=256, rms_norm_eps=1e-6, tie_word_embeddings=False,
              attention_bias=False, hidden_act="silu", bos_token_id=1, eos_token_id=2)
    rope = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 64,
            "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 0.5}
    try:
        cfg = DeepseekV2Config(**kw, rope_parameters=rope)
    except TypeError:
        legacy = dict(rope); legacy["type"] = legacy.pop("rope_type"); theta = legacy.pop("rope_theta")
        cfg = DeepseekV2Config(**kw, rope_scaling=legacy, rope_theta=theta)
    cfg.architectures = ["DeepseekV2ForCausalLM"]
    model = build(cfg)
    gen = torch.Generator().manual_seed(2)
    randomize(model, gen)
    cfg.save_pretrained(d)
    sd = hub_layout(model.state_dict())
    save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    # References come from the model transformers loads from the Hub-layout file.
    model = reload(d, "v2")
    prompt, cont, full, pl, margin = references(model, cfg.vocab_size, gen)
    write_refs(d, prompt, cont, full, pl, {"weights": "float32", "min_greedy_margin": margin})
    print("v2 config:", json.dumps(cfg.to_dict(), default=str)[:1500])
    print("v2 margin", margin, "tensors", len(sd))


def make_v3():
    d = os.path.join(OUT, "v3_fp8_tiny")
    os.makedirs(d, exist_ok=True)
    kw = dict(vocab_size=320, hidden_size=128, intermediate_size=160, moe_intermediate_size=32,
              num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
              n_shared_experts=1, n_routed_experts=8, num_experts_per_tok=2, n_group=4, topk_group=2,
              topk_method="noaux_tc", scoring_func="sigmoid", routed_scaling_factor=2.5,
              norm_topk_prob=True, first_k_dense_replace=1, q_lora_rank=48,
              kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
              max_position_embeddings=256, rms_norm_eps=1e-6, tie_word_embeddings=False,
              attention_bias=False, hidden_act="silu", num_nextn_predict_layers=1,
              rope_interleave=True, bos_token_id=1, eos_token_id=2)
    rope = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 64,
            "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0}
    try:
        cfg = DeepseekV3Config(**kw, rope_parameters=rope)
    except TypeError:
        legacy = dict(rope); legacy["type"] = legacy.pop("rope_type"); theta = legacy.pop("rope_theta")
        cfg = DeepseekV3Config(**kw, rope_scaling=legacy, rope_theta=theta)
    cfg.architectures = ["DeepseekV3ForCausalLM"]
    model = build(cfg)
    gen = torch.Generator().manual_seed(3)
    randomize(model, gen)
    sd = hub_layout(model.state_dict())
    ckpt = {}
    deq_sd = {}
    for k, v in sd.items():
        if is_quantized_linear(k, v):
            q, s, deq = quantize_block_fp8(v)
            ckpt[k] = q
            ckpt[k[: -len("weight")] + "weight_scale_inv"] = s
            deq_sd[k] = deq
        elif "e_score_correction_bias" in k:
            ckpt[k] = v.float()
            deq_sd[k] = v.float()
        else:
            b = v.to(torch.bfloat16)
            ckpt[k] = b
            deq_sd[k] = b.float()
    # Push the dequantised weights back into the model (through HF's own loader via a temp folder).
    tmp = os.path.join(OUT, "_v3_deq")
    os.makedirs(tmp, exist_ok=True)
    cfg.save_pretrained(tmp)
    save_file({k: v.contiguous() for k, v in deq_sd.items()}, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    model = reload(tmp, "v3")
    prompt, cont, full, pl, margin = references(model, cfg.vocab_size, gen)
    # MTP layer (index == num_hidden_layers), as the real V3/R1 checkpoints ship it: must be skipped.
    mtp = "model.layers.3."
    ckpt[mtp + "enorm.weight"] = torch.ones(128, dtype=torch.bfloat16)
    ckpt[mtp + "hnorm.weight"] = torch.ones(128, dtype=torch.bfloat16)
    q, s, _ = quantize_block_fp8(torch.randn(128, 256, generator=gen))
    ckpt[mtp + "eh_proj.weight"] = q
    ckpt[mtp + "eh_proj.weight_scale_inv"] = s
    ckpt[mtp + "shared_head.norm.weight"] = torch.ones(128, dtype=torch.bfloat16)
    cfg.save_pretrained(d)
    with open(os.path.join(d, "config.json")) as f:
        cj = json.load(f)
    cj["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                 "weight_block_size": [128, 128]}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cj, f, indent=2)
    save_file({k: v.contiguous() for k, v in ckpt.items()}, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    # Sanity: the dequantised reload is what we recorded from.
    with torch.no_grad():
        got = model(torch.tensor([prompt + cont])).logits[0]
    assert (got - full).abs().max().item() < 1e-6
    write_refs(d, prompt, cont, full, pl, {"weights": "fp8-block dequantised to float32 (non-linear tensors bf16)",
                                          "min_greedy_margin": margin})
    print("v3 config:", json.dumps(cfg.to_dict(), default=str)[:1500])
    print("v3 margin", margin, "tensors", len(ckpt))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_v2()
    make_v3()
