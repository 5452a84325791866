#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/<target>/ from small repository fixtures and a
few hand-made inputs (each seed well under 64 KB). Run from the repository root:

    python3 fuzz/make_corpus.py
"""
import glob
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED = 64 * 1024


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) <= MAX_SEED:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def rel(pattern):
    return sorted(glob.glob(os.path.join(ROOT, pattern)))


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def main():
    for target in ["safetensors", "config", "tokenizer_json", "tokenizer_encode", "chat_template",
                   "kb_ingest", "filter"]:
        shutil.rmtree(os.path.join(OUT, target), ignore_errors=True)

    # safetensors: small real files + hand-made edge cases.
    for i, p in enumerate(f for f in rel("tests/fixtures/models/*/*.safetensors") if os.path.getsize(f) < 4096):
        put("safetensors", f"fixture{i}", open(p, "rb").read())
    put("safetensors", "f32", safetensors({"w": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4))},
                                          {"format": "pt"}))
    put("safetensors", "mixed", safetensors({"a": ("BF16", [3], b"\0" * 6), "b": ("I64", [1], b"\1" * 8),
                                             "c": ("F8_E4M3", [0], b""), "d": ("U8", [2, 1], b"xy")}))
    put("safetensors", "empty", safetensors({}))

    # config.json / generation_config.json
    for i, p in enumerate(rel("tests/fixtures/models/*/config.json") + rel("tests/fixtures/deepseek/*/config.json")):
        put("config", f"config{i}", open(p, "rb").read())
    for i, p in enumerate(rel("tests/fixtures/models/*/generation_config.json")[:2]):
        put("config", f"generation{i}", open(p, "rb").read())
    put("config", "rope_v5", json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2,
        "num_key_value_heads": 2, "vocab_size": 100, "max_position_embeddings": 256, "dtype": "bfloat16",
        "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                            "original_max_position_embeddings": 64}}))

    # tokenizer.json files (small ones only)
    for i, p in enumerate(f for f in rel("tests/fixtures/tokenizer/synthetic/*.json") if not f.endswith(".ref.json")):
        put("tokenizer_json", f"synthetic{i}", open(p, "rb").read())
    for i, p in enumerate(rel("tests/fixtures/models/*/tokenizer.json")[:4]):
        put("tokenizer_json", f"model{i}", open(p, "rb").read())

    # tokenizer encode: selector byte + text
    texts = ["Hello world! Don't panic.", "你好，世界。今天是2024年1月2日。", "  leading  and trailing  ",
             "emoji 😀👍🏽 and accents café naïve", "<s> [CLS] <|im_start|>user\nhi<|im_end|>",
             "tabs\tand\nnewlines\r\n", "\xff\xfe invalid", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
             # characters normalizers remove or recompose (fuzz/findings/ offsets finding)
             b"Hello world! Don't pa\xa3\x00c.",
             "\x00\x01lead e\u0301x y\u0301 \ufeff\u2028z\u0085w A\u0344\u0323b \u1100\u1161\u11a8 \u0b47\u0b3e"]
    for i, t in enumerate(texts):
        raw = t.encode("utf-8", "surrogateescape") if isinstance(t, str) else t
        put("tokenizer_encode", f"text{i}", bytes([i * 37 % 256]) + raw)
    put("tokenizer_encode", "ids", bytes([0x80]) + struct.pack("<6i", 0, 1, 2, 100, 5, 7))

    # chat templates
    for i, p in enumerate(rel("tests/fixtures/chat_template/feature_templates/*.jinja")):
        put("chat_template", f"feature{i}", open(p, "rb").read())
    for i, p in enumerate(rel("tests/fixtures/chat_template/*.json")):
        try:
            j = json.load(open(p))
        except ValueError:
            continue
        if isinstance(j, dict) and isinstance(j.get("template"), str):
            put("chat_template", f"model{i}", j["template"])
    put("chat_template", "basic",
        "{% for m in messages %}{{ m.role }}: {{ m.content | trim }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}")
    put("chat_template", "macro", "{% macro f(x, n=2) %}{{ x * n }}{% endmacro %}{{ f('ab') }}"
        "{% set ns = namespace(a=0) %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}"
        "{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | list | length }}"
        "{{ tools | tojson(indent=2) }}{{ 'x' if bos_token is defined else 'y' }}{{ raise_exception('no') if false }}")

    # knowledge-base ingestion: selector byte + file content
    put("kb_ingest", "jsonl", b"\x00" + "\n".join([
        json.dumps({"id": "1", "text": "Aspirin reduces fever.", "title": "Aspirin", "domain": "medical", "year": 2023}),
        json.dumps({"_id": 2, "text": "阿司匹林可以退烧。", "date": "2023-05-01", "metadata": {"lang": "zh", "pages": 3}}),
        json.dumps({"id": "3", "text": ""}), "{not json", json.dumps({"id": "4"})]).encode())
    put("kb_ingest", "txt", b"\x05" + "First sentence. Second one! 第三句。第四句？\n\nNew paragraph…".encode())
    put("kb_ingest", "md", b"\x0a# Title\n\nSome *markdown* text with `code` and a [link](http://x).\n")

    # filter expressions
    put("filter", "basic", "domain=medical\nyear>2022\ndate>=2023-06\nsource!=pubmed\nyear<=2020\npages<10")
    put("filter", "odd", "=x\nyear>>1\ndate>2023-13-45\nlang=zh\nfoo!=\nyear>1e308\n a = b ")


if __name__ == "__main__":
    main()
