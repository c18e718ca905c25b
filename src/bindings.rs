//! The contract's types as wit-bindgen generates them from `wit/` (wasm32 only): the glue in
//! `component.rs` implements their `Guest` traits, and each action's `action_input!` converts
//! its own record. Kept apart from the glue so that the core's conversions depend on the
//! contract, not on the glue.

wit_bindgen::generate!({
    path: "wit",
    world: "connector",
});

/// The Power BI actions' records and `Guest` trait.
pub(crate) use exports::powerbi::connector::actions as wa;
/// The generic contract's `choices` interface (pickers).
pub(crate) use exports::workflow::connector::choices as wc;
/// The generic contract's `definition` interface.
pub(crate) use exports::workflow::connector::definition as wd;
/// The generic contract's `oauth` interface.
pub(crate) use exports::workflow::connector::oauth as wo;
/// The generic contract's shared types.
pub(crate) use exports::workflow::connector::types as wt;
