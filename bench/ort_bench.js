#!/usr/bin/env node
// ONNX Runtime side of `make bench-ort` (bench/ort.sh): batch-1 latency of one .onnx model.
//   node bench/ort_bench.js MODEL.onnx [THREADS] [RUNS] [--once] [--size S]
//        [--pair BENCH_LATENCY MODEL.emoti]
// Loads onnxruntime-node from $ORT_DIR/node_modules (default build/ort). Creates a session with
// intraOpNumThreads=THREADS (default 1), interOpNumThreads=1, sequential execution, all graph
// optimisations (ORT's default); times the session creation; then (unless --once) runs WARMUP
// (default 3, like bench_latency) untimed and RUNS (default 30) timed forward passes on a
// fixed [1,3,S,S] tensor, the same pattern bench_latency feeds emoti. With --once: create the
// session and run once (used by the driver to measure peak RSS). Prints one line:
//   ort model=PATH threads=T size=S version=V create_ms=X runs=N median_ms=X min_ms=X max_ms=X
// With --pair: emoti runs beside it as `BENCH_LATENCY MODEL.emoti --serve` (EMOTI_THREADS =
// THREADS), and the RUNS timed runs become RUNS pairs: one ORT run and one emoti run, in
// alternating order, PAIR_GAP_MS (default 50) apart so that neither engine's spinning worker
// threads overlap the other's run (ORT's keep spinning for a while after a run). A shared machine's slow spells last seconds, so they hit
// both runs of a pair alike. The line then adds emoti_load_ms, emoti_kernels, emoti_median_ms,
// emoti_min_ms and ratio_median (the median over pairs of emoti / ORT); with PAIRS_OUT=FILE
// every pair is appended to FILE as "EMOTI_MS ORT_MS".
// Environment: ORT_DIR, WARMUP, ORT_SPIN=0 (intra-op threads do not spin), PAIR_GAP_MS, PAIRS_OUT.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

function usage(msg) {
  if (msg) process.stderr.write(`ort_bench: ${msg}\n`);
  process.stderr.write('usage: node bench/ort_bench.js MODEL.onnx [THREADS] [RUNS] [--once] [--size S] [--pair BENCH_LATENCY MODEL.emoti]\n');
  process.exit(2);
}

const pos = [];
let once = false, size = 0, pair = null;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--once') once = true;
  else if (a === '--size') size = parseInt(process.argv[++i], 10);
  else if (a === '--pair') {
    pair = { bench: process.argv[++i], model: process.argv[++i] };
    if (!pair.model) usage('--pair needs BENCH_LATENCY and MODEL.emoti');
  }
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else pos.push(a);
}
if (pos.length < 1) usage();
const model = pos[0];
const threads = pos.length > 1 ? parseInt(pos[1], 10) : 1;
const runs = pos.length > 2 ? parseInt(pos[2], 10) : 30;
const warmup = parseInt(process.env.WARMUP || '3', 10);
if (!(threads >= 1) || !(runs >= 1) || !(warmup >= 0)) usage('THREADS, RUNS and WARMUP must be positive');

const ortDir = path.resolve(process.env.ORT_DIR || 'build/ort');
let ort;
try {
  ort = require(path.join(ortDir, 'node_modules', 'onnxruntime-node'));
} catch (e) {
  process.stderr.write(`ort_bench: cannot load onnxruntime-node from ${ortDir}: ${e.message}\n`);
  process.exit(1);
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

// bench_latency --serve as a child: run() sends a line and resolves to the ms it prints.
function startEmoti(bench, model) {
  const child = spawn(bench, [model, '--serve'], {
    env: { ...process.env, EMOTI_THREADS: String(threads) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = [], waiting = [];
  let buf = '';
  const deliver = (line) => (waiting.length ? waiting.shift()(line) : lines.push(line));
  child.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) deliver(buf.slice(0, i));
  });
  child.on('close', () => { while (waiting.length) waiting.shift()(null); lines.push(null); });
  child.on('error', (e) => { process.stderr.write(`ort_bench: ${bench}: ${e.message}\n`); });
  const next = async () => {
    const line = lines.length ? lines.shift() : await new Promise((r) => waiting.push(r));
    if (line === null) throw new Error(`${bench} ${model} --serve stopped`);
    return line;
  };
  return {
    ready: next, // "ready load=MS kernels=ISA threads=T"
    run: async () => { child.stdin.write('\n'); return parseFloat(await next()); },
    stop: () => child.stdin.end(),
  };
}

async function main() {
  const opts = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  };
  // ORT_SPIN=0: intra-op pool threads block instead of spinning between ops (ORT's default: spin).
  if (process.env.ORT_SPIN !== undefined && process.env.ORT_SPIN !== '')
    opts.extra = { session: { intra_op: { allow_spinning: process.env.ORT_SPIN === '0' ? '0' : '1' } } };
  const t0 = nowMs();
  const session = await ort.InferenceSession.create(model, opts);
  const createMs = nowMs() - t0;

  const inName = session.inputNames[0], outName = session.outputNames[0];
  if (!size) {
    const md = session.inputMetadata && session.inputMetadata[0];
    const shape = md && md.shape;
    if (shape && typeof shape[3] === 'number') size = shape[3];
  }
  if (!(size > 0)) throw new Error('input size unknown: pass --size S');
  const n = 3 * size * size;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 7919) % 1000) / 500 - 1; // as bench_latency.c
  const feeds = { [inName]: new ort.Tensor('float32', x, [1, 3, size, size]) };

  const first = await session.run(feeds);
  const out = first[outName];
  if (!out || out.dims[0] !== 1) throw new Error('unexpected output');
  const timedRun = async () => {
    const s = nowMs();
    await session.run(feeds);
    return nowMs() - s;
  };
  const t = [], e = [], ratios = [];
  let extra = '';
  if (!once) {
    for (let i = 1; i < warmup; i++) await session.run(feeds); // the check run above counts
    const emoti = pair && startEmoti(pair.bench, pair.model);
    const ready = emoti && (await emoti.ready());
    const gap = parseFloat(process.env.PAIR_GAP_MS || '50');
    for (let i = 0; i < runs; i++) {
      if (!emoti) {
        t.push(await timedRun());
        continue;
      }
      let o, em;
      if (i % 2) em = await emoti.run(), await sleep(gap), o = await timedRun();
      else o = await timedRun(), await sleep(gap), em = await emoti.run();
      await sleep(gap);
      t.push(o), e.push(em), ratios.push(em / o);
    }
    if (emoti && process.env.PAIRS_OUT) // every pair, for bench/ort.sh's split by machine state
      fs.appendFileSync(process.env.PAIRS_OUT, e.map((v, i) => `${v} ${t[i]}\n`).join(''));
    if (emoti) {
      emoti.stop();
      const field = (k) => (ready.match(new RegExp(`${k}=(\\S+)`)) || [])[1] || '?';
      extra = ` emoti_load_ms=${field('load')} emoti_kernels=${field('kernels')}` +
        ` emoti_median_ms=${median(e).toFixed(3)} emoti_min_ms=${Math.min(...e).toFixed(3)}` +
        ` ratio_median=${median(ratios).toFixed(4)}`;
    }
    t.sort((a, b) => a - b);
  }
  const f = (v) => (v === undefined ? 'nan' : v.toFixed(3));
  process.stdout.write(`ort model=${model} threads=${threads} size=${size} version=${ort.env.versions.node || '?'}` +
    ` create_ms=${f(createMs)} runs=${t.length} median_ms=${f(t[t.length >> 1])} min_ms=${f(t[0])}` +
    ` max_ms=${f(t[t.length - 1])}${extra}\n`);
  if (session.release) await session.release();
}

main().catch((e) => {
  process.stderr.write(`ort_bench: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
