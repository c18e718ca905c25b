//! A component that misbehaves on purpose, for the host's containment tests
//! (`crates/host/tests/containment.rs`, `crates/host/tests/pool.rs`). See the crate's
//! README for what each action proves about the host.
//!
//! Its world (`wit/misbehave.wit`, package `misbehave:component@0.1.0`) includes the generic
//! contract `workflow:connector/base@0.3.0` and exports its own `actions` interface, so the
//! generic host loads it like any connector. Each action is named by what it does:
//!
//! | action | what it does |
//! |---|---|
//! | `panic` | panics (a trap: `unreachable`, as the profile aborts on panic) |
//! | `spin-forever` | loops forever without calling the host |
//! | `allocate-forever` | allocates 1 MiB blocks until memory runs out |
//! | `fetch` | sends a request to `url` through wasi:http and reads the whole body, answering `{"status":S,"bytes":N}` (with the connection's access token as a bearer header, when there is one); `timeout-ms` is its first-byte and between-bytes timeout; with `upload-mib`, it is a POST with a body of that many MiB |
//! | `sleep-an-hour` | sleeps for an hour on the monotonic clock (a wait inside the host) |
//! | `return-at-once` | answers `{"ok":true}`: proves the next call works; its inputs (ignored) have the pickers below |
//!
//! The OAuth functions answer every call with "misbehave has no OAuth".
//!
//! `list-choices` (the contract's `choices` interface) has deterministic pickers, attached to
//! `return-at-once`'s inputs, for the host's choices tests (`crates/host/tests/choices.rs`):
//!
//! | input | picker | what it lists |
//! |---|---|---|
//! | `note` | none | (the host refuses to list it) |
//! | `item` | `numbers` | `Item 1` to `Item 25` (values `1` to `25`): labels containing the search (ignoring case), then `skip` and `top`, with `more` |
//! | `many` | `too-many` | 50 choices whatever `top` asks for: the host must cut the page |
//! | `echo` | `echo`, depends on `note` and `item` | one choice per input it was given: the key as label, its text as value |
//! | `lost` | `no-such-picker` | nothing: an `invalid-input` error naming `picker`, whose message carries the access token (the host must scrub it) |
//!
//! Everything is compiled for wasm32 only (`crates/component/build.rs` builds it for
//! `wasm32-wasip2`); the native build is an empty library.

#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod component;
