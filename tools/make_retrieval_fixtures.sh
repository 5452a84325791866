#!/usr/bin/env bash
# Builds tests/fixtures/retrieval/: a small knowledge base written by this build (format
# version 1), kept so that later builds are tested against the old on-disk format, plus small
# input files for the ingestion tests. Usage: tools/make_retrieval_fixtures.sh [path/to/deepfuse]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/build/deepfuse}"
out="$root/tests/fixtures/retrieval"
mkdir -p "$out"
cat > "$out/kb_v1_docs.jsonl" <<'JSONL'
{"id": "med-1", "title": "Aspirin", "text": "Aspirin reduces fever, pain and inflammation.", "domain": "medical", "date": "2023-04-02", "source": "fixture"}
{"id": "fin-1", "title": "Rates", "text": "The central bank raised interest rates again; aspirin makers' shares fell.", "domain": "finance", "year": 2021}
{"id": "zh-1", "title": "北京", "text": "北京是中华人民共和国的首都。", "domain": "geo", "date": "2020-01-01"}
JSONL
rm -rf "$out/kb_v1"
"$bin" kb ingest --kb "$out/kb_v1" "$out/kb_v1_docs.jsonl"
# Closing the last connection checkpoints the WAL; keep only the database file.
rm -f "$out/kb_v1/kb.sqlite-wal" "$out/kb_v1/kb.sqlite-shm"
ls -l "$out/kb_v1"
