// deploytool dashboard: follows a run's logs and state live (server-sent events). No inline script: the
// Content-Security-Policy allows only this file. Every text goes in through textContent, never as HTML.
"use strict";

function stateBadge(label) {
  const span = document.createElement("span");
  span.className = "state s-" + label.toLowerCase();
  span.textContent = label;
  return span;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  if (seconds < 60) return seconds.toFixed(1) + "s";
  const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60), h = Math.floor(m / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? h + "h" + pad(m % 60) + "m" + pad(s) + "s" : m + "m" + pad(s) + "s";
}

function appendLine(box, line) {
  const row = document.createElement("div");
  row.className = "line lv-" + String(line.level).toLowerCase();
  const parts = [["t", String(line.time).slice(11, 19)], ["lv", line.level]];
  if (line.source !== "stdout" && line.source !== "stderr") parts.push(["src", "[" + line.source + "]"]);
  parts.push(["msg", line.message]);
  parts.forEach(([cls, text], i) => {
    if (i) row.appendChild(document.createTextNode(" "));
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    row.appendChild(span);
  });
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.appendChild(row);
  if (atBottom) box.scrollTop = box.scrollHeight;
  const none = document.getElementById("no-logs");
  if (none) none.remove();
}

function follow(box) {
  const url = "/api/v1/flow-runs/" + encodeURIComponent(box.dataset.run) + "/events?after=" + box.dataset.after;
  const source = new EventSource(url);
  source.addEventListener("log", (e) => appendLine(box, JSON.parse(e.data)));
  source.addEventListener("state", (e) => {
    const run = JSON.parse(e.data);
    const holder = document.getElementById("run-state");
    if (holder) holder.replaceChildren(stateBadge(run.label));
    const dur = document.getElementById("run-duration");
    if (dur) dur.textContent = duration(run.duration_seconds);
    const msg = document.getElementById("run-message");
    if (msg) msg.textContent = run.state_message || "-";
  });
  source.addEventListener("end", () => {
    source.close();
    const live = document.getElementById("live");
    if (live) live.textContent = "(ended)";
    // The finished run's page has its final history and actions (retry).
    window.setTimeout(() => window.location.reload(), 300);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("logs");
  if (box) {
    box.scrollTop = box.scrollHeight;
    if (box.dataset.live === "yes") follow(box);
  }
});
