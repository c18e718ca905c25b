#!/usr/bin/env python3
"""Where the calling thread's CPU goes inside pbi_host::Connector::invoke, by phase.

    perf record -F 2999 --call-graph dwarf,16384 -o invoke.data \
        target/release/pbi-bench --invoke-loop 1500
    perf script -i invoke.data -F comm,tid,ip,sym > invoke.script
    python3 crates/bench/scripts/invoke-profile.py invoke.script

Each sample whose stack holds Connector::invoke is put in the first category (in the order
below) that any frame under invoke matches. Guest (JIT) frames cannot be unwound through,
so guest code is under-counted: use pbi-bench's own phase timings for it.
"""
import sys, re, collections
cats = [
 ("schema: compile validator (jsonschema::validator_for)", r"jsonschema::validator_for|jsonschema::compiler"),
 ("schema: validate", r"jsonschema::"),
 ("schema: build action_schema", r"pbi_host::manifest::"),
 ("check_inputs other", r"pbi_host::validate::check_inputs"),
 ("JSON->Val", r"pbi_host::value::json_to_val|pbi_host::value::convert"),
 ("store drop (free instance, munmap memory)", r"drop_in_place<wasmtime::runtime::store::StoreInner|StoreOpaque as core::ops::drop::Drop"),
 ("store + instantiate (allocate instance, mmap memory image)", r"InstancePre.*instantiate|component::instance::Instantiator|allocate_instance|Store<T>::try_new|Store<T>>::new|OwnedImports|on_demand|MmapMemory::new|Instance::initialize|get_export_by_ind|lookup_vmdef|trampoli"),
 ("store/WASI context setup", r"WasiCtxBuilder|MemoryOutputPipe|WasiHttpCtx::new"),
 ("guest blocked: in_tokio/block_on (host side of poll)", r"wasmtime_wasi::runtime::in_tokio|block_on"),
 ("host wasi-http imports", r"wasmtime_wasi_http::"),
 ("host wasi imports", r"wasmtime_wasi::"),
 ("lower/lift args+results", r"component::func::.*(lower|lift)|typed::|Val::lift|Val::lower|values::"),
 ("result: val_to_json / action_result", r"val_to_json|action_result|parse_json_text"),
 ("the call (component call machinery; guest JIT frames mostly not unwound)", r"Func::call|func::Func|component::concurrent"),
 ("drop of the host state", r"drop_in_place<pbi_host::connector::HostState>|ComponentStoreData::dro"),
 ("egress setup / scrub", r"EgressPolicy|egress::|default_allow_hosts|secrets_of"),
]
cre=[(n,re.compile(p)) for n,p in cats]
counts=collections.Counter(); others=collections.Counter(); total=0
stack=[]; 
def flush():
    global total
    if not stack: return
    syms=[s for s in stack]
    try:
        i=next(k for k,s in enumerate(syms) if "pbi_host::connector::Connector::invoke" in s)
    except StopIteration:
        return
    total+=1
    inner=syms[:i]  # frames from leaf up to invoke
    # search from invoke downwards (outermost first)
    for n,c in cre:
        if any(c.search(s) for s in inner):
            counts[n]+=1; return
    counts["other (invoke itself, allocation, ...)"]+=1
    others[inner[-1] if inner else "invoke self"]+=1
for line in open(sys.argv[1], errors="replace"):
    if not line.strip():
        flush(); stack=[]; continue
    if line[0] not in " \t":
        flush(); stack=[]; continue
    parts=line.strip().split(None,1)
    stack.append(parts[1] if len(parts)>1 else "?")
flush()
print("samples under Connector::invoke:", total)
for n,c in counts.most_common():
    print(f"{100*c/total:5.1f}%  {n}")

print("top 'other' direct children:")
for n,c in others.most_common(12): print(c, n[:150])
