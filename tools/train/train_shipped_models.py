"""Trains the two models deepfuse ships, from scratch, on the GPU machine (issue 15).

  1. a WordPiece tokenizer (Chinese + English) on the corpora text;
  2. a small BERT, masked-language-model pretraining on the same text;
  3. contrastive training (in-batch negatives, mean pooling) on question -> answer pairs:
     the embedding model (BertModel + sentence-transformers pooling files);
  4. a 3-way financial sentiment classifier (BertForSequenceClassification) fine-tuned from that
     encoder on the train splits of Financial PhraseBank and fincuge-finfe, evaluated on their
     held-out splits beside a TF-IDF + logistic-regression baseline trained on the same split;
  5. reference token ids, embeddings and logits computed by transformers (float32, CPU) from the
     saved folders, for deepfuse's fixture test.

One command:  python3 tools/train/train_shipped_models.py --data DIR --out DIR
(DIR = ../shared/data, or the unpacked output of tools/train/pack_data.sh). --tiny runs a few
steps of a tiny config to check the pipeline. What was held out: see data.py's docstring.
"""
import argparse
import copy
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model_card  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD, UNK, CLS, SEP, MASK = range(5)

FIXTURE_TEXTS = [
    "Metformin is the first-line drug for type 2 diabetes.",
    "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn in the corresponding period in 2007.",
    "The company's net sales fell by 5% and it warned of further layoffs.",
    "高血压患者能吃党参吗？",
    "公司业绩大幅下滑，股价跌停。",
    "COVID-19疫苗的副作用有哪些? Café naïve résumé",
]


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


# ---------------------------------------------------------------- tokenizer
def train_tokenizer(texts, vocab_size):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers import trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    # BERT's normaliser: lower case, accents stripped, a space around every CJK character (so
    # Chinese is split into characters, as bert-base-chinese does).
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIALS,
        limit_alphabet=6000, continuing_subword_prefix="##", show_progress=False)
    tok.train_from_iterator(texts, trainer)
    assert [tok.token_to_id(s) for s in SPECIALS] == list(range(5))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS), ("[SEP]", SEP)])
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def save_tokenizer(tok, folder, max_len):
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=max_len)
    fast.save_pretrained(folder)
    # Name the BERT tokenizer class so AutoTokenizer gives the usual BERT behaviour.
    cfg_path = os.path.join(folder, "tokenizer_config.json")
    with open(cfg_path, encoding="utf-8") as f:
        cfg = json.load(f)
    cfg["tokenizer_class"] = "BertTokenizer"
    cfg["do_lower_case"] = True
    cfg["tokenize_chinese_chars"] = True
    with open(cfg_path, "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)


# ---------------------------------------------------------------- MLM pretraining
def lr_at(step, total, peak, warmup_share):
    warm = max(1, int(total * warmup_share))
    if step < warm:
        return peak * (step + 1) / warm
    return peak * max(0.0, (total - step) / max(1, total - warm))


def pack_blocks(tok, texts, block):
    """Concatenates the texts' ids ([SEP] between documents) into [CLS] ... [SEP] blocks."""
    encs = tok.encode_batch(texts, add_special_tokens=False)
    flat = []
    for e in encs:
        flat.extend(e.ids)
        flat.append(SEP)
    body = block - 2
    n = len(flat) // body
    arr = np.asarray(flat[: n * body], dtype=np.int64).reshape(n, body)
    out = np.empty((n, block), dtype=np.int64)
    out[:, 0], out[:, -1], out[:, 1:-1] = CLS, SEP, arr
    return torch.from_numpy(out), len(flat)


def mlm_pretrain(cfg, tok, texts, a, dev):
    from transformers import BertForMaskedLM

    blocks, n_tokens = pack_blocks(tok, texts, a.block)
    blocks = blocks.to(dev)
    log(f"mlm: {n_tokens} tokens in {len(blocks)} blocks of {a.block}")
    model = BertForMaskedLM(cfg).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=a.mlm_lr, betas=(0.9, 0.98), eps=1e-6,
                            weight_decay=0.01)
    total = a.mlm_steps
    t0, step, losses = time.time(), 0, []
    model.train()
    vocab = cfg.vocab_size
    while step < total:
        if step == 10:
            t10 = time.time()
        if step == 60 and a.mlm_seconds > 0:
            # Fit the schedule to the time budget once the step time is known (after warm-up).
            per = (time.time() - t10) / 50
            total = max(61, min(total, int(a.mlm_seconds / per)))
            log(f"mlm: {per * 1000:.1f} ms/step -> {total} steps")
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total, a.mlm_lr, 0.06)
        x = blocks[torch.randint(len(blocks), (a.mlm_batch,), device=dev)]
        special = x < len(SPECIALS)
        pick = (torch.rand(x.shape, device=dev) < 0.15) & ~special
        labels = torch.where(pick, x, torch.full_like(x, -100))
        r = torch.rand(x.shape, device=dev)
        inp = torch.where(pick & (r < 0.8), torch.full_like(x, MASK), x)
        rand_tok = torch.randint(len(SPECIALS), vocab, x.shape, device=dev)
        inp = torch.where(pick & (r >= 0.8) & (r < 0.9), rand_tok, inp)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
            loss = model(input_ids=inp, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item() if step % 50 == 0 or step == total - 1 else float("nan"))
        if step % 200 == 0:
            log(f"mlm step {step}/{total} loss {loss.item():.3f}")
        step += 1
    final = float(np.nanmean([l for l in losses[-200:] if not math.isnan(l)] or [float("nan")]))
    stats = {"steps": step, "batch": a.mlm_batch, "block": a.block, "tokens": n_tokens,
             "seconds": round(time.time() - t0, 1), "final_loss": round(final, 3)}
    log(f"mlm done: {stats}")
    return model, stats


# ---------------------------------------------------------------- contrastive
def mean_pool(model, ids, mask):
    h = model(input_ids=ids, attention_mask=mask).last_hidden_state  # [B, T, H]
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1)  # [B, H]


def pad_batch(seqs, dev):
    n = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), n), dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids.to(dev), mask.to(dev)


def encode_trunc(tok, texts, max_len):
    tok.enable_truncation(max_len)
    out = [e.ids for e in tok.encode_batch(texts)]
    tok.no_truncation()
    return out


def contrastive(enc, tok, sources, a, dev, rng):
    """sources: {name: [(query, positive)]}. Batches are drawn from one source at a time, so the
    in-batch negatives are of the same language and domain (harder than mixed batches)."""
    toks = {}
    for name, pairs in sources.items():
        q = encode_trunc(tok, [p[0] for p in pairs], a.q_len)
        d = encode_trunc(tok, [p[1] for p in pairs], a.d_len)
        toks[name] = list(zip(q, d))
    batches = []
    for _ in range(a.con_epochs):
        for name, pairs in toks.items():
            idx = list(range(len(pairs)))
            rng.shuffle(idx)
            for i in range(0, len(idx) - a.con_batch // 4 + 1, a.con_batch):
                batches.append((name, idx[i:i + a.con_batch]))
    rng.shuffle(batches)
    if a.con_steps:
        batches = batches[: a.con_steps]
    opt = torch.optim.AdamW(enc.parameters(), lr=a.con_lr, weight_decay=0.01)
    enc.train()
    t0 = time.time()
    total = len(batches)
    for step, (name, idx) in enumerate(batches):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total, a.con_lr, 0.1)
        qi, qm = pad_batch([toks[name][i][0] for i in idx], dev)
        di, dm = pad_batch([toks[name][i][1] for i in idx], dev)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
            q = F.normalize(mean_pool(enc, qi, qm).float(), dim=-1)
            d = F.normalize(mean_pool(enc, di, dm).float(), dim=-1)
        sim = q @ d.T / a.temperature  # [B, B]
        y = torch.arange(len(idx), device=dev)
        loss = (F.cross_entropy(sim, y) + F.cross_entropy(sim.T, y)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(enc.parameters(), 1.0)
        opt.step()
        if step % 50 == 0:
            log(f"contrastive step {step}/{total} [{name}] loss {loss.item():.3f}")
        if a.con_seconds and time.time() - t0 > a.con_seconds:
            log(f"contrastive: time budget reached at step {step + 1}/{total}")
            total = step + 1
            break
    stats = {"steps": total, "batch": a.con_batch, "epochs": a.con_epochs, "lr": a.con_lr,
             "temperature": a.temperature, "seconds": round(time.time() - t0, 1),
             "pairs": {k: len(v) for k, v in sources.items()}}
    log(f"contrastive done: {stats}")
    return stats


# ---------------------------------------------------------------- classifier
def macro_f1_acc(y, p):
    from sklearn.metrics import accuracy_score, f1_score

    return {"macro_f1": round(100 * f1_score(y, p, average="macro"), 2),
            "accuracy": round(100 * accuracy_score(y, p), 2), "n": len(y)}


def baseline(train, test, lang):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline

    # Words (1-2 grams) for English; characters (1-3 grams) for unsegmented Chinese. C is chosen
    # by 5-fold cross-validation on the TRAIN split only.
    vec = (TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1) if lang == "en" else
           TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1))
    clf = make_pipeline(vec, LogisticRegressionCV(Cs=[0.3, 1, 3, 10, 30], cv=5, max_iter=3000,
                                                  scoring="f1_macro", n_jobs=-1))
    clf.fit([t for t, _ in train], [y for _, y in train])
    return macro_f1_acc([y for _, y in test], clf.predict([t for t, _ in test]))


def predict(model, tok, texts, dev, max_len=128, bs=256):
    ids = encode_trunc(tok, texts, max_len)
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(ids), bs):
            x, m = pad_batch(ids[i:i + bs], dev)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
                out.append(model(input_ids=x, attention_mask=m).logits.float().argmax(-1).cpu())
    return torch.cat(out).tolist()


def fit_classifier(init_state, ccfg, ids, ys, val, tok, a, dev, rng):
    """Fine-tunes from `init_state` (an encoder state dict); after each epoch scores the
    validation split (mean macro-F1 of the languages) and keeps the best epoch's weights."""
    from transformers import BertForSequenceClassification

    clf = BertForSequenceClassification(ccfg).to(dev)
    clf.bert.load_state_dict(init_state)
    opt = torch.optim.AdamW(clf.parameters(), lr=a.clf_lr, weight_decay=0.01)
    total = math.ceil(len(ids) / a.clf_batch) * a.clf_epochs
    step, best, best_state, best_ep = 0, -1.0, None, 0
    for ep in range(a.clf_epochs):
        clf.train()
        order = list(range(len(ids)))
        rng.shuffle(order)
        for i in range(0, len(order), a.clf_batch):
            b = order[i:i + a.clf_batch]
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, a.clf_lr, 0.1)
            x, m = pad_batch([ids[j] for j in b], dev)
            y = torch.tensor([ys[j] for j in b], device=dev)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
                logits = clf(input_ids=x, attention_mask=m).logits.float()
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(clf.parameters(), 1.0)
            opt.step()
            step += 1
        f1 = np.mean([macro_f1_acc([y for _, y in v], predict(clf, tok, [t for t, _ in v], dev))
                      ["macro_f1"] for v in val.values()])
        log(f"classifier epoch {ep + 1}/{a.clf_epochs} loss {loss.item():.3f} val macro-F1 {f1:.2f}")
        if f1 > best:
            best, best_ep = f1, ep + 1
            best_state = {k: v.detach().clone() for k, v in clf.state_dict().items()}
    clf.load_state_dict(best_state)
    return clf, best, best_ep


def train_classifier(inits, cfg, tok, splits, a, dev, rng):
    """inits: {name: encoder state dict} (the contrastive encoder, the MLM encoder). 10% of each
    train split (hash of the text) is a validation split that picks the start and the epoch; the
    test splits are scored once, at the end."""
    ccfg = copy.deepcopy(cfg)
    ccfg.num_labels = 3
    ccfg.id2label = dict(enumerate(data.LABELS))
    ccfg.label2id = {l: i for i, l in enumerate(data.LABELS)}
    ccfg.architectures = ["BertForSequenceClassification"]
    fit, val = {}, {}
    for lang, (tr, _) in splits.items():
        fit[lang] = [r for r in tr if not data.in_hash_share(r[0], a.seed + 1, 0.1)]
        val[lang] = [r for r in tr if data.in_hash_share(r[0], a.seed + 1, 0.1)]
    # English has ~4k training sentences, Chinese 16k: repeat English to balance the languages.
    train = fit["en"] * a.en_repeat + fit["zh"]
    ids = encode_trunc(tok, [t for t, _ in train], 128)
    ys = [y for _, y in train]
    t0, tried, best = time.time(), {}, None
    for name, state in inits.items():
        clf, f1, ep = fit_classifier(state, ccfg, ids, ys, val, tok, a, dev, rng)
        tried[name] = {"val_macro_f1": round(float(f1), 2), "best_epoch": ep}
        if best is None or f1 > best[1]:
            best = (name, f1, clf)
    name, _, clf = best
    scores = {}
    for lang, (tr, te) in splits.items():
        scores[lang] = {
            "model": macro_f1_acc([y for _, y in te], predict(clf, tok, [t for t, _ in te], dev)),
            "tfidf_logreg": baseline(tr, te, lang), "train_n": len(fit[lang]),
            "val_n": len(val[lang])}
    stats = {"epochs": a.clf_epochs, "batch": a.clf_batch, "lr": a.clf_lr, "en_repeat": a.en_repeat,
             "start": name, "tried": tried, "best_epoch": tried[name]["best_epoch"],
             "seconds": round(time.time() - t0, 1), "scores": scores}
    log(f"classifier done: {json.dumps(stats)}")
    return clf, stats


# ---------------------------------------------------------------- export + references
def save_embedder(enc, tok, folder, max_len):
    enc = enc.to("cpu", torch.bfloat16)
    enc.config.architectures = ["BertModel"]
    enc.save_pretrained(folder)
    save_tokenizer(tok, folder, max_len)
    os.makedirs(os.path.join(folder, "1_Pooling"), exist_ok=True)
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": "sentence_transformers.models.Normalize"}], f, indent=2)
    with open(os.path.join(folder, "1_Pooling/config.json"), "w") as f:
        json.dump({"word_embedding_dimension": enc.config.hidden_size,
                   "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
                   "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False},
                  f, indent=2)
    with open(os.path.join(folder, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": max_len, "do_lower_case": False}, f, indent=2)


def references(embed_dir, clf_dir):
    """Token ids, embeddings (mean pooled, L2-normalised) and logits by transformers in float32
    on the CPU, from the SAVED folders (bf16 weights upcast), as deepfuse will load them."""
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    torch.backends.cuda.matmul.allow_tf32 = False
    tk = AutoTokenizer.from_pretrained(embed_dir)
    emb = AutoModel.from_pretrained(embed_dir, dtype=torch.float32).eval()
    clf = AutoModelForSequenceClassification.from_pretrained(clf_dir, dtype=torch.float32).eval()
    ref = {"texts": FIXTURE_TEXTS, "ids": [], "embeddings": [], "logits": []}
    with torch.no_grad():
        for t in FIXTURE_TEXTS:
            ids = tk(t)["input_ids"]
            x = torch.tensor([ids])
            m = torch.ones_like(x)
            e = F.normalize(mean_pool(emb, x, m), dim=-1)[0]
            ref["ids"].append(ids)
            ref["embeddings"].append([round(float(v), 7) for v in e])
            ref["logits"].append([round(float(v), 6) for v in clf(input_ids=x).logits[0]])
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(os.path.join(embed_dir, "tokenizer.json"))
    ref["ids_equal_tokenizers_lib"] = all(
        raw.encode(t).ids == ids for t, ids in zip(FIXTURE_TEXTS, ref["ids"]))
    try:  # cross-check the sentence-transformers files give the same vectors
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(embed_dir, device="cpu")
        v = st.encode(FIXTURE_TEXTS, convert_to_numpy=True)
        ref["sentence_transformers_max_abs_diff"] = float(
            np.abs(v - np.asarray(ref["embeddings"])).max())
    except Exception as e:  # noqa: BLE001 - informative only
        ref["sentence_transformers_max_abs_diff"] = f"not checked: {e}"
    return ref


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help="pipeline check: tiny model, few steps")
    p.add_argument("--vocab", type=int, default=16000)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=1024)
    p.add_argument("--max-len", type=int, default=512)
    p.add_argument("--block", type=int, default=128)
    p.add_argument("--mlm-steps", type=int, default=20000)
    p.add_argument("--mlm-seconds", type=float, default=125)
    p.add_argument("--mlm-batch", type=int, default=512)
    p.add_argument("--mlm-lr", type=float, default=7e-4)
    p.add_argument("--con-epochs", type=int, default=3)
    p.add_argument("--con-steps", type=int, default=0)
    p.add_argument("--con-seconds", type=float, default=60)
    p.add_argument("--con-batch", type=int, default=256)
    p.add_argument("--con-lr", type=float, default=2e-4)
    p.add_argument("--temperature", type=float, default=0.05)
    p.add_argument("--q-len", type=int, default=64)
    p.add_argument("--d-len", type=int, default=256)
    p.add_argument("--scifact-repeat", type=int, default=3)
    p.add_argument("--no-corpus-pairs", action="store_true",
                   help="leave out the unsupervised title/sentence pairs of the retrieval corpora")
    p.add_argument("--clf-epochs", type=int, default=8)
    p.add_argument("--clf-batch", type=int, default=64)
    p.add_argument("--clf-lr", type=float, default=2e-4)
    p.add_argument("--en-repeat", type=int, default=2)
    a = p.parse_args()
    if a.tiny:
        a.vocab, a.hidden, a.layers, a.heads, a.intermediate = 2000, 64, 2, 2, 128
        a.mlm_steps, a.mlm_seconds, a.mlm_batch, a.con_steps, a.clf_epochs = 20, 0, 16, 6, 2
        a.con_batch = 16
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    seed_all(a.seed)
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    t_start = time.time()

    texts = data.corpus_texts(a.data)
    en_split, zh_split = data.phrasebank_splits(a.data, seed=a.seed), data.finfe_splits(a.data)
    texts += [t for t, _ in en_split[0]] + [t for t, _ in zh_split[0]]  # train splits only
    if a.tiny:
        texts = rng.sample(texts, 3000)
    log(f"device {dev}; {len(texts)} texts, {sum(map(len, texts))} characters")
    tok = train_tokenizer(texts, a.vocab)
    log(f"tokenizer: {tok.get_vocab_size()} tokens")

    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=a.hidden,
                     num_hidden_layers=a.layers, num_attention_heads=a.heads,
                     intermediate_size=a.intermediate, max_position_embeddings=a.max_len,
                     type_vocab_size=2, pad_token_id=PAD, hidden_act="gelu")
    mlm, mlm_stats = mlm_pretrain(cfg, tok, texts, a, dev)
    enc = BertModel(cfg).to(dev)  # with a pooler, which the classifier head uses
    missing = enc.load_state_dict(mlm.bert.state_dict(), strict=False)
    assert all(k.startswith("pooler.") for k in missing.missing_keys), missing
    del mlm
    mlm_state = {k: v.detach().clone() for k, v in enc.state_dict().items()}

    sources = {"medquad": data.medquad_pairs(a.data), "zh_medical": data.zh_medical_pairs(a.data),
               "scifact_train": data.scifact_train_pairs(a.data) * a.scifact_repeat}
    if not a.no_corpus_pairs:
        sources["corpus_en"], sources["corpus_zh"] = data.corpus_self_pairs(a.data, rng)
    if a.tiny:
        sources = {k: v[:64] for k, v in sources.items()}
    con_stats = contrastive(enc, tok, sources, a, dev, rng)

    splits = {"en": en_split, "zh": zh_split}
    if a.tiny:
        splits = {k: (tr[:200], te[:100]) for k, (tr, te) in splits.items()}
    inits = {"contrastive": enc.state_dict(), "mlm": mlm_state}
    clf, clf_stats = train_classifier(inits, cfg, tok, splits, a, dev, rng)

    embed_dir, clf_dir = os.path.join(a.out, "embed"), os.path.join(a.out, "finsent")
    save_embedder(enc, tok, embed_dir, a.max_len)
    clf = clf.to("cpu", torch.bfloat16)
    clf.save_pretrained(clf_dir)
    save_tokenizer(tok, clf_dir, a.max_len)
    recipe = {"args": vars(a), "tokenizer_vocab": tok.get_vocab_size(),
              "parameters": sum(p.numel() for p in enc.parameters()), "mlm": mlm_stats,
              "contrastive": con_stats, "classifier": clf_stats,
              "total_seconds": round(time.time() - t_start, 1),
              "torch": torch.__version__, "device": torch.cuda.get_device_name() if dev == "cuda"
              else "cpu"}
    import transformers
    recipe["transformers"] = transformers.__version__
    model_card.write_embed_card(embed_dir, recipe)
    model_card.write_classifier_card(clf_dir, recipe)
    ref = references(embed_dir, clf_dir)
    ref["embed_model"], ref["classifier_model"] = "embed", "finsent"
    with open(os.path.join(a.out, "reference_outputs.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, ensure_ascii=False)
    with open(os.path.join(a.out, "recipe.json"), "w") as f:
        json.dump(recipe, f, indent=2)
    log(f"done in {time.time() - t_start:.0f} s; st diff {ref['sentence_transformers_max_abs_diff']}; "
        f"ids equal tokenizers lib: {ref['ids_equal_tokenizers_lib']}")


if __name__ == "__main__":
    main()
