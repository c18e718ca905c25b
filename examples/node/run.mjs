// Runs one action of the Power BI connector component from Node, with jco and
// @bytecodealliance/preview2-shim, behind an egress policy like pbi-host's (docs/hosts.md).
//
//   node run.mjs --wasm "$(pbi wasm)" --api-base-url http://127.0.0.1:8310/v1.0/myorg --token TOKEN
//
// Options:
//   --wasm PATH          the component (or the PBI_WASM environment variable)
//   --token TOKEN        the access token (or PBI_TOKEN)
//   --api-base-url URL   the connection's API Base URL (default: none, the cloud's own hosts)
//   --action KEY         the action (default list-groups)
//   --input JSON         the action's input record, keys as in the WIT (default {})
//   --allow HOST         allow only these hosts (repeatable); without it the allow-list is the
//                        connection's, as pbi-host computes it
//
// Prints one JSON line on stdout: {"ok": <output>} or {"err": <action-error>}; every request
// the component tried goes to stderr as `egress: allowed|denied METHOD URL`. Exits 0 on ok,
// 1 on an action error, 2 on a usage or host failure.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { transpile } from "@bytecodealliance/jco";
import { http } from "@bytecodealliance/preview2-shim";
import { WASIShim } from "@bytecodealliance/preview2-shim/instantiation";

const { values: args } = parseArgs({
  options: {
    wasm: { type: "string", default: process.env.PBI_WASM },
    token: { type: "string", default: process.env.PBI_TOKEN ?? "" },
    "api-base-url": { type: "string" },
    action: { type: "string", default: "list-groups" },
    input: { type: "string", default: "{}" },
    allow: { type: "string", multiple: true },
  },
});
if (!args.wasm) {
  console.error('usage: node run.mjs --wasm "$(pbi wasm)" --token TOKEN [--api-base-url URL]');
  process.exit(2);
}

// 1. Transpile: the component becomes a JS module plus core wasm modules. With
//    `instantiation: "async"` the module imports nothing; we hand it every WASI import
//    ourselves, which is what lets us replace wasi:http/outgoing-handler.
const name = "powerbi_connector";
const { files } = await transpile(await readFile(args.wasm), {
  name,
  instantiation: "async",
  noTypescript: true,
});
const dir = await mkdtemp(join(tmpdir(), "pbi-jco-"));
await writeFile(join(dir, `${name}.mjs`), files[`${name}.js`]);
const { instantiate } = await import(pathToFileURL(join(dir, `${name}.mjs`)).href);
await rm(dir, { recursive: true });

// 2. The egress policy: a request whose host is not on the list fails with
//    wasi:http's error-code `HTTP-request-denied`, as in pbi-host, and nothing is sent.
let allowHosts = []; // filled in below, once the connection's hosts are known
const hostOf = (authority) => (authority ?? "").replace(/:\d+$/, "").toLowerCase();
const outgoingHandler = {
  handle(request, options) {
    const host = hostOf(request.authority());
    const scheme = request.scheme()?.tag === "HTTP" ? "http" : "https";
    const url = `${scheme}://${request.authority()}${request.pathWithQuery() ?? ""}`;
    const m = request.method();
    const method = (m.tag === "other" ? m.val : m.tag).toUpperCase();
    if (!allowHosts.includes(host)) {
      console.error(`egress: denied ${method} ${url}`);
      throw { tag: "HTTP-request-denied" };
    }
    console.error(`egress: allowed ${method} ${url}`);
    return http.outgoingHandler.handle(request, options);
  },
};

// 3. Instantiate with the shim's WASI, no preopened directories, an empty environment, and
//    our outgoing handler in place of the shim's. One instance per call, as an engine does.
async function instance() {
  const wasi = new WASIShim({
    http: { ...http, outgoingHandler },
    sandbox: { preopens: {}, env: {}, args: [name] },
  });
  return instantiate((file) => WebAssembly.compile(files[file]), wasi.getImportObject());
}

// 4. The connection record: the first connection definition (key ""), its values by key, the
//    access token.
const values = [];
if (args["api-base-url"]) values.push(["api-base-url", args["api-base-url"]]);
const connection = { key: "", values, accessToken: args.token };

// 5. The default allow-list, as pbi-host computes it from the component's own description:
//    the host of the definition's API base URL, the connection definition's `hosts` (every
//    national cloud's), and the hosts of the URLs among the connection's values and its
//    inputs' defaults. `--allow` replaces it (an engine's own configuration).
function defaultAllowHosts(definition) {
  const chosen =
    definition.connections.find((c) => c.key === connection.key) ?? definition.connections[0];
  const hosts = [...(chosen?.hosts ?? [])];
  const secret = new Set(
    (chosen?.inputs ?? []).filter((i) => i.type === "password").map((i) => i.key),
  );
  const urls = [definition.info.apiBaseUrl];
  for (const input of chosen?.inputs ?? []) if (input.default) urls.push(input.default);
  for (const [key, value] of connection.values) if (!secret.has(key)) urls.push(value);
  for (const text of urls) {
    const url = text.trim();
    if (!/^https?:\/\//.test(url)) continue;
    try {
      hosts.push(new URL(url).hostname);
    } catch {
      // not a URL after all
    }
  }
  return [...new Set(hosts.map((h) => h.replace(/^\[|\]$/g, "").toLowerCase()))];
}

// 6. Describe, then run the action. Exported functions that return `result` throw a
//    ComponentError whose `payload` is the action-error.
const camel = (key) => key.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
try {
  const definition = (await instance()).definition.describe();
  allowHosts = args.allow ? args.allow.map((h) => h.toLowerCase()) : defaultAllowHosts(definition);
  console.error(`egress: allow-list ${allowHosts.join(", ")}`);
  const input = Object.fromEntries(
    Object.entries(JSON.parse(args.input)).map(([k, v]) => [camel(k), v]),
  );
  const run = (await instance()).actions[camel(args.action)];
  if (!run) throw new Error(`the component exports no action ${args.action}`);
  try {
    const output = run(connection, input);
    console.log(JSON.stringify({ ok: output }, bigints));
  } catch (e) {
    if (e?.payload === undefined) throw e;
    console.log(JSON.stringify({ err: e.payload }, bigints));
    process.exit(1);
  }
} catch (e) {
  console.error(`host failure: ${e?.stack ?? e}`);
  process.exit(2);
}

function bigints(_key, value) {
  return typeof value === "bigint" ? Number(value) : value;
}
