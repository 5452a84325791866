#!/usr/bin/env bash
# Packs the TRAINING data of the shipped models from ../shared/data into one tar.xz for the GPU
# machine (which cannot read ../shared). Evaluation material is left out on purpose: SciFact's
# queries are filtered to those of qrels/train.tsv, no CMRC2018 query or qrel is packed, and
# fincuge-finfe's eval_list.json travels only because the script evaluates on it (never trains).
# Usage: tools/train/pack_data.sh [SHARED_DATA_DIR] OUT.tar.xz
set -euo pipefail
src=${1:-../shared/data}
out=${2:?usage: pack_data.sh [SHARED_DATA_DIR] OUT.tar.xz}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
cp --parents corpora/medquad/medquad_qa.jsonl corpora/chinese-medical-dialogue/*.jsonl \
  retrieval/scifact/corpus.jsonl retrieval/scifact/qrels/train.tsv retrieval/cmrc2018-zh/corpus.jsonl \
  classification/financial-phrasebank/Sentences_50Agree.txt \
  classification/fincuge-finfe/train_list.json classification/fincuge-finfe/eval_list.json "$tmp"/
python3 - "$src/retrieval/scifact" "$tmp/retrieval/scifact/queries.jsonl" <<'EOF'
import json, sys
folder, out = sys.argv[1], sys.argv[2]
train = {l.split("\t")[0] for l in list(open(folder + "/qrels/train.tsv"))[1:]}
with open(out, "w") as w:
    for line in open(folder + "/queries.jsonl"):
        if json.loads(line)["_id"] in train:
            w.write(line)
EOF
mkdir -p "$(dirname "$out")"
tar -C "$tmp" -cf - . | xz -9 -T2 > "$out"
