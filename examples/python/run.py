"""Runs one action of the Power BI connector component from Python, with wasmtime-py
(PyPI's `wasmtime`, 50 or later: the first with `Linker.add_wasi_http`). See docs/hosts.md.

    python run.py --wasm "$(pbi wasm)" --api-base-url http://127.0.0.1:8310/v1.0/myorg --token TOKEN

Prints one JSON line on stdout: {"ok": <output>} or {"err": <action-error>}. Exits 0 on ok,
1 on an action error, 2 on a usage or host failure.

wasmtime-py links wasmtime's own wasi:http sender and has no hook to see or refuse a request,
so this host cannot enforce an egress allow-list per request the way pbi-host and the Node
example do. What it does instead: before calling, it checks that every URL the connection
names is on the allow-list (refusing to run otherwise). The component only sends to its API
base and sign-in hosts, which come from those URLs; a network-level control (a firewall or an
egress proxy) is still needed for a guarantee.
"""

import argparse
import json
import os
import sys
from urllib.parse import urlsplit

try:
    import wasmtime
    from wasmtime import component as wc
except ImportError:
    print("no wasmtime module: pip install 'wasmtime>=50'", file=sys.stderr)
    sys.exit(2)

ACTIONS = "powerbi:connector/actions@0.3.0"
DEFINITION = "workflow:connector/definition@0.3.0"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--wasm", default=os.environ.get("PBI_WASM"), help="the component")
    p.add_argument("--token", default=os.environ.get("PBI_TOKEN", ""), help="the access token")
    p.add_argument("--api-base-url", help="the connection's API Base URL")
    p.add_argument("--action", default="list-groups", help="the action (default list-groups)")
    p.add_argument("--input", default="{}", help="the input record as JSON, keys as in the WIT")
    p.add_argument("--allow", action="append", help="allow only these hosts (repeatable)")
    args = p.parse_args()
    if not args.wasm:
        p.error('--wasm "$(pbi wasm)" (or PBI_WASM) is required')
    return args


class Host:
    """One engine and compiled component; a fresh store and instance per call."""

    def __init__(self, wasm_path):
        self.engine = wasmtime.Engine()
        self.component = wc.Component.from_file(self.engine, wasm_path)
        self.linker = wc.Linker(self.engine)
        self.linker.add_wasip2()  # wasi:cli, io, clocks, random, filesystem, sockets
        self.linker.add_wasi_http()  # wasi:http/types and outgoing-handler (wasmtime's sender)

    def call(self, interface, function, *params):
        store = wasmtime.Store(self.engine)
        wasi = wasmtime.WasiConfig()
        wasi.inherit_stderr()  # the guest's log and progress lines; no env, args or dirs
        store.set_wasi(wasi)
        store.set_wasi_http()
        instance = self.linker.instantiate(store, self.component)
        iface = instance.get_export_index(store, interface)
        index = instance.get_export_index(store, function, iface) if iface else None
        if index is None:
            raise LookupError(f"the component exports no {interface}#{function}")
        func = instance.get_func(store, index)
        params = [p(func.type(store).params[i][1]) if callable(p) else p for i, p in enumerate(params)]
        result = func(store, *params)
        func.post_return(store)
        return result


def record(**fields):
    """A WIT record: wasmtime-py reads its fields by their WIT names (with dashes)."""
    r = wc.Record()
    for name, value in fields.items():
        setattr(r, name, value)
    return r


def input_record(values):
    """The action's input record from JSON: the fields not given are `none`."""

    def build(ty):
        unknown = set(values) - {name for name, _ in ty.fields}
        if unknown:
            raise ValueError(f"unknown inputs: {', '.join(sorted(unknown))}")
        return record(**{name: values.get(name) for name, _ in ty.fields})

    return build


def plain(value):
    """Component values as JSON: records as objects, variants as {tag: payload}."""
    if isinstance(value, wc.Record):
        return {k: plain(v) for k, v in vars(value).items()}
    if isinstance(value, wc.Variant):
        return {value.tag: plain(value.payload)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return list(value)
    return value


def url_hosts(urls):
    hosts = []
    for url in urls:
        url = (url or "").strip()
        if url.startswith(("https://", "http://")) and urlsplit(url).hostname:
            hosts.append(urlsplit(url).hostname.lower())
    return hosts


def default_allow_hosts(definition, connection):
    """pbi-host's default allow-list: the definition's API base host, the connection
    definition's `hosts`, and the hosts of the URLs among the connection's values and its
    inputs' defaults."""
    chosen = next((c for c in definition.connections if c.key == connection.key), None)
    chosen = chosen or (definition.connections[0] if definition.connections else None)
    hosts = [h.lower() for h in (chosen.hosts if chosen else [])]
    inputs = chosen.inputs if chosen else []
    secret = {i.key for i in inputs if i.type == "password"}
    urls = [definition.info.__dict__["api-base-url"]]
    urls += [i.default for i in inputs if i.default]
    urls += [v for k, v in connection.values if k not in secret]
    return list(dict.fromkeys(hosts + url_hosts(urls)))


def main():
    args = parse_args()
    try:
        host = Host(args.wasm)
        values = [("api-base-url", args.api_base_url)] if args.api_base_url else []
        connection = record(key="", values=values, **{"access-token": args.token})
        definition = host.call(DEFINITION, "describe")
        allow = [h.lower() for h in args.allow] if args.allow else default_allow_hosts(definition, connection)
        print(f"egress: allow-list {', '.join(allow)}", file=sys.stderr)
        # The preflight check (see the module's docstring): every URL the connection names.
        outside = [h for h in url_hosts(v for _, v in connection.values) if h not in allow]
        if outside:
            err = {
                "kind": "invalid-input",
                "input": "api-base-url",
                "message": f"this host refuses to run: {', '.join(outside)} is not on the allow-list",
            }
            print(json.dumps({"err": err}))
            return 1
        result = host.call(ACTIONS, args.action, connection, input_record(json.loads(args.input)))
    except (wasmtime.WasmtimeError, LookupError, ValueError, TypeError, OSError) as e:
        print(f"host failure: {e}", file=sys.stderr)
        return 2
    print(json.dumps(plain(result)))
    return 0 if result.tag == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
