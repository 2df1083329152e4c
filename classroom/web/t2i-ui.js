/* The playground's controls around t2i.js: every element with class "t2i" becomes a prompt, guidance,
 * steps and seed, a Generate button, the image, its denoising strip and the time taken. Used by
 * _site/playground.html and by lesson 06's page and deck. data-models: the folder of the ONNX files. */
(function () {
  "use strict";
  const SERVE = "python -m http.server -d _site";
  const STATIC = document.currentScript.src.replace(/t2i-ui\.js([?#].*)?$/, "");   // this file's folder
  const pipelines = new Map();                          // one download per models folder, shared by the page
  // The shapes and colours the model was trained on, as course_utils.widgets.sd.prompt_words() lists them
  // (tests/test_playground_prompt.py compares).
  const WORDS = {
    colour: ["red", "orange", "yellow", "green", "blue", "purple"],
    shape: ["circle", "disc", "disk", "square", "box", "triangle", "star"],
  };
  const EXAMPLE = "a small red circle in the top left";

  /** Why the page will not draw this prompt, or "": empty, or no shape and no colour the model knows
   * (it would draw a shape of its own choosing, and the room would think it understood). */
  function promptProblem(text) {
    if (!text.trim()) return `Type what to draw first, for example: ${EXAMPLE}.`;
    const said = new Set((text.toLowerCase().match(/[a-z]+/g) || []).flatMap((w) => [w, w.replace(/s$/, "")]));
    if ([...WORDS.colour, ...WORDS.shape].some((w) => said.has(w))) return "";
    return "The model knows no shape or colour in this prompt: it only ever saw pictures of shapes. " +
      `Shapes: ${WORDS.shape.join(", ")}. Colours: ${WORDS.colour.join(", ")}. Also small or large, ` +
      "a black, white or gray background, and where (top left, center, bottom right...). " +
      `Try: ${EXAMPLE}.`;
  }

  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) k === "text" ? (e.textContent = v) : e.setAttribute(k, v);
    e.append(...kids);
    return e;
  }

  /** ONNX Runtime Web's global `ort` (a plain script, also where require.js is, as in the decks). */
  function loadOrt() {
    if (window.ort) return Promise.resolve(window.ort);
    const url = STATIC + "onnxruntime-web/ort.wasm.min.js";
    return new Promise((resolve, reject) => {
      const s = el("script", { src: url });
      s.onload = () => resolve(window.ort);
      s.onerror = () => reject(new Error(`could not load ${url}`));
      document.head.append(s);
    });
  }

  function draw(canvas, pixels, w, h) {
    const small = el("canvas", { width: w, height: h });
    small.getContext("2d").putImageData(new ImageData(pixels, w, h), 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;                  // show the 64x64 pixels as they are
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
    canvas.dataset.pixels = btoa(String.fromCharCode(...pixels));   // for the tests: the exact bytes
  }

  function build(root) {
    const base = new URL(root.dataset.models || "models/", document.baseURI).href;
    const prompt = el("input", { type: "text", class: "t2i-prompt", "aria-label": "prompt",
      value: root.dataset.prompt || "a large red star in the center on a black background" });
    const guidance = el("input", { type: "number", class: "t2i-guidance", min: "1", max: "15", step: "0.5", value: "5" });
    const steps = el("input", { type: "number", class: "t2i-steps", min: "1", max: "100", step: "1", value: "25" });
    const seed = el("input", { type: "number", class: "t2i-seed", min: "0", step: "1", value: "0" });
    const go = el("button", { type: "button", class: "t2i-go", text: "Generate" });
    const canvas = el("canvas", { class: "t2i-image", width: "512", height: "512", "aria-label": "generated image" });
    const strip = el("div", { class: "t2i-strip" });
    const autorun = root.dataset.autorun !== "false";
    const status = el("div", { class: "t2i-status", role: "status", text: autorun ? "loading the model…"
      : "Type a prompt and press Enter (the first time, the model loads: 50 MB)." });
    const label = (text, input) => el("label", {}, text, input);
    root.append(el("div", { class: "t2i-controls" }, label("Prompt", prompt),
      el("div", { class: "t2i-row" }, label("Guidance", guidance), label("Steps", steps), label("Seed", seed), go)),
    el("div", { class: "t2i-out" }, canvas, el("div", { class: "t2i-side" }, status,
      el("div", { class: "t2i-strip-title", text: "the latents while denoising (channels 0-2 as RGB)" }), strip)));

    if (location.protocol === "file:") {              // browsers refuse to fetch() the model from the disk
      status.innerHTML = "This page was opened from the disk, and browsers do not let such a page load its " +
        `model. Serve the site in one command, <code>${SERVE}</code>, and open ` +
        "<a href='http://localhost:8000/playground.html'>http://localhost:8000/playground.html</a>.";
      status.classList.add("t2i-error");
      go.disabled = true;
      return;
    }
    let busy = false;
    async function run() {
      if (busy) return;
      const problem = promptProblem(prompt.value);
      if (problem) {                                   // say so, keep the old image
        status.textContent = problem;
        status.classList.add("t2i-error");
        root.classList.add("t2i-refused");              // the old picture fades: it is not this prompt's
        root.dataset.refused = String(+(root.dataset.refused || 0) + 1);
        return;
      }
      busy = true;
      go.disabled = true;
      try {
        if (!pipelines.has(base)) {
          status.textContent = "loading the model…";
          pipelines.set(base, loadOrt().then((ort) => {
            ort.env.wasm.numThreads = 1;                 // no cross-origin isolation on a plain static server
            ort.env.wasm.wasmPaths = STATIC + "onnxruntime-web/";
            return CourseT2I.load(base, ort);
          }));
        }
        const pipe = await pipelines.get(base);
        const r = await pipe.generate({ prompt: prompt.value, guidance: +guidance.value, steps: Math.round(+steps.value),
          seed: Math.round(+seed.value) >>> 0, onStep: (i, n) => { status.textContent = `step ${i} of ${n}…`; } });
        draw(canvas, r.pixels, r.width, r.height);
        strip.replaceChildren(...r.strip.map((s) => {
          const c = el("canvas", { width: "64", height: "64", title: `after step ${s.step}` });
          draw(c, s.pixels, 8, 8);
          return el("figure", {}, c, el("figcaption", { text: `step ${s.step}` }));
        }));
        status.textContent = `${Math.round(+steps.value)} steps in ${r.seconds.toFixed(2)} s`;
        status.classList.remove("t2i-error");
        root.classList.remove("t2i-refused");
        root.dataset.generated = String(+(root.dataset.generated || 0) + 1);
        root.dataset.seconds = r.seconds.toFixed(3);
        root.dataset.doneAt = (performance.now() / 1000).toFixed(3);    // seconds since the page started loading
      } catch (e) {
        status.textContent = `could not generate: ${e.message || e}`;
        status.classList.add("t2i-error");
      } finally {
        busy = false;
        go.disabled = false;
      }
    }
    go.addEventListener("click", run);
    prompt.addEventListener("keydown", (e) => { if (e.key === "Enter") run(); });
    if (autorun) run();
  }

  const start = () => document.querySelectorAll(".t2i").forEach(build);
  document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", start) : start();
})();
