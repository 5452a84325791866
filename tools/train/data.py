"""Loading the training data of the shipped models from a copy of ../shared/data.

Every function reads only TRAIN material. Held out (never read here): SciFact's test queries and
qrels, all CMRC2018 queries and qrels (the copy is derived from CMRC's dev split; there is no train
split), the 20% test split of Financial PhraseBank and fincuge-finfe's eval_list.json.
"""
import hashlib
import json
import os
import re


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def medquad_pairs(root):
    """(question, answer) of MedQuAD rows with a non-empty answer (deduplicated)."""
    seen, out = set(), []
    for d in _jsonl(os.path.join(root, "corpora/medquad/medquad_qa.jsonl")):
        q, a = (d.get("question") or "").strip(), (d.get("answer") or "").strip()
        if q and a and (q, a) not in seen:
            seen.add((q, a))
            out.append((q, a))
    return out


def zh_medical_pairs(root):
    """(title + ask, answer) of the Chinese medical dialogues (both files, deduplicated)."""
    folder = os.path.join(root, "corpora/chinese-medical-dialogue")
    seen, out = set(), []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".jsonl"):
            continue
        for d in _jsonl(os.path.join(folder, name)):
            title, ask = (d.get("title") or "").strip(), (d.get("ask") or "").strip()
            a = (d.get("answer") or "").strip()
            q = title if not ask or ask == title else title + " " + ask
            if q and a and (q, a) not in seen:
                seen.add((q, a))
                out.append((q, a))
    return out


def beir_corpus(folder):
    """{doc id: 'title. text'} of a BEIR corpus.jsonl."""
    docs = {}
    for d in _jsonl(os.path.join(folder, "corpus.jsonl")):
        title, text = (d.get("title") or "").strip(), (d.get("text") or "").strip()
        docs[str(d["_id"])] = (title + ". " + text) if title else text
    return docs


def scifact_train_pairs(root):
    """(query, relevant abstract) of SciFact's TRAIN qrels only."""
    folder = os.path.join(root, "retrieval/scifact")
    docs = beir_corpus(folder)
    queries = {str(d["_id"]): d["text"] for d in _jsonl(os.path.join(folder, "queries.jsonl"))}
    out = []
    with open(os.path.join(folder, "qrels/train.tsv"), encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            if int(score) > 0 and qid in queries and did in docs:
                out.append((queries[qid], docs[did]))
    return out


def corpus_self_pairs(root, rng, per_doc=3):
    """Unsupervised pairs from the DOCUMENTS of the retrieval corpora (no query, no qrel): a
    SciFact title -> its abstract, and a sentence of a CMRC paragraph -> the rest of the
    paragraph (the inverse cloze task). `per_doc` sentences are drawn per CMRC paragraph.
    Returns (English pairs, Chinese pairs)."""
    out, zh = [], []
    sf = os.path.join(root, "retrieval/scifact")
    for d in _jsonl(os.path.join(sf, "corpus.jsonl")):
        title, text = (d.get("title") or "").strip(), (d.get("text") or "").strip()
        if title and text:
            out.append((title, text))
    for d in _jsonl(os.path.join(root, "retrieval/cmrc2018-zh/corpus.jsonl")):
        text = (d.get("text") or "").strip()
        sents = [s for s in re.split(r"(?<=[。！？])", text) if len(s.strip()) >= 8]
        if len(sents) < 3:
            continue
        for i in rng.sample(range(len(sents)), min(per_doc, len(sents))):
            rest = "".join(sents[:i] + sents[i + 1:])
            title = (d.get("title") or "").strip()
            zh.append((sents[i].strip(), (title + " " + rest) if title else rest))
    return out, zh


def corpus_texts(root, with_retrieval_docs=True):
    """Plain texts for the tokenizer and masked-language-model pretraining."""
    texts = []
    for q, a in medquad_pairs(root):
        texts += [q, a]
    for q, a in zh_medical_pairs(root):
        texts += [q, a]
    if with_retrieval_docs:
        texts += list(beir_corpus(os.path.join(root, "retrieval/scifact")).values())
        texts += list(beir_corpus(os.path.join(root, "retrieval/cmrc2018-zh")).values())
    return texts


LABELS = ["negative", "neutral", "positive"]


def in_hash_share(text, seed, share):
    # A stable hash split: the same sentence always lands on the same side, whatever the order.
    h = hashlib.sha256((str(seed) + "\x00" + text).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64 < share


def phrasebank_splits(root, seed=0, test_share=0.2):
    """Financial PhraseBank (Sentences_50Agree: every sentence, majority label) -> (train, test)
    lists of (text, label id); 20% by a stable hash of the text is held out."""
    path = os.path.join(root, "classification/financial-phrasebank/Sentences_50Agree.txt")
    rows, seen = [], set()
    with open(path, encoding="latin-1") as f:
        for line in f:
            line = line.strip()
            if not line or "@" not in line:
                continue
            text, label = line.rsplit("@", 1)
            text = text.strip()
            if text in seen or label not in LABELS:
                continue
            seen.add(text)
            rows.append((text, LABELS.index(label)))
    train = [r for r in rows if not in_hash_share(r[0], seed, test_share)]
    test = [r for r in rows if in_hash_share(r[0], seed, test_share)]
    return train, test


def finfe_splits(root):
    """fincuge-finfe: train_list.json -> train, eval_list.json -> held-out test (0 negative,
    1 neutral, 2 positive, the same ids as LABELS)."""
    folder = os.path.join(root, "classification/fincuge-finfe")

    def load(name):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            return [(str(t).strip(), int(y)) for t, y in json.load(f) if str(t).strip()]

    return load("train_list.json"), load("eval_list.json")
