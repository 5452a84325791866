#!/usr/bin/env bash
# The GPU-machine call: unpack the data (pack_data.sh's tar.xz), check the pipeline with --tiny,
# then train for real; results go to $OUT as a few files (the call returns at most 8).
# Usage: tools/train/run_on_device.sh DATA.tar.xz [train_shipped_models.py flags...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pack=$1; shift
out=${OUT:-/tmp/out}
mkdir -p /tmp/shipped_data /tmp/tiny /tmp/full "$out"
python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$pack" /tmp/shipped_data
export PYTHONUNBUFFERED=1
python3 "$here/train_shipped_models.py" --data /tmp/shipped_data --out /tmp/tiny --tiny \
  > "$out/tiny.log" 2>&1 || { tail -40 "$out/tiny.log"; exit 1; }
echo "tiny run ok"
python3 "$here/train_shipped_models.py" --data /tmp/shipped_data --out /tmp/full "$@" 2>&1 \
  | tee "$out/train.log"
tar -C /tmp/full -cf "$out/embed.tar" embed
tar -C /tmp/full -cf "$out/finsent.tar" finsent
cp /tmp/full/reference_outputs.json /tmp/full/recipe.json "$out/"
