// What the other Power BI connectors do, for pbi-bench's section (6): Node.js's built-in
// `fetch` (undici, keeping connections alive by default) sending the same requests as the
// component, to the same local service, with the same headers and token.
//
// pbi-bench starts this once and drives it through stdin, one command per line, so that Node
// runs interleaved with the component in one run; each answer is one JSON line on stdout
// with the time Node measured for the work alone (not the pipe):
//   list                 GET /v1.0/myorg/datasets        -> {"ns": N, "count": datasets}
//   push DATASET TABLE N  N rows, 10,000 per POST, as a  -> {"ns": N, "requests": R}
//                        connector does it: the rows are JavaScript objects (what the
//                        engine hands a Node step), serialized per batch
//   quit                 (or closing stdin)
//
// Usage: node node-fetch.mjs BASE_URL  (the token comes in PBI_BENCH_TOKEN, never argv)
import { createInterface } from "node:readline";

const base = process.argv[2];
const token = process.env.PBI_BENCH_TOKEN;
if (!base || !token) {
  console.error("usage: PBI_BENCH_TOKEN=... node node-fetch.mjs BASE_URL");
  process.exit(2);
}
const headers = { accept: "application/json", authorization: `Bearer ${token}` };
const BATCH = 10000;

async function list() {
  const start = process.hrtime.bigint();
  const response = await fetch(`${base}/v1.0/myorg/datasets`, { headers });
  if (!response.ok) throw new Error(`list answered ${response.status}`);
  const body = await response.json();
  const ns = process.hrtime.bigint() - start;
  return { ns: Number(ns), count: body.value.length };
}

function rows(count) {
  const out = new Array(count);
  for (let id = 0; id < count; id++) out[id] = { Id: id, Region: "West", Amount: 1.5 };
  return out;
}

async function push(dataset, table, count) {
  // The rows exist before the clock starts, as they do in the engine.
  const all = rows(count);
  const url = `${base}/v1.0/myorg/datasets/${dataset}/tables/${encodeURIComponent(table)}/rows`;
  const post = { ...headers, "content-type": "application/json; charset=utf-8" };
  let requests = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < all.length; i += BATCH) {
    const body = JSON.stringify({ rows: all.slice(i, i + BATCH) });
    const response = await fetch(url, { method: "POST", headers: post, body });
    if (!response.ok) throw new Error(`push answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
    requests++;
  }
  const ns = process.hrtime.bigint() - start;
  return { ns: Number(ns), requests };
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [command, ...args] = line.trim().split(" ");
  let answer;
  try {
    if (command === "list") answer = await list();
    else if (command === "push") answer = await push(args[0], args[1], Number(args[2]));
    else if (command === "quit") break;
    else answer = { error: `unknown command ${command}` };
  } catch (error) {
    answer = { error: String(error.message ?? error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
process.exit(0);
