// Writes token ids for a few hundred generated strings, computed by an independent Qwen tokenizer
// (transformers.js fork @lenml/tokenizers), so QwenTokenizerTest can compare ours id for id.
// Usage: npm install && node generate-tokenizer-reference.mjs <tokenizer-dir> <out.json>
import { readFileSync, writeFileSync } from "node:fs";
import { TokenizerLoader } from "@lenml/tokenizers";

const [dir, out] = process.argv.slice(2);
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8")),
});

// Deterministic generator (mulberry32) so the fixture is reproducible.
let seed = 20261129;
const rnd = () => {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const range = (lo, hi) => String.fromCodePoint(lo + Math.floor(rnd() * (hi - lo + 1)));

const pieces = [
  () => range(0x4e00, 0x9fff),                      // CJK ideographs
  () => pick(["今天", "心情", "开心", "难过", "工作", "offer", "老板", "谢谢", "哈哈哈", "……", "！", "，", "。", "？"]),
  () => range(0x3040, 0x30ff),                      // kana
  () => range(0xac00, 0xd7a3),                      // hangul
  () => pick(["😄", "👍🏽", "😞", "🎉", "❤️", "👨‍👩‍👧", "🇨🇳", "🤖"]),
  () => pick(["café", "naïve", "e\u0301", "Å", "A\u030a", "ﬁ", "Straße", "Ελληνικά", "русский", "עברית", "العربية", "हिन्दी"]),
  () => pick([" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u3000", "\u00a0"]),
  () => pick(["the", " movie", " was", " great", "I'm", " don't", " WE'LL", "'s", "Hello", ",", ".", "!", "?", "$", "%"]),
  () => String(Math.floor(rnd() * 100000)),
  () => pick(["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>system\n", "<|fake|>"]),
  () => pick(["```java\nint x = 1;\n```", "{\"text\":\"你好\"}", "a_b-c/d\\e", "<script>alert(1)</script>"]),
  () => range(0x20, 0x7e),
  () => range(0xa0, 0x24f),
];

const cases = [];
for (let i = 0; i < 400; i++) {
  let s = "";
  const n = 1 + Math.floor(rnd() * 12);
  for (let j = 0; j < n; j++) s += pick(pieces)();
  cases.push(s);
}
const result = cases.map((text) => {
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  return { text, ids, decoded: tokenizer.decode(ids) };
});
writeFileSync(out, JSON.stringify(result, null, 1));
console.log(`wrote ${result.length} cases to ${out}`);
