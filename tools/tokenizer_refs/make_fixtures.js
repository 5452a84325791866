// Generates tokenizer parity fixtures with HF tokenizers (Rust, through the napi package
// @anush008/tokenizers 0.22). Run: tools/tokenizer_refs/run.sh make_fixtures.js (npm ci first)
// Writes ../../tests/fixtures/tokenizer/{corpus.json, ref_<name>.json, synthetic/*.json,
// test_vectors.json}.
//
// Reference conventions (see docs/DECISIONS.md "Tokenizer parity fixtures"):
// - ids "with special tokens" follow transformers' AutoTokenizer: for Llama-family tokenizer
//   classes (LlamaTokenizerFast...) transformers replaces the post-processor with a template
//   adding BOS (add_bos_token, default true) / EOS (add_eos_token, default false); we apply
//   the same rewrite to the JSON before loading it here.
// - bert-base-chinese has only vocab.txt: we build the tokenizer.json transformers'
//   BertConverter would build (BertNormalizer, BertPreTokenizer, WordPiece, [CLS]/[SEP]).
// - gpt2's tokenizer.json has no model "type" and one merge ("ĠCla ude", index 40303) whose
//   result is not in the vocabulary (the vocab holds "ĠLLMProvider" at that id): HF 0.22
//   rejects the file. deepfuse skips such merges (they can never produce a token, warning
//   logged); the reference is HF on the same file with "type": "BPE" and that merge removed.
// - invalid UTF-8: a JS string cannot hold invalid bytes; the bytes are decoded with
//   Buffer.toString('utf8') (each maximal ill-formed subpart -> U+FFFD), which is what
//   deepfuse does to invalid input before tokenizing.
// - offsets are Unicode code-point offsets (what the napi binding reports).
const {Tokenizer} = require('@anush008/tokenizers');
const fs = require('fs');
const path = require('path');

const DATA = path.resolve(__dirname, '../../../shared/data/tokenizers');
const OUT = path.resolve(__dirname, '../../tests/fixtures/tokenizer');

const corpus = [
  {name: 'empty', text: ''},
  {name: 'english', text: 'Hello world! The quick brown fox jumps over the lazy dog.'},
  {name: 'english_contractions', text: "I'm sure it's what they've said: we'll see, won't we? He'd DON'T"},
  {name: 'leading_space', text: ' leading space and trailing space '},
  {name: 'chinese', text: '高血压患者能吃党参吗？我有高血压这两天女婿来的时候给我拿了些党参泡水喝。'},
  {name: 'japanese', text: '東京は日本の首都です。ひらがなとカタカナ、そして漢字。'},
  {name: 'korean', text: '안녕하세요, 세계! 한국어 텍스트입니다.'},
  {name: 'mixed_scripts', text: 'Café naïve résumé — Ελληνικά, русский, עברית, العربية, हिन्दी'},
  {name: 'code_python', text: 'def f(x):\n    return [i**2 for i in range(x) if i % 2 == 0]  # squares\n'},
  {name: 'code_cpp', text: 'int main() {\n\tstd::vector<int> v{1, 2, 3};\n\treturn v.size() > 2 ? 0 : 1;\n}'},
  {name: 'emoji', text: 'I love 🍕 and 👨‍👩‍👧‍👦 families! 🇫🇷 👍🏽 ✨'},
  {name: 'numbers', text: 'Pi is 3.14159265358979, 1234567 items cost $1,299.99 (12%) on 2024-01-31.'},
  {name: 'spaces', text: 'a  b   c    d     e      f'},
  {name: 'tabs_newlines', text: 'line1\n\nline2\t\ttabbed\r\nwindows\n\n\n   indented\n\t\n'},
  {name: 'only_whitespace', text: '   \n\t  '},
  {name: 'special_inside', text: 'before<|endoftext|>after <s> mid </s> [CLS] x [SEP] <|im_start|>user\nhi<|im_end|>'},
  {name: 'special_deepseek', text: '<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi<｜Assistant｜>Hello<｜end▁of▁sentence｜>'},
  {name: 'special_llama3', text: '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>'},
  {name: 'long_word', text: 'Pneumonoultramicroscopicsilicovolcanoconiosis ' + 'a'.repeat(300) + ' ' + 'xyz'.repeat(60)},
  {name: 'long_digits', text: '9'.repeat(120)},
  {name: 'punctuation', text: '!!! ??? ... --- *** ((( ))) {{{ }}} @@@ ### $$$ %%% ^^^ &&& ~~~ ``` \'\'\' """'},
  {name: 'accents_nfd', text: 'e\u0301 a\u0300 o\u0308 n\u0303 A\u030A ﬁ ① ℌ Ⅻ ｆｕｌｌｗｉｄｔｈ'},
  {name: 'control_chars', text: 'a\u0000b\u0001c\u200bd\u00ade\ufeff f\u2028g'},
  {name: 'unicode_spaces', text: 'a\u00a0b\u3000c\u2003d\u202fe'},
  {name: 'medical_en', text: 'What are the symptoms of Type 2 Diabetes? Frequent urination, increased thirst, and blurred vision (HbA1c ≥ 6.5%).'},
  {name: 'medical_zh', text: '高血压病人可以口服党参的。党参有降血脂，降血压的作用，可以彻底消除血液中的垃圾。'},
  {name: 'url_email', text: 'Visit https://example.com/path?q=1&r=two#frag or mail john.doe+tag@example.org'},
  {name: 'mixed_case', text: 'HELLO World hElLo WORLD McDonald iPhone XMLHttpRequest'},
  {name: 'apostrophes', text: "The dog's bone, the dogs' bones, 'quoted' and \u2019curly\u2019 \u201cquotes\u201d"},
  {name: 'invalid_utf8', hex: '48656c6c6f20ff20776f726c6420c328e282a820f09f98'},
  {name: 'invalid_utf8_2', hex: 'e4bda0e5a5bd80e4b8'},
  {name: 'lone_continuation', hex: '8080616263c0af'},
  // Characters a normalizer removes (U+FFFD from an invalid byte, NUL, controls) followed by
  // more tokens: the fuzz finding fuzz/findings/tokenizer_encode-offsets-after-removed-chars.bin.
  {name: 'removed_after_invalid', hex: Buffer.from("Hello world! Don't pa\xa3\x00c.", 'latin1').toString('hex')},
  // Spacing marks (Mc): HF's StripAccents removes every Mark, not only Mn.
  {name: 'indic_marks', text: '\u0939\u093f\u0928\u094d\u0926\u0940 \u0928\u092e\u0938\u094d\u0924\u0947 \u0ba4\u0bae\u0bbf\u0bb4\u0bcd \u0995\u09be \u0b15\u0b4b'},
  {name: 'removed_chars_mixed', text: '\u0000\u0001lead \u00dcn\u00efc\u00f6de\u0000 x\u0301y\u0007 pa\ufffd\u0000c. \ufeffz\u0000'},
];

function textOf(c) {
  return c.hex !== undefined ? Buffer.from(c.hex, 'hex').toString('utf8') : c.text;
}

function readJson(p) { return JSON.parse(fs.readFileSync(p, 'utf8')); }

// transformers' LlamaTokenizerFast.update_post_processor.
function llamaOverride(tok, cfg) {
  const cls = cfg.tokenizer_class || '';
  if (!/^(CodeLlama|Llama|Gemma)Tokenizer(Fast)?$/.test(cls)) return;
  const content = (t) => (t && typeof t === 'object') ? t.content : t;
  const bos = content(cfg.bos_token), eos = content(cfg.eos_token);
  const addBos = cfg.add_bos_token === undefined ? true : cfg.add_bos_token;
  const addEos = cfg.add_eos_token === undefined ? false : cfg.add_eos_token;
  const idOf = (t) => {
    const a = tok.added_tokens.find((x) => x.content === t);
    if (a) return a.id;
    return tok.model.vocab[t];
  };
  if ((addBos && bos == null) || (addEos && eos == null)) return;
  const sp = (id, type) => ({SpecialToken: {id, type_id: type}});
  const sq = (id, type) => ({Sequence: {id, type_id: type}});
  const single = [];
  if (addBos) single.push(sp(bos, 0));
  single.push(sq('A', 0));
  if (addEos) single.push(sp(eos, 0));
  const pair = single.slice();
  if (addBos) pair.push(sp(bos, 1));
  pair.push(sq('B', 1));
  if (addEos) pair.push(sp(eos, 1));
  const special = {};
  if (addBos) special[bos] = {id: bos, ids: [idOf(bos)], tokens: [bos]};
  if (addEos) special[eos] = {id: eos, ids: [idOf(eos)], tokens: [eos]};
  tok.post_processor = {type: 'TemplateProcessing', single, pair, special_tokens: special};
}

function bertChineseJson(dir, cfg) {
  const lines = fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = {};
  lines.forEach((l, i) => { vocab[l.replace(/\r$/, '')] = i; });
  const lower = cfg.do_lower_case === undefined ? true : cfg.do_lower_case;
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  return {
    version: '1.0',
    added_tokens: specials.map((s) => ({id: vocab[s], content: s, single_word: false, lstrip: false,
      rstrip: false, normalized: false, special: true})),
    normalizer: {type: 'BertNormalizer', clean_text: true,
      handle_chinese_chars: cfg.tokenize_chinese_chars !== false,
      strip_accents: cfg.strip_accents === undefined ? null : cfg.strip_accents, lowercase: lower},
    pre_tokenizer: {type: 'BertPreTokenizer'},
    post_processor: {type: 'TemplateProcessing',
      single: [{SpecialToken: {id: '[CLS]', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}},
        {SpecialToken: {id: '[SEP]', type_id: 0}}],
      pair: [{SpecialToken: {id: '[CLS]', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}},
        {SpecialToken: {id: '[SEP]', type_id: 0}}, {Sequence: {id: 'B', type_id: 1}},
        {SpecialToken: {id: '[SEP]', type_id: 1}}],
      special_tokens: {'[CLS]': {id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]']},
        '[SEP]': {id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]']}}},
    decoder: {type: 'WordPiece', prefix: '##', cleanup: true},
    model: {type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
      max_input_chars_per_word: 100, vocab},
  };
}

function loadRef(name) {
  const dir = path.join(DATA, name);
  const cfgPath = path.join(dir, 'tokenizer_config.json');
  const cfg = fs.existsSync(cfgPath) ? readJson(cfgPath) : {};
  let tok;
  if (name === 'bert-base-chinese') {
    tok = bertChineseJson(dir, cfg);
  } else {
    tok = readJson(path.join(dir, 'tokenizer.json'));
  }
  if (name === 'gpt2') {
    tok.model.type = 'BPE';
    const v = tok.model.vocab;
    tok.model.merges = tok.model.merges.filter((m) => {
      const [a, b] = m.split(' ');
      return (a + b) in v;
    });
  }
  llamaOverride(tok, cfg);
  // transformers' __call__ neither pads nor truncates unless asked (it disables the
  // tokenizer.json padding/truncation defaults, e.g. MiniLM's pad-to-128).
  tok.padding = null;
  tok.truncation = null;
  return Tokenizer.fromString(JSON.stringify(tok));
}

async function refCases(t, texts, withOffsets) {
  const cases = [];
  for (const text of texts) {
    const plain = await t.encode(text, null, {addSpecialTokens: false});
    const spec = await t.encode(text, null, {addSpecialTokens: true});
    const c = {ids: plain.getIds(), ids_special: spec.getIds()};
    if (withOffsets) c.offsets = plain.getOffsets();
    c.decoded = await t.decode(c.ids, false);
    c.decoded_special_skip = await t.decode(c.ids_special, true);
    cases.push(c);
  }
  return cases;
}

// Small hand-written tokenizer.json files covering the components the real tokenizers do not.
function synthetic() {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const wl = {'[UNK]': 0, '[CLS]': 1, '[SEP]': 2, '<s>': 3, '</s>': 4};
  const words = ['hello', 'world', 'the', 'quick', 'brown', 'fox', '!', ',', '.', '?', 'a', 'b',
    'c', '1', '2', '3', '12', '123', 'café', 'cafe', 'naive', 'élan', 'hi', 'x', 'y', 'z'];
  words.forEach((w) => { if (!(w in wl)) wl[w] = Object.keys(wl).length; });
  const uniPieces = [['<unk>', 0], ['<s>', 0], ['</s>', 0]];
  for (let b = 0; b < 256; b++) uniPieces.push(['<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>', 0]);
  const uniWords = ['▁', '▁hello', '▁world', 'hello', 'world', 'he', 'll', 'o', 'wor', 'ld', '▁the',
    '▁qu', 'ick', 'q', 'u', 'i', 'c', 'k', 't', 'h', 'e', 'l', 'w', 'r', 'd', '▁a', 'a', 'b', '▁b',
    'ab', '1', '2', '3', '12', '23', '.', ',', '!', '▁!', 'ñ', 'é', 'caf', 'café', '▁café', '東', '京'];
  uniWords.forEach((w, i) => uniPieces.push([w, -1 - (i % 7) * 0.75 - w.length * 0.1]));
  // BPE with continuing_subword_prefix / end_of_word_suffix (CharBPE style).
  const bv = {'<unk>': 0};
  const addv = (t) => { if (!(t in bv)) bv[t] = Object.keys(bv).length; };
  for (const ch of letters) { addv(ch); addv('##' + ch); addv(ch + '</w>'); addv('##' + ch + '</w>'); }
  const merges = [];
  const addm = (a, b) => {
    merges.push(a + ' ' + b);
    addv(a + (b.startsWith('##') ? b.slice(2) : b));
  };
  addm('h', '##e'); addm('he', '##l'); addm('l', '##o</w>'); addm('hel', '##l');
  addm('##l', '##o</w>'); addm('hell', '##o</w>'); addm('w', '##o'); addm('wo', '##r');
  addm('##l', '##d</w>'); addm('wor', '##ld</w>'); addm('t', '##h'); addm('th', '##e</w>');
  // A tiny SentencePiece precompiled charsmap (darts-clone double array) built by hand:
  // 'A' -> "a", 'é' (C3 A9) -> "e".
  const units = new Uint32Array(512);
  const unit = (offset, label, leaf) => ((offset << 10) | (leaf ? 1 << 8 : 0) | label) >>> 0;
  units[0] = unit(1, 0, false);  // root: children at 1 ^ byte
  let p = 1 ^ 0x41;
  units[p] = unit(1, 0x41, true);
  units[p ^ 1] = (0x80000000 | 0) >>> 0;  // value: offset 0 in the normalized blob
  p = 1 ^ 0xC3;
  units[p] = unit(256, 0xC3, false);
  const q = (p ^ 256) ^ 0xA9;
  units[q] = unit(1, 0xA9, true);
  units[q ^ 1] = (0x80000000 | 2) >>> 0;  // offset 2: "e"
  const normBytes = Buffer.from('a\0e\0', 'binary');
  const head = Buffer.alloc(4);
  head.writeUInt32LE(units.length * 4);
  const charsmap = Buffer.concat([head, Buffer.from(units.buffer), normBytes]).toString('base64');
  const added = (id, content, o) => Object.assign({id, content, single_word: false, lstrip: false,
    rstrip: false, normalized: false, special: false}, o);
  return {
    wordlevel_whitespace: {
      version: '1.0', added_tokens: [added(1, '[CLS]', {special: true}), added(2, '[SEP]', {special: true})],
      normalizer: {type: 'Sequence', normalizers: [{type: 'NFKD'}, {type: 'StripAccents'}, {type: 'Lowercase'}]},
      pre_tokenizer: {type: 'Whitespace'},
      post_processor: {type: 'BertProcessing', sep: ['[SEP]', 2], cls: ['[CLS]', 1]},
      decoder: null, model: {type: 'WordLevel', vocab: wl, unk_token: '[UNK]'},
    },
    wordlevel_punct_digits: {
      version: '1.0', added_tokens: [added(3, '<s>', {special: true}), added(4, '</s>', {special: true})],
      normalizer: {type: 'Sequence', normalizers: [{type: 'Strip', strip_left: true, strip_right: true},
        {type: 'Replace', pattern: {Regex: '\\s+'}, content: ' '}, {type: 'NFC'}]},
      pre_tokenizer: {type: 'Sequence', pretokenizers: [{type: 'WhitespaceSplit'},
        {type: 'Punctuation', behavior: 'Isolated'}, {type: 'Digits', individual_digits: false}]},
      post_processor: {type: 'RobertaProcessing', sep: ['</s>', 4], cls: ['<s>', 3], trim_offsets: true, add_prefix_space: false},
      decoder: null, model: {type: 'WordLevel', vocab: wl, unk_token: '[UNK]'},
    },
    wordlevel_split_behaviors: {
      version: '1.0', added_tokens: [],
      normalizer: {type: 'Lowercase'},
      pre_tokenizer: {type: 'Sequence', pretokenizers: [
        {type: 'Split', pattern: {String: ' '}, behavior: 'Removed', invert: false},
        {type: 'Split', pattern: {Regex: '[,.!?]'}, behavior: 'MergedWithPrevious', invert: false},
        {type: 'Split', pattern: {Regex: '\\d'}, behavior: 'MergedWithNext', invert: false},
        {type: 'Split', pattern: {Regex: 'x+'}, behavior: 'Contiguous', invert: false},
        {type: 'Split', pattern: {Regex: '[a-z]+'}, behavior: 'Isolated', invert: true}]},
      post_processor: null, decoder: null, model: {type: 'WordLevel', vocab: wl, unk_token: '[UNK]'},
    },
    unigram_metaspace: {
      version: '1.0', added_tokens: [added(0, '<unk>', {special: true}), added(1, '<s>', {special: true}),
        added(2, '</s>', {special: true})],
      normalizer: {type: 'NFKC'},
      pre_tokenizer: {type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true},
      post_processor: {type: 'TemplateProcessing', single: [{Sequence: {id: 'A', type_id: 0}}, {SpecialToken: {id: '</s>', type_id: 0}}],
        pair: [{Sequence: {id: 'A', type_id: 0}}, {SpecialToken: {id: '</s>', type_id: 0}}, {Sequence: {id: 'B', type_id: 1}}, {SpecialToken: {id: '</s>', type_id: 1}}],
        special_tokens: {'</s>': {id: '</s>', ids: [2], tokens: ['</s>']}}},
      decoder: {type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true},
      model: {type: 'Unigram', unk_id: 0, vocab: uniPieces, byte_fallback: false},
    },
    unigram_bytefallback_first: {
      version: '1.0', added_tokens: [added(0, '<unk>', {special: true}), added(1, '<s>', {special: true}),
        added(2, '</s>', {special: true}), added(300, '<tool>', {special: false, lstrip: true, rstrip: true}),
        added(301, 'ab', {single_word: true, normalized: true})],
      normalizer: null,
      pre_tokenizer: {type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false},
      post_processor: null,
      decoder: {type: 'Sequence', decoders: [{type: 'Replace', pattern: {String: '▁'}, content: ' '},
        {type: 'ByteFallback'}, {type: 'Fuse'}, {type: 'Strip', content: ' ', start: 1, stop: 0}]},
      model: {type: 'Unigram', unk_id: 0, vocab: uniPieces, byte_fallback: true},
    },
    precompiled_wordlevel: {
      version: '1.0', added_tokens: [],
      normalizer: {type: 'Sequence', normalizers: [{type: 'Precompiled', precompiled_charsmap: charsmap}]},
      pre_tokenizer: {type: 'Whitespace'},
      post_processor: null, decoder: null, model: {type: 'WordLevel', vocab: wl, unk_token: '[UNK]'},
    },
    bpe_char_suffix: {
      version: '1.0', added_tokens: [],
      normalizer: {type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true},
      pre_tokenizer: {type: 'BertPreTokenizer'},
      post_processor: null,
      decoder: {type: 'BPEDecoder', suffix: '</w>'},
      model: {type: 'BPE', vocab: bv, merges, unk_token: '<unk>', continuing_subword_prefix: '##',
        end_of_word_suffix: '</w>', fuse_unk: true, byte_fallback: false},
    },
  };
}

// Offset alignment through every normalizer that removes, replaces or inserts characters. The
// model is a character-level WordPiece with no pre-tokenizer, so every normalized character is
// its own token and its offsets show the alignment of that one character.
const alignmentTexts = [
  "Hello world! Don't pa\ufffd\u0000c.", '\u0000\u0001abc', 'ab\u0000\u0001', 'a\ufffd\ufffdb\u0007c',
  '\ufffd', '\u0000', 'e\u0301x y\u0301 A\u030a\u0323b', 'caf\u00e9 na\u00efve \u00c5ngstr\u00f6m',
  '  lead and trail  ', '\t\u0000 x \u0000\t', '\ufb01x \u2460 \u216b \uff46\uff55\uff4c\uff4c',
  '\u0130stanbul \u03a3\u0391\u03a3 stra\u00dfe', '\u4e2d\u6587abc\u65e5\u672c', "ab``cd''x q qq xq 123 4",
  'a\u200bb\u00adc\ufeffd', 'x\r\ny\u2028z\u0085w', 'A\u00e9 \u00e9A AA', 'a   b\t\t\tc',
  // Reordering and composition: U+0344 decomposes to two marks; \u00c5 + dot below reorders;
  // Hangul jamo compose (and a syllable decomposes); U+0B47 U+0B3E are two composing starters;
  // singletons (U+212B, U+2126); long compatibility expansions (U+3392, U+FDFA); a leading mark.
  'A\u0344\u0323b', '\u00c5\u0323x \u212b \u2126', '\u1100\u1161\u11a8 \uac00\u11a8 \ud55c',
  '\u0b47\u0b3e \u0b4b', '\u3392 \ufdfa y', '\u0301abc', 'q\u0307\u0323 e\u0301\u0301',
  '\ufb01\u0308 \u1e9b\u0323', 'a\u0000\u0301b \u00e9\u0000\u0301',
];

function alignmentTokenizers(charsmap) {
  const chars = new Set();
  const addChars = (t) => { for (const ch of t) chars.add(ch); };
  for (const t of alignmentTexts) {
    for (const f of ['NFC', 'NFD', 'NFKC', 'NFKD']) {
      addChars(t.normalize(f));
      addChars(t.normalize(f).toLowerCase());
    }
  }
  addChars('\u2581"XyzX#e ');
  const vocab = {'[UNK]': 0};
  for (const ch of [...chars].sort()) {
    vocab[ch] = Object.keys(vocab).length;
    vocab['##' + ch] = Object.keys(vocab).length;
  }
  const tok = (normalizer) => ({
    version: '1.0', added_tokens: [], normalizer, pre_tokenizer: null, post_processor: null,
    decoder: null, model: {type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
      max_input_chars_per_word: 1000, vocab},
  });
  const rep = (pattern, content) => ({type: 'Replace', pattern, content});
  return {
    align_bert: tok({type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true,
      strip_accents: true, lowercase: true}),
    align_bert_clean_only: tok({type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true,
      strip_accents: false, lowercase: false}),
    align_replace: tok({type: 'Sequence', normalizers: [rep({Regex: '\\s+'}, ' '),
      rep({String: '``'}, '"'), rep({String: "''"}, '"'), rep({String: 'ab'}, 'X'),
      rep({String: 'q'}, ''), rep({String: 'x'}, 'yz'), rep({Regex: '[0-9]+'}, '#')]}),
    align_strip_prepend: tok({type: 'Sequence', normalizers: [{type: 'Strip', strip_left: true,
      strip_right: true}, {type: 'Prepend', prepend: '\u2581'}, rep({String: ' '}, '\u2581')]}),
    align_nfkd_strip_lower: tok({type: 'Sequence', normalizers: [{type: 'NFKD'},
      {type: 'StripAccents'}, {type: 'Lowercase'}]}),
    align_nfd_strip: tok({type: 'Sequence', normalizers: [{type: 'NFD'}, {type: 'StripAccents'}]}),
    align_nfkc: tok({type: 'NFKC'}),
    align_nfc_lower: tok({type: 'Sequence', normalizers: [{type: 'NFC'}, {type: 'Lowercase'}]}),
    align_precompiled: tok({type: 'Sequence', normalizers: [{type: 'Precompiled',
      precompiled_charsmap: charsmap}, rep({String: ' '}, '\u2581')]}),
  };
}

const syntheticTexts = [
  '', 'hello world', 'Hello, World! The quick brown fox.', 'café naïve élan CAFÉ',
  'x 12 123 1234 a1b2c3', '  hello   world  ', 'hello.world,the!fox?', 'xxx axxb yy',
  'hello<tool>world <tool> x', 'ab abc ab, xab ab', '東京 京都 ñ', 'zzz qqq 😀',
  'hello\tworld\nthe', 'ﬁ ① Ⅻ ｆｏｘ', 'cAfé Aé éA A', 'CAFÉ élan',
];

(async () => {
  fs.mkdirSync(path.join(OUT, 'synthetic'), {recursive: true});
  fs.writeFileSync(path.join(OUT, 'corpus.json'), JSON.stringify(corpus, null, 0) + '\n');
  const texts = corpus.map(textOf);
  const names = ['deepseek-v3', 'qwen3', 'llama3', 'llama2', 'gpt2', 'smollm2-135m-instruct',
    'bert-base-uncased-minilm', 'bert-base-chinese'];
  for (const name of names) {
    const t = loadRef(name);
    const cases = await refCases(t, texts, true);
    fs.writeFileSync(path.join(OUT, `ref_${name}.json`),
      JSON.stringify({tokenizer: name, generator: '@anush008/tokenizers 0.6.0 (HF tokenizers 0.22.2)', cases}) + '\n');
    console.log('wrote', name, cases.length);
  }
  const syn = synthetic();
  const align = alignmentTokenizers(
      syn.precompiled_wordlevel.normalizer.normalizers[0].precompiled_charsmap);
  for (const [name, j, texts] of [
    ...Object.entries(syn).map(([n, j]) => [n, j, syntheticTexts]),
    ...Object.entries(align).map(([n, j]) => [n, j, alignmentTexts])]) {
    const t = Tokenizer.fromString(JSON.stringify(j));
    const cases = await refCases(t, texts, true);
    fs.writeFileSync(path.join(OUT, 'synthetic', `${name}.json`), JSON.stringify(j) + '\n');
    fs.writeFileSync(path.join(OUT, 'synthetic', `${name}.ref.json`),
      JSON.stringify({texts, cases}) + '\n');
    console.log('wrote synthetic', name);
  }
  // llama.cpp test vectors: which of our tokenizers has the same vocabulary, and does HF agree
  // with the .out ids (generated by llama.cpp from HF AutoTokenizer, add_special_tokens=False)?
  const tvDir = path.join(DATA, 'test-vectors');
  const mapping = {'gpt-2': 'gpt2', 'bert-bge': 'bert-base-uncased-minilm'};
  const tv = {mapping, unmapped: {
    'llama-spm': 'shared/data llama2 has a different 32k SentencePiece vocabulary (U+2581 is id 28705 there, 29871 in llama-spm): the ids cannot match',
  }, agreement: {}};
  for (const f of fs.readdirSync(tvDir).filter((x) => x.endsWith('.inp'))) {
    const key = f.replace(/^ggml-vocab-/, '').replace(/\.gguf\.inp$/, '');
    if (!(key in mapping)) { if (!(key in tv.unmapped)) tv.unmapped[key] = 'no tokenizer with this vocabulary in shared/data'; continue; }
    const inp = fs.readFileSync(path.join(tvDir, f), 'utf8').split('\n__ggml_vocab_test__\n');
    inp.pop();
    const out = fs.readFileSync(path.join(tvDir, f.replace('.inp', '.out')), 'utf8').split('\n');
    const t = loadRef(mapping[key]);
    const agree = [];
    for (let i = 0; i < inp.length; i++) {
      const ids = (await t.encode(inp[i], null, {addSpecialTokens: false})).getIds();
      const exp = out[i].trim() === '' ? [] : out[i].trim().split(/\s+/).map(Number);
      agree.push(JSON.stringify(ids) === JSON.stringify(exp));
    }
    tv.agreement[key] = agree;
    console.log('test vectors', key, agree.filter((x) => x).length, '/', agree.length);
  }
  fs.writeFileSync(path.join(OUT, 'test_vectors.json'), JSON.stringify(tv) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
