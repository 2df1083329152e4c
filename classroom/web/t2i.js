/* The course's text-to-image pipeline in the browser, on ONNX Runtime Web (the global `ort`).
 *
 * The same steps as pipelines.load_text_to_image() in Python (course_utils/web.py exports the networks):
 *   1. tokenize: BERT's uncased WordPiece, padded to config.max_tokens     (tokenize)
 *   2. encode the prompt and "" with the text encoder                        (CourseT2I.generate)
 *   3. start from seeded noise, mulberry32 + Box-Muller as web.noise       (noise)
 *   4. DDIM with classifier-free guidance                                  (timesteps, ddimStep)
 *   5. decode the latents with the VAE decoder, to 8-bit pixels            (toPixels)
 * Also loaded by Node in tests/test_web_js.py, which checks it against the Python side. */
(function (root) {
  "use strict";

  // ------------------------------------------------------------------------------------ 1. tokenizer
  // What Hugging Face's BertNormalizer + BertPreTokenizer + WordPiece do for all-MiniLM-L6-v2.
  const CONTROL = /\p{C}/u;                                   // removed (\t \n \r are whitespace first)
  const SPACE = /[\t\n\r \p{Zs}\u2028\u2029]/u;
  const PUNCT = /[!-\/:-@\[-`{-~]|\p{P}/u;
  const MARK = /\p{Mn}/u;

  function isChinese(cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
      (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
      (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  function normalize(text) {
    let out = "";
    for (const ch of text) {
      const cp = ch.codePointAt(0);
      if (cp === 0 || cp === 0xFFFD || (CONTROL.test(ch) && !"\t\n\r".includes(ch))) continue;
      out += SPACE.test(ch) ? " " : isChinese(cp) ? ` ${ch} ` : ch;
    }
    out = [...out.normalize("NFD")].filter((ch) => !MARK.test(ch)).join("");     // strip accents
    return out.toLowerCase();
  }

  function words(text) {                                       // split on spaces, punctuation on its own
    const out = [];
    let cur = "";
    for (const ch of text) {
      if (SPACE.test(ch)) { if (cur) out.push(cur); cur = ""; }
      else if (PUNCT.test(ch)) { if (cur) out.push(cur); out.push(ch); cur = ""; }
      else cur += ch;
    }
    if (cur) out.push(cur);
    return out;
  }

  function wordPiece(word, vocab, unk) {                       // greedy longest match first, "##" inside
    const chars = [...word];
    if (chars.length > 100) return [unk];
    const ids = [];
    for (let start = 0; start < chars.length;) {
      let end = chars.length, id;
      for (; end > start; end--) {
        const piece = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
        if (vocab.has(piece)) { id = vocab.get(piece); break; }
      }
      if (id === undefined) return [unk];
      ids.push(id);
      start = end;
    }
    return ids;
  }

  /** {ids, mask}: [CLS] tokens [SEP], cut and padded to cfg.max_tokens, as the Python pipeline pads. */
  function tokenize(text, vocab, cfg) {
    const L = cfg.max_tokens;
    const body = words(normalize(text)).flatMap((w) => wordPiece(w, vocab, cfg.unk)).slice(0, L - 2);
    const ids = [cfg.cls, ...body, cfg.sep];
    const mask = ids.map(() => 1);
    while (ids.length < L) { ids.push(cfg.pad); mask.push(0); }
    return { ids, mask };
  }

  // ------------------------------------------------------------------------------------ 3. noise
  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t = ((t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t) >>> 0;
      return (t ^ (t >>> 14)) >>> 0;
    };
  }

  /** n standard normal floats from seed in [0, 2^32): the numbers web.noise(seed) draws in Python. */
  function noise(seed, n) {
    const next = mulberry32(seed), out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u1 = (next() + 0.5) / 4294967296, u2 = (next() + 0.5) / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------ 4. DDIM
  function roundHalfEven(x) {                                   // numpy's round, as diffusers uses it
    const f = Math.floor(x), d = x - f;
    return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
  }

  /** DDIMScheduler.set_timesteps(n).timesteps for the config's spacing, first to last. */
  function timesteps(cfg, n) {
    const T = cfg.num_train_timesteps, out = [];
    for (let k = 0; k < n; k++) {
      out.push(cfg.timestep_spacing === "trailing" ? roundHalfEven(T - (k * T) / n) - 1
        : (n - 1 - k) * Math.floor(T / n) + cfg.steps_offset);
    }
    return out;
  }

  /** One DDIM step (eta = 0), as course_utils.diffusion.ddim_step: x_t -> x_(tPrev); tPrev < 0 is the end. */
  function ddimStep(pred, t, tPrev, x, cfg) {
    const abar = cfg.alphas_cumprod, a = abar[t];
    const ap = tPrev >= 0 ? abar[tPrev] : cfg.set_alpha_to_one ? 1 : abar[0];
    const sa = Math.sqrt(a), sb = Math.sqrt(1 - a), sap = Math.sqrt(ap), sbp = Math.sqrt(1 - ap);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      let x0, eps;
      if (cfg.prediction_type === "epsilon") { eps = pred[i]; x0 = (x[i] - sb * eps) / sa; }      // Ho et al. eq. 15
      else { x0 = sa * x[i] - sb * pred[i]; eps = sa * pred[i] + sb * x[i]; }                      // v-prediction
      out[i] = sap * x0 + sbp * eps;                                                                // Song et al. eq. 12
    }
    return out;
  }

  // ------------------------------------------------------------------------------------ 5. pixels
  /** (1, 3, H, W) in [-1, 1] -> RGBA bytes for a canvas, rounded as the Python side rounds. */
  function toPixels(img, H, W) {
    const rgba = new Uint8ClampedArray(H * W * 4);
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.min(1, Math.max(0, img[c * H * W + p] / 2 + 0.5));
        rgba[4 * p + c] = Math.round(v * 255);
      }
      rgba[4 * p + 3] = 255;
    }
    return rgba;
  }

  /** Latents (4, h, w) as a small RGBA picture: channels 0-2, each scaled to its own range. */
  function latentPixels(x, h, w) {
    const rgba = new Uint8ClampedArray(h * w * 4);
    for (let c = 0; c < 3; c++) {
      const ch = x.subarray(c * h * w, (c + 1) * h * w);
      let lo = Infinity, hi = -Infinity;
      for (const v of ch) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      for (let p = 0; p < h * w; p++) rgba[4 * p + c] = (255 * (ch[p] - lo)) / (hi - lo || 1);
    }
    for (let p = 0; p < h * w; p++) rgba[4 * p + 3] = 255;
    return rgba;
  }

  // ------------------------------------------------------------------------------------ the pipeline
  class CourseT2I {
    /** Load config.json, vocab.txt and the three networks from `base` (a folder URL ending in '/'). */
    static async load(base, ort) {
      const get = async (f) => { const r = await fetch(base + f); if (!r.ok) throw new Error(`${f}: ${r.status}`); return r; };
      const cfg = await (await get("config.json")).json();
      const vocab = new Map((await (await get("vocab.txt")).text()).split("\n").map((tok, i) => [tok, i]));
      const opts = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
      const [text, unet, vae] = await Promise.all(["text_encoder.onnx", "unet.onnx", "vae_decoder.onnx"].map(
        async (f) => ort.InferenceSession.create(new Uint8Array(await (await get(f)).arrayBuffer()), opts)));
      return new CourseT2I(ort, cfg, vocab, { text, unet, vae });
    }

    constructor(ort, cfg, vocab, sessions) { Object.assign(this, { ort, cfg, vocab, s: sessions }); }

    async encode(prompts) {                                   // (B, L, 384) token embeddings
      const L = this.cfg.max_tokens, toks = prompts.map((p) => tokenize(p, this.vocab, this.cfg));
      const ids = BigInt64Array.from(toks.flatMap((t) => t.ids), BigInt);
      const mask = BigInt64Array.from(toks.flatMap((t) => t.mask), BigInt);
      const T = this.ort.Tensor, dims = [prompts.length, L];
      const out = await this.s.text.run({ input_ids: new T("int64", ids, dims), attention_mask: new T("int64", mask, dims) });
      return out.out;
    }

    /** {pixels (RGBA 64x64), strip [{step, pixels}], seconds}; onStep(i, n) after each U-Net call. */
    async generate({ prompt, guidance = 5, steps = 25, seed = 0, nStrip = 6, onStep = null }) {
      const t0 = performance.now(), T = this.ort.Tensor, shape = this.cfg.latent_shape, n = shape.reduce((a, b) => a * b);
      const cfgOn = guidance > 1;                             // diffusers: guidance_scale <= 1 means no guidance
      const ctx = await this.encode(cfgOn ? ["", prompt] : [prompt]);
      const B = cfgOn ? 2 : 1, ts = timesteps(this.cfg, steps), strip = [];
      const keep = new Set(Array.from({ length: Math.min(nStrip, steps) }, (_, k) =>
        Math.round((k * (steps - 1)) / Math.max(1, Math.min(nStrip, steps) - 1))));
      let x = noise(seed, n);
      for (let i = 0; i < ts.length; i++) {
        const xin = new Float32Array(B * n);
        for (let b = 0; b < B; b++) xin.set(x, b * n);
        const out = (await this.s.unet.run({ sample: new T("float32", xin, [B, ...shape.slice(1)]),
          timestep: new T("float32", new Float32Array(B).fill(ts[i]), [B]), context: ctx })).out.data;
        let pred = out;
        if (cfgOn) {                                          // eps_u + w (eps_c - eps_u), Ho & Salimans 2022
          pred = new Float32Array(n);
          for (let j = 0; j < n; j++) pred[j] = out[j] + guidance * (out[n + j] - out[j]);
        }
        x = ddimStep(pred, ts[i], i + 1 < ts.length ? ts[i + 1] : -1, x, this.cfg);
        if (keep.has(i)) strip.push({ step: i + 1, pixels: latentPixels(x, shape[2], shape[3]) });
        if (onStep) onStep(i + 1, ts.length);
      }
      const img = (await this.s.vae.run({ latents: new T("float32", x, shape) })).out;
      const [, , H, W] = img.dims;
      return { pixels: toPixels(img.data, H, W), width: W, height: H, strip, seconds: (performance.now() - t0) / 1000 };
    }
  }

  const api = { CourseT2I, tokenize, normalize, words, noise, timesteps, ddimStep, toPixels, roundHalfEven };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.CourseT2I = Object.assign(CourseT2I, api);
})(typeof self !== "undefined" ? self : this);
