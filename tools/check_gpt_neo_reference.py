#!/usr/bin/env python3
"""Checks behind the GPT-Neo family (run where torch and transformers are installed, after
tools/make_model_fixtures.py OUT gpt_neo_f32):
- which keys a local layer attends to and the score scale, by re-deriving transformers' logits
  of the fixture by hand for windows w-1, w, w+1, none and scales 1.0, 1/sqrt(head_dim) (only
  window w with scale 1.0 should match, ~1e-5);
- which tensors save_pretrained writes (no causal-mask buffers in transformers 5);
- transformers' parameter count of a gpt-neo-2.7B-shaped config (built on the meta device), and
  that config saved as OUT_DIR/gpt_neo_27b_config/config.json
  (tests/fixtures/models/gpt_neo_27b_config).

Usage: python3 tools/check_gpt_neo_reference.py FIXTURE_DIR OUT_DIR
"""
import json, math, os, sys
import torch, transformers
from safetensors.torch import load_file

fx, out = sys.argv[1], sys.argv[2]
cfg = json.load(open(os.path.join(fx, "config.json")))
print("config.json:", json.dumps(cfg, sort_keys=True))
sd = load_file(os.path.join(fx, "model.safetensors"))
print("saved tensors:", sorted((k, list(v.shape), str(v.dtype)) for k, v in sd.items()))
ref = load_file(os.path.join(fx, "reference.safetensors"))
ids = ref["prompt_ids"]
want = ref["logits"].double()
E, nh, L = cfg["hidden_size"], cfg["num_heads"], cfg["num_layers"]
hd = E // nh
layers = cfg.get("attention_layers") or [t for kinds, n in cfg["attention_types"] for _ in range(n) for t in kinds]
print("attention_layers in config.json:", "attention_layers" in cfg, layers)
p = "transformer."
g = lambda n: sd[p + n].double()

def ln(x, w, b):
    m = x.mean(-1, keepdim=True); v = ((x - m) ** 2).mean(-1, keepdim=True)
    return (x - m) / torch.sqrt(v + cfg["layer_norm_epsilon"]) * w + b

def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

def manual(window, scale):
    T = ids.numel()
    x = g("wte.weight")[ids] + g("wpe.weight")[torch.arange(T)]
    i = torch.arange(T)[:, None]; j = torch.arange(T)[None, :]
    for l in range(L):
        h = f"h.{l}."
        y = ln(x, g(h + "ln_1.weight"), g(h + "ln_1.bias"))
        a = h + "attn.attention."
        q = (y @ g(a + "q_proj.weight").T).view(T, nh, hd).transpose(0, 1)
        k = (y @ g(a + "k_proj.weight").T).view(T, nh, hd).transpose(0, 1)
        v = (y @ g(a + "v_proj.weight").T).view(T, nh, hd).transpose(0, 1)
        s = q @ k.transpose(1, 2) * scale
        allow = j <= i
        if layers[l] == "local":
            allow = allow & (j > i - window)
        s = s.masked_fill(~allow, float("-inf")).softmax(-1)
        o = (s @ v).transpose(0, 1).reshape(T, E)
        x = x + o @ g(a + "out_proj.weight").T + g(a + "out_proj.bias")
        y = ln(x, g(h + "ln_2.weight"), g(h + "ln_2.bias"))
        m = gelu_new(y @ g(h + "mlp.c_fc.weight").T + g(h + "mlp.c_fc.bias"))
        x = x + m @ g(h + "mlp.c_proj.weight").T + g(h + "mlp.c_proj.bias")
    x = ln(x, g("ln_f.weight"), g("ln_f.bias"))
    return x @ g("wte.weight").T

w = cfg["window_size"]
for window in (w - 1, w, w + 1, 10 ** 6):
    for name, scale in (("1.0", 1.0), ("1/sqrt(hd)", 1 / math.sqrt(hd))):
        d = (manual(window, scale) - want).abs().max().item()
        print(f"window {window:>7} scale {name:>10}: max |manual - HF| = {d:.3e}")

# Buffers: does this transformers version save the causal-mask buffers?
m = transformers.GPTNeoForCausalLM(transformers.GPTNeoConfig(**{k: cfg[k] for k in (
    "vocab_size", "max_position_embeddings", "hidden_size", "num_layers", "num_heads",
    "attention_types", "window_size")}))
print("state_dict keys with 'bias' buffers:", [k for k in m.state_dict() if "attention.bias" in k or "masked_bias" in k])
print("named_buffers:", [k for k, _ in m.named_buffers()][:4])

big = transformers.GPTNeoConfig(vocab_size=50257, max_position_embeddings=2048, hidden_size=2560,
                                num_layers=32, num_heads=20, attention_types=[[["global", "local"], 16]],
                                window_size=256, intermediate_size=None, bos_token_id=50256,
                                eos_token_id=50256)
big.architectures = ["GPTNeoForCausalLM"]
with torch.device("meta"):
    bm = transformers.GPTNeoForCausalLM(big)
print("gpt-neo-2.7B-shaped num_parameters:", bm.num_parameters())
os.makedirs(os.path.join(out, "gpt_neo_27b_config"), exist_ok=True)
big.save_pretrained(os.path.join(out, "gpt_neo_27b_config"))
print(open(os.path.join(out, "gpt_neo_27b_config", "config.json")).read())
print("transformers", transformers.__version__, "torch", torch.__version__)
