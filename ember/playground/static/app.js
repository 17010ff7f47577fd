// The playground page: controls post settings to the server, which trains the ember network;
// the page draws the state it gets back (polled while playing) on canvases.
"use strict";
const $ = (id) => document.getElementById(id);
const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const NEGATIVE = [245, 147, 34], POSITIVE = [8, 119, 189];  // orange -1 ... white 0 ... blue +1
let state = null;
let polling = false;

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

async function send(method, path, body) {
  try {
    render(await api(method, path, body));
    $("error").textContent = "";
  } catch (error) {
    $("error").textContent = error.message;
  }
}

const configure = (values) => send("POST", "/api/config", values);

// -- controls -------------------------------------------------------------------------

function fillSelect(select, values) {
  select.innerHTML = values.map((v) => `<option value="${v}">${v}</option>`).join("");
}

function setupControls() {
  fillSelect($("lr"), LEARNING_RATES);
  fillSelect($("reg-rate"), REG_RATES);
  $("dataset").onchange = (e) => {
    const name = e.target.value;
    if (name === "csv") {
      $("csv-file").click();
      return syncControls(state.config);  // the data set changes once a file is read
    }
    configure(name === "plane" ? { dataset: name, loss: "mse" } : { dataset: name });
  };
  $("csv-file").onchange = async (e) => {
    const file = e.target.files[0];
    if (file) configure({ dataset: "csv", csv: await file.text() });
    e.target.value = "";
  };
  const numbers = { noise: "noise", "val-fraction": "val_fraction", "batch-size": "batch_size",
                    seed: "seed", lr: "lr", "reg-rate": "reg_rate" };
  for (const [id, key] of Object.entries(numbers)) {
    $(id).onchange = (e) => configure({ [key]: Number(e.target.value) });
  }
  for (const id of ["activation", "loss", "optimizer", "regularization"]) {
    $(id).onchange = (e) => configure({ [id]: e.target.value });
  }
  $("layers-plus").onclick = () => configure({ hidden: [...state.config.hidden, 2] });
  $("layers-minus").onclick = () => configure({ hidden: state.config.hidden.slice(0, -1) });
  $("play").onclick = () => send("POST", state.playing ? "/api/pause" : "/api/play");
  $("step").onclick = () => send("POST", "/api/step?n=1");
  $("reset").onclick = () => send("POST", "/api/reset");
  $("show-graph").onclick = showGraph;
}

function layerControls(hidden) {
  const box = $("layer-controls");
  box.innerHTML = "";
  hidden.forEach((size, i) => {
    const control = document.createElement("span");
    control.className = "layer-control";
    control.innerHTML = `layer ${i + 1}: <button>&minus;</button> ${size} <button>+</button>`;
    const [minus, plus] = control.querySelectorAll("button");
    const resize = (delta) => {
      const next = [...hidden];
      next[i] = Math.min(8, Math.max(1, size + delta));
      configure({ hidden: next });
    };
    minus.onclick = () => resize(-1);
    plus.onclick = () => resize(+1);
    box.appendChild(control);
  });
}

function syncControls(config) {
  const values = { dataset: config.dataset, noise: config.noise, "val-fraction": config.val_fraction,
                   "batch-size": config.batch_size, seed: config.seed, lr: config.lr,
                   "reg-rate": config.reg_rate, activation: config.activation, loss: config.loss,
                   optimizer: config.optimizer, regularization: config.regularization };
  for (const [id, value] of Object.entries(values)) {
    if (document.activeElement !== $(id)) $(id).value = String(value);
  }
  $("noise-value").textContent = config.noise;
  $("val-fraction-value").textContent = config.val_fraction;
  $("batch-size-value").textContent = config.batch_size;
  $("layer-count").textContent = config.hidden.length;
  $("layers-minus").disabled = config.hidden.length === 0;
  $("layers-plus").disabled = config.hidden.length === 6;
  if (JSON.stringify(config.hidden) !== $("layer-controls").dataset.hidden) {
    $("layer-controls").dataset.hidden = JSON.stringify(config.hidden);
    layerControls(config.hidden);
  }
}

// -- drawing --------------------------------------------------------------------------

function colour(v) {
  const t = Math.max(-1, Math.min(1, v));
  const target = t < 0 ? NEGATIVE : POSITIVE;
  return target.map((c) => Math.round(255 + (c - 255) * Math.abs(t)));
}

function drawMap(ctx, grid, x, y, size) {
  const n = grid.length;
  const tile = document.createElement("canvas");
  tile.width = tile.height = n;
  const image = tile.getContext("2d").createImageData(n, n);
  grid.forEach((row, i) => row.forEach((v, j) => image.data.set([...colour(v), 255], 4 * (i * n + j))));
  tile.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tile, x, y, size, size);
}

function drawBoundary() {
  const canvas = $("boundary"), ctx = canvas.getContext("2d"), size = canvas.width, e = state.extent;
  drawMap(ctx, state.boundary, 0, 0, size);
  const toPixel = (v) => ((v + e) / (2 * e)) * size;
  const dot = ([x1, x2, label], stroke) => {
    ctx.beginPath();
    ctx.arc(toPixel(x1), size - toPixel(x2), 3.5, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${colour(label * 1.5)})`;  // points a shade stronger than the map
    ctx.fill();
    ctx.strokeStyle = stroke;
    ctx.stroke();
  };
  ctx.lineWidth = 1;
  state.train_points.forEach((p) => dot(p, "white"));
  state.val_points.forEach((p) => dot(p, "black"));
}

function drawNetwork() {
  const canvas = $("network"), ctx = canvas.getContext("2d");
  const layers = state.neurons, box = 40, gap = 8, margin = 20;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const step = layers.length > 1 ? (canvas.width - 2 * margin - box) / (layers.length - 1) : 0;
  const position = (l, j) => [margin + l * step, margin + j * (box + gap)];
  state.weights.forEach((layer, l) => {
    layer.weight.forEach((row, out) => row.forEach((w, inp) => {
      const [x0, y0] = position(l, inp), [x1, y1] = position(l + 1, out);
      ctx.strokeStyle = `rgb(${colour(Math.sign(w))})`;
      ctx.lineWidth = Math.min(8, 0.3 + Math.abs(w) * 1.5);
      ctx.beginPath();
      ctx.moveTo(x0 + box, y0 + box / 2);
      ctx.bezierCurveTo(x0 + box + step / 3, y0 + box / 2, x1 - step / 3, y1 + box / 2, x1, y1 + box / 2);
      ctx.stroke();
    }));
  });
  ctx.font = "11px Helvetica";
  ctx.fillStyle = "#555";
  layers.forEach((maps, l) => {
    const name = l === 0 ? "inputs" : l === layers.length - 1 ? "output" : `layer ${l}`;
    ctx.fillText(name, margin + l * step, 12);
    maps.forEach((grid, j) => {
      const [x, y] = position(l, j);
      drawMap(ctx, grid, x, y, box);
      ctx.strokeStyle = "#999";
      ctx.lineWidth = 1;
      ctx.strokeRect(x, y, box, box);
    });
  });
}

function drawLosses() {
  const canvas = $("losses"), ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const history = state.history;
  ctx.clearRect(0, 0, w, h);
  const top = Math.max(...history.flatMap((p) => [p.train, p.val ?? 0]), 1e-6);
  const last = Math.max(history[history.length - 1].step, 1);
  for (const [key, stroke] of [["val", "#999"], ["train", "#222"]]) {
    const points = history.filter((p) => p[key] !== null);
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    points.forEach((p, i) => {
      const x = (p.step / last) * (w - 2) + 1, y = h - 2 - (p[key] / top) * (h - 4);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  }
}

function render(newState) {
  state = newState;
  $("epoch").textContent = state.epoch;
  $("steps").textContent = state.steps;
  $("train-loss").textContent = state.train_loss.toFixed(3);
  $("val-loss").textContent = state.val_loss === null ? "-" : state.val_loss.toFixed(3);
  $("play").innerHTML = state.playing ? "&#10073;&#10073; Pause" : "&#9654; Play";
  syncControls(state.config);
  drawBoundary();
  drawNetwork();
  drawLosses();
  if (state.playing && !polling) poll();
}

async function poll() {
  polling = true;
  try {
    while (state.playing) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      render(await api("GET", "/api/state"));
    }
  } catch (error) {
    $("error").textContent = `lost the server: ${error.message}`;
  } finally {
    polling = false;
  }
}

async function showGraph() {
  const box = $("graph");
  box.textContent = "drawing...";
  const response = await fetch("/api/graph.svg");
  const text = await response.text();
  box.classList.toggle("unavailable", !response.ok);
  if (response.ok) box.innerHTML = text;
  else box.textContent = `The graph cannot be drawn here: ${text}`;
}

setupControls();
send("GET", "/api/state");
