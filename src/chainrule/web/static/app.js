// chainrule serve: the page's behaviour. No build step, no external code.
// Student text is only ever set with textContent or .value; innerHTML receives only what the
// server built itself (the problem's HTML and MathML made from chainrule's own parse).
"use strict";

const state = { problem: null, variant: null, timers: {}, sequence: {} };
const MARKS = { correct: "✓", incorrect: "✗", unknown: "?", missing: "–", error: "!" };

function $(selector, root) { return (root || document).querySelector(selector); }
function $$(selector, root) { return Array.from((root || document).querySelectorAll(selector)); }
function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function status(text) { $("#status").textContent = text || ""; }

async function api(path, body, raw) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": raw ? "text/plain" : "application/json" },
    body: raw ? body : JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error((data && data.error) || ("HTTP " + response.status));
  return data;
}

function storageKey() {
  return "chainrule:" + state.problem.name + ":" + (state.variant === null ? "-" : String(state.variant));
}
function saved() {
  try { return JSON.parse(localStorage.getItem(storageKey()) || "{}") || {}; } catch (e) { return {}; }
}
// The server refuses a request holding a box longer than this (web/app.py MAX_ANSWER), so one
// over-long paste would stop every check, save and download: such a box is left out of them and
// judged "error" on the page alone.
const MAX_ANSWER = 10000;
function tooLong() {
  return $$("textarea.answer").filter(box => box.value.length > MAX_ANSWER).map(box => box.dataset.key);
}
function answers() {
  const all = {};
  for (const box of $$("textarea.answer")) if (box.value.length <= MAX_ANSWER) all[box.dataset.key] = box.value;
  return all;
}
function save() {
  try { localStorage.setItem(storageKey(), JSON.stringify(answers())); } catch (e) { status("could not save in this browser"); }
}
function withVariant(body) {
  if (state.variant !== null) body.variant = String(state.variant);
  return body;
}

async function loadProblem(variant) {
  document.body.dataset.ready = "false";
  const query = variant === null ? "" : "?variant=" + encodeURIComponent(variant);
  const problem = await api("/api/problem" + query);
  state.problem = problem;
  state.variant = problem.variant === null ? (variant === null ? null : problem.variant) : problem.variant;
  document.title = problem.title;
  $("#title").textContent = problem.title + (problem.variant === null ? "" : " — variant " + problem.variant);
  $("#statement").innerHTML = problem.statement_html;  // server-built from the spec
  const list = $("#questions");
  list.replaceChildren();
  for (const q of problem.questions) list.appendChild(question(q));
  const stored = saved();
  for (const box of $$("textarea.answer")) {
    if (typeof stored[box.dataset.key] === "string") { box.value = stored[box.dataset.key]; preview(box); }
  }
  if (variant !== null) { try { localStorage.setItem("chainrule:last-variant", String(variant)); } catch (e) {} }
  document.body.dataset.ready = "true";
}

function question(q) {
  const item = el("li", { "data-question": String(q.number) });
  const text = el("div", { class: "question-text" });
  text.innerHTML = q.text_html;  // server-built
  item.appendChild(text);
  for (const k of q.keys) {
    const row = el("div", { class: "answer-row" });
    const id = "box-" + k.key.replace(/[^A-Za-z0-9_-]/g, "-");
    const label = el("label", { for: id });
    label.innerHTML = k.label_html;  // server-escaped
    const box = el("textarea", { class: "answer", "data-key": k.key, "data-kind": k.kind, id: id,
                                 rows: k.kind === "proof" ? "4" : "1", spellcheck: "false" });
    box.addEventListener("input", () => { save(); schedulePreview(box); });
    row.append(label, box, el("div", { class: "preview", "data-key": k.key }),
               el("div", { class: "verdict", "data-key": k.key, "data-verdict": "", "data-mistake": "" }));
    item.appendChild(row);
  }
  if (q.keys.length) {
    const button = el("button", { class: "check-question", "data-question": String(q.number), type: "button" },
                      "Check question " + q.number);
    button.addEventListener("click", () => check(q.keys.map(k => k.key)));
    item.appendChild(button);
  }
  return item;
}

function schedulePreview(box) {
  clearTimeout(state.timers[box.dataset.key]);
  state.timers[box.dataset.key] = setTimeout(() => preview(box), 250);
}

async function preview(box) {
  const key = box.dataset.key;
  const target = $('.preview[data-key="' + CSS.escape(key) + '"]');
  const sequence = (state.sequence[key] || 0) + 1;
  state.sequence[key] = sequence;
  if (!box.value.trim()) { target.replaceChildren(); target.dataset.state = "empty"; return; }
  let data;
  try {
    data = await api("/api/preview", withVariant({ key: key, text: box.value }));
  } catch (error) {
    data = { ok: false, error: String(error.message || error), position: null, suggestion: null };
  }
  if (state.sequence[key] !== sequence) return;  // a newer preview is on its way
  target.replaceChildren();
  if (data.ok) {
    const math = el("span", { class: "math" });
    math.innerHTML = data.mathml;  // MathML the server made from chainrule's own parse
    target.append(math, el("span", { class: "read" }, "read as " + data.read));
    target.dataset.state = "read";
  } else {
    target.appendChild(el("span", { class: "parse-error" }, data.error));
    if (typeof data.position === "number") {
      const where = box.value.slice(0, data.position) + "⟨here⟩" + box.value.slice(data.position);
      target.appendChild(el("code", { class: "parse-position" }, " " + where.slice(Math.max(0, data.position - 30), data.position + 36)));
    }
    target.dataset.state = "error";
  }
}

async function check(keys) {
  status("checking…");
  const wanted = keys || $$("textarea.answer").map(box => box.dataset.key);
  for (const key of wanted) {
    const verdict = $('.verdict[data-key="' + CSS.escape(key) + '"]');
    if (verdict) { verdict.dataset.verdict = ""; verdict.replaceChildren(el("span", { class: "pending" }, "checking…")); }
  }
  let report;
  try {
    report = await api("/api/check", withVariant(keys ? { answers: answers(), keys: keys } : { answers: answers() }));
  } catch (error) {
    report = { verdict: "error", error: String(error.message || error) };
  }
  const long = tooLong();
  for (const key of wanted) {
    const judged = long.includes(key)
      ? { verdict: "error", feedback: "This answer is over " + MAX_ANSWER + " characters: it was not checked.", mistakes: [], explanations: {} }
      : report.answers ? report.answers[key] : null;
    show(key, judged || { verdict: "error", feedback: report.error || "not checked", mistakes: [], explanations: {} });
  }
  status(report.summary ? report.summary.correct + " of " + report.summary.total + " checked answers correct" +
         (report.summary.unknown ? ", " + report.summary.unknown + " undecided" : "") : (report.error || ""));
}

function show(key, judged) {
  const target = $('.verdict[data-key="' + CSS.escape(key) + '"]');
  if (!target) return;
  const verdict = judged.verdict === "unparseable" ? "incorrect" : judged.verdict;
  const mistakes = judged.mistakes || [];
  target.dataset.verdict = verdict;
  target.dataset.reason = judged.verdict;
  target.dataset.mistake = mistakes.join(" ");
  target.replaceChildren();
  let headline = { correct: "Correct.", incorrect: "Wrong.", unknown: "Unknown: chainrule could not decide; this is neither right nor wrong.",
                   missing: "No answer yet.", error: "Not checked." }[verdict];
  if (judged.verdict === "unparseable") headline = "Could not read this answer.";
  if (mistakes.includes("carried-error")) headline = "Wrong, but right from your earlier answer.";
  target.append(el("span", { class: "mark" }, MARKS[verdict] || "?"), el("span", { class: "headline" }, headline));
  if (verdict !== "correct" && verdict !== "missing" && judged.feedback) {
    let text = document.body.dataset.showExpected === "true" ? judged.feedback : withoutExpected(judged.feedback);
    for (const explanation of Object.values(judged.explanations || {})) text = text.replace(" " + explanation, "");
    for (const part of feedbackParts(text)) {
      if (part[1]) target.appendChild(el("span", { class: "detail " + part[0] }, part[1]));
    }
  }
  const named = mistakes.filter(m => m !== "carried-error");
  for (const m of named) {
    target.appendChild(el("span", { class: "detail mistake", "data-id": m }, "Mistake '" + m + "': " + ((judged.explanations || {})[m] || "")));
  }
  if (mistakes.includes("carried-error")) {
    target.appendChild(el("span", { class: "detail carried" }, (judged.explanations || {})["carried-error"] || ""));
  }
}

// "Expected 17/5 ≈ 3.4; your answer …" → "Your answer …": the page does not give the answer away
// (unless the server was started with --show-expected); the JSON API, like `check --json`, has it.
function withoutExpected(text) {
  const found = /^Expected [^;]*; (.*)$/s.exec(text);
  if (!found) return text;
  return found[1].charAt(0).toUpperCase() + found[1].slice(1);
}

// A proof's feedback: "Step 2 (…) is wrong: …. The two sides differ at …. It holds only where …"
function feedbackParts(text) {
  const marks = [["counterexample", "The two sides differ at"], ["region", "It holds only where"]];
  const parts = [];
  let rest = text, kind = /^Step \d+/.test(text) ? "step" : "feedback";
  for (;;) {
    let next = null;
    for (const [name, phrase] of marks) {
      const at = rest.indexOf(phrase);
      if (at > 0 && (next === null || at < next[0])) next = [at, name];
    }
    if (next === null) { parts.push([kind, rest.trim()]); return parts; }
    parts.push([kind, rest.slice(0, next[0]).trim()]);
    kind = next[1];
    rest = rest.slice(next[0]);
  }
}

async function download() {
  try {
    const text = await api("/api/export", withVariant({ answers: answers() }));
    const url = URL.createObjectURL(new Blob([text], { type: "application/toml" }));
    const link = el("a", { href: url, download: "answers.toml" });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    const long = tooLong();
    status("answers.toml downloaded" + (long.length ? " without " + long.join(", ") + " (over " + MAX_ANSWER + " characters)" : ""));
  } catch (error) { status("download failed: " + (error.message || error)); }
}

async function upload(event) {
  const file = event.target.files[0];
  if (!file) return;
  try {
    const data = await api("/api/import", await file.text(), true);
    if (document.body.dataset.class === "true" && data.variant !== null && data.variant !== state.variant) {
      $("#variant").value = String(data.variant);  // the file says whose variant it is
      await loadProblem(String(data.variant));
    }
    for (const box of $$("textarea.answer")) {
      box.value = typeof data.answers[box.dataset.key] === "string" ? data.answers[box.dataset.key] : "";
      preview(box);
    }
    save();
    status("loaded " + file.name);
  } catch (error) { status("could not load " + file.name + ": " + (error.message || error)); }
  event.target.value = "";
}

async function pickVariant() {
  const given = $("#variant").value.trim();
  $("#variant-error").textContent = "";
  try { await loadProblem(given); } catch (error) { $("#variant-error").textContent = error.message || String(error); }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#check-all").addEventListener("click", () => check(null));
  $("#download").addEventListener("click", download);
  $("#upload").addEventListener("change", upload);
  if (document.body.dataset.class === "true") {
    $("#load-variant").addEventListener("click", pickVariant);
    $("#variant").addEventListener("keydown", e => { if (e.key === "Enter") pickVariant(); });
    let last = null;
    try { last = localStorage.getItem("chainrule:last-variant"); } catch (e) {}
    if (last) { $("#variant").value = last; await pickVariant(); }
    return;
  }
  try { await loadProblem(null); } catch (error) { status("could not load the problem: " + (error.message || error)); }
});
