//! A connector component that misbehaves on purpose, for the host's containment tests
//! (`crates/host/tests/containment.rs`).
//!
//! It implements the same world as the Power BI connector (`wit/connector.wit`, world
//! `connector`), so the generic host loads it like any connector, but each action does one
//! bad thing:
//!
//! | action | what it does |
//! |---|---|
//! | `list-datasets` | panics (a trap: `unreachable`, as the profile aborts on panic) |
//! | `list-groups` | loops forever without calling the host |
//! | `list-reports` | allocates 1 MiB blocks until memory runs out |
//! | `list-tables` | GETs the URL given as `dataset-id` through wasi:http and reads the whole body, counting bytes; `top`, when given, is its first-byte and between-bytes timeout in ms |
//! | `update-table` | sleeps for an hour on the monotonic clock (a wait inside the host) |
//! | `delete-rows` | returns `{"ok":true}`: proves the next call works |
//!
//! The other functions return a plain output or error and are not described.
//!
//! Everything is compiled for wasm32 only; the native build is an empty library.

#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod component;
