"""Model cards (README.md) of the shipped models, written from the training run's recipe."""
import json
import os

DATA = """| data | used for | licence |
|---|---|---|
| MedQuAD (NIH), medquad_qa.jsonl: 16k question-answer pairs with an answer | tokenizer, MLM, contrastive pairs | CC BY 4.0 |
| Chinese medical dialogues (IM_neike + sample_IM files) | tokenizer, MLM, contrastive pairs | MIT |
| SciFact corpus (5,183 abstracts) and its TRAIN queries/qrels | tokenizer, MLM, unsupervised title->abstract pairs; train query->abstract pairs | CC BY-NC 2.0 (SciFact) |
| CMRC 2018 paragraphs (848, the corpus of cmrc2018-zh) | tokenizer, MLM, unsupervised sentence->paragraph pairs (no question, no answer, no qrel) | CC BY-SA 4.0 |
| Financial PhraseBank v1.0 (Sentences_50Agree), 80% hash split | classifier training (and MLM text) | CC BY-NC-SA 3.0 |
| fincuge-finfe train_list.json | classifier training (and MLM text) | as published with BBT-FinCUGE (research use) |
"""

HELD_OUT = """Held out (never seen in any training stage): SciFact's 300 test queries and their qrels; all
3,219 CMRC2018 questions and their qrels (the only CMRC split here is derived from its dev split,
so no CMRC question is used at all); the 20% test split of Financial PhraseBank (sha256 of
seed + sentence); fincuge-finfe's eval_list.json. The *documents* of the two retrieval corpora
are in the unsupervised text (tokenizer, MLM, title/sentence pairs), as a deployment adapts to
the collection it indexes; `--no-corpus-pairs` leaves the pairs out."""


def _arch(r):
    a = r["args"]
    return (f"BERT (post-LN), vocab {r['tokenizer_vocab']}, hidden {a['hidden']}, {a['layers']} "
            f"layers, {a['heads']} heads, intermediate {a['intermediate']}, max {a['max_len']} "
            f"positions, {r['parameters'] / 1e6:.2f} M parameters, bf16 weights")


def _recipe(r):
    a, m, c = r["args"], r["mlm"], r["contrastive"]
    return f"""1. WordPiece tokenizer ({r['tokenizer_vocab']} tokens, BERT normaliser: lower case,
   accents stripped, CJK characters split; HF `tokenizers`) trained on all the text above.
2. Masked-language-model pretraining from random weights: {m['steps']} steps of
   {m['batch']} x {m['block']}-token packed blocks ({m['tokens']} tokens of text), 15% masking
   (80/10/10), AdamW lr {a['mlm_lr']} (6% warm-up, linear decay), bf16 autocast; final loss
   {m['final_loss']}.
3. Contrastive training: mean pooling, L2-normalised, symmetric InfoNCE with in-batch negatives
   (temperature {c['temperature']}), batches of {c['batch']} drawn from one source at a time,
   {c['steps']} steps, lr {c['lr']}; pairs per source: {json.dumps(c['pairs'])}
   (SciFact train pairs repeated {a['scifact_repeat']}x).
Seed {a['seed']}; torch {r['torch']}, transformers {r['transformers']} on {r['device']};
whole run {r['total_seconds']} s. Command:
`tools/train/pack_data.sh ../shared/data data.tar.xz` then
`python3 tools/train/train_shipped_models.py --data DIR --out OUT` (defaults; MLM steps are
fitted to a {a['mlm_seconds']} s budget: pass `--mlm-steps {m['steps']} --mlm-seconds 0` to repeat them)."""


def write_embed_card(folder, r):
    text = f"""# deepfuse-embed-small (bilingual zh/en sentence embeddings)

Trained from scratch by deepfuse's `tools/train/train_shipped_models.py` (issue 15). Architecture:
{_arch(r)}. Embedding = mean of the last hidden states, L2-normalised (sentence-transformers
files included), {r['args']['hidden']} dimensions. Shipped as the default of `deepfuse embed` and
of the knowledge base's dense and hybrid modes.

## Data and licences
{DATA}
{HELD_OUT}

## Recipe
{_recipe(r)}

## Scores
Retrieval scores through `deepfuse kb eval` (SciFact test, CMRC2018-zh) are in
docs/BENCHMARKS.md ("Shipped models"), measured after training, outside the training run.

## Licence
The weights are derived from the data above. SciFact is CC BY-NC 2.0, so treat this model as
non-commercial unless retrained without SciFact (`data.py`), and attribute MedQuAD (CC BY 4.0)
and CMRC 2018 (CC BY-SA 4.0).
"""
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


def write_classifier_card(folder, r):
    c = r["classifier"]
    rows = []
    for lang, s in c["scores"].items():
        rows.append(f"| {lang} | {s['model']['n']} | {s['model']['macro_f1']} | "
                    f"{s['model']['accuracy']} | {s['tfidf_logreg']['macro_f1']} | "
                    f"{s['tfidf_logreg']['accuracy']} |")
    text = f"""# deepfuse-finsent-small (financial sentiment, zh/en: negative / neutral / positive)

BertForSequenceClassification fine-tuned from the encoder of deepfuse-embed-small's run (same
tokenizer; the start, its MLM stage or its contrastive stage, is chosen on validation: here
`{c['start']}`) by `tools/train/train_shipped_models.py` (issue 15). Architecture: {_arch(r)}, plus BERT's pooler
and a 3-way linear head. Shipped as the default of `deepfuse classify`.

## Data and licences
{DATA}
{HELD_OUT}

## Recipe
Encoder: as deepfuse-embed-small (below). 10% of each train split (hash of the text) is kept as
a validation split. From each start (the MLM encoder, the contrastive encoder) up to {c['epochs']}
epochs over the rest of the English train split (repeated {c['en_repeat']}x) plus the Chinese one,
batch {c['batch']}, AdamW lr {c['lr']} (10% warm-up, linear decay), cross-entropy, bf16 autocast;
the start and the epoch with the best validation macro-F1 (mean of the languages) are kept:
{json.dumps(c['tried'])} -> start `{c['start']}`, epoch {c['best_epoch']}. The test splits are
scored once, at the end.

{_recipe(r)}

## Scores (held-out splits; the baseline is trained on the same train split in the same run)
| language | test n | macro-F1 | accuracy | TF-IDF + LR macro-F1 | TF-IDF + LR accuracy |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Baseline: scikit-learn TfidfVectorizer (English: word 1-2 grams; Chinese: character 1-3 grams,
sublinear tf) + LogisticRegressionCV (C in 0.3..30 by 5-fold CV on the train split, macro-F1).

## Licence: NON-COMMERCIAL
Financial PhraseBank is CC BY-NC-SA 3.0: a model trained on it is an adaptation of it, so this
classifier may be used for research and evaluation only, not commercially, must credit Malo et
al. (2014), and any redistribution of it (or of a model derived from it) must carry the same
licence. A commercial deployment must retrain without Financial PhraseBank (or obtain a licence
from its authors). SciFact (CC BY-NC 2.0) in the encoder's pretraining adds the same
non-commercial condition.
"""
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)
