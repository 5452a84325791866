// HF tokenizers side of `deepfuse bench tokenizer`: loads a tokenizer.json, encodes every line
// of a corpus file (no special tokens) and prints one JSON object with load and encode times.
// Usage: node bench_hf.js TOKENIZER_JSON CORPUS_FILE [THREADS]
// THREADS=1 (default) sets TOKENIZERS_PARALLELISM=false / RAYON_NUM_THREADS=1 so encodeBatch
// runs serially in Rust; documents are sent in batches of 256 to keep the JS<->Rust crossing
// out of the measurement.
const threads = Number(process.argv[4] || 1);
if (threads === 1) process.env.TOKENIZERS_PARALLELISM = 'false';
process.env.RAYON_NUM_THREADS = String(threads);
const {Tokenizer} = require('@anush008/tokenizers');
const fs = require('fs');

(async () => {
  const [tokPath, corpusPath] = process.argv.slice(2, 4);
  const lines = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l.length > 0);
  const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l, 'utf8'), 0);
  let t0 = process.hrtime.bigint();
  const json = fs.readFileSync(tokPath, 'utf8');
  const tok = Tokenizer.fromString(json);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let tokens = 0;
  for (let i = 0; i < lines.length; i += 256) {
    const encs = await tok.encodeBatch(lines.slice(i, i + 256), {addSpecialTokens: false});
    for (const e of encs) tokens += e.getLength();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;  // whole process: JS thread + Rust
  console.log(JSON.stringify({load_ms: loadMs, encode_s: secs, mb_per_s: bytes / 1e6 / secs,
    encode_cpu_s: cpuS, mb_per_cpu_s: bytes / 1e6 / cpuS,
    tokens, bytes, threads}));
})().catch((e) => { console.error(e); process.exit(1); });
