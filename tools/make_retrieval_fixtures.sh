#!/usr/bin/env bash
# Builds tests/fixtures/retrieval/kb_v1/kb.sqlite: a small knowledge base written by this build
# (format version 1) from tests/fixtures/retrieval/kb_v1_docs.jsonl. It is committed so later
# builds are tested against the old on-disk format (KnowledgeBase.FormatVersionAndCorruptFiles).
# Usage: tools/make_retrieval_fixtures.sh [BUILD_DIR]   (needs the test_retrieval target built)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
out="$root/tests/fixtures/retrieval"
rm -rf "$out/kb_v1"
DEEPFUSE_WRITE_KB_FIXTURE="$out/kb_v1" "$build/tests/test_retrieval" \
  --gtest_filter=Fixtures.WriteKbV1
# Closing the last connection checkpoints the WAL; keep only the database file.
rm -f "$out/kb_v1/kb.sqlite-wal" "$out/kb_v1/kb.sqlite-shm"
ls -l "$out/kb_v1"
