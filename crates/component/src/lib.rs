//! The workspace's components, built from the current sources by this crate's build script,
//! in one place that the tests, the `pbi` CLI and the bench share.
//!
//! - [`connector_wasm`]: the Power BI connector (`PBI_HOST_PREBUILT_COMPONENT` at build time
//!   names a file to use instead of building it);
//! - [`misbehave_wasm`]: `crates/misbehave`, which misbehaves on purpose for the host's
//!   containment tests (`PBI_HOST_PREBUILT_MISBEHAVE` likewise);
//! - [`foreach_action!`]: one macro call per function of the connector's exported `actions`
//!   interface, read from `wit/` at build time, the way wasmtime's `test-programs` lists its
//!   programs. `foreach_action!(assert_test_exists)` in a test file makes an action without
//!   its test a compile error:
//!
//! - [`sample_inputs`]: one sample-input fixture per action (`fixtures/<action>.json`), used
//!   by every test suite and the demo; the build fails when an exported action has none.
//!
//! ```ignore
//! macro_rules! assert_test_exists {
//!     ($action:ident) => {
//!         #[expect(unused_imports, reason = "only checks that the test exists")]
//!         use self::$action as _;
//!     };
//! }
//! pbi_component::foreach_action!(assert_test_exists);
//! ```

#![deny(missing_docs)]

use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/foreach_action.rs"));
include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

/// The text a fixture puts where a dataset's ID goes; [`sample_inputs`] replaces it.
pub const DATASET_ID_PLACEHOLDER: &str = "{dataset-id}";
/// The text a fixture puts where a non-push (refreshable) dataset's ID goes: the caller
/// provides one and replaces it with [`fill`].
pub const MODEL_DATASET_ID_PLACEHOLDER: &str = "{model-dataset-id}";
/// The text a fixture puts where a report's ID goes (replaced with [`fill`]).
pub const REPORT_ID_PLACEHOLDER: &str = "{report-id}";
/// The text a fixture puts where a workspace on a Premium, Embedded or Fabric capacity
/// goes (exporting a report needs one; replaced with [`fill`]).
pub const CAPACITY_WORKSPACE_PLACEHOLDER: &str = "{capacity-workspace}";

/// The sample inputs of `action` (its fixture), with every string value equal to
/// [`DATASET_ID_PLACEHOLDER`] replaced by `dataset_id`. `None` for an unknown action.
pub fn sample_inputs(action: &str, dataset_id: &str) -> Option<serde_json::Value> {
    let (_, text) = FIXTURES.iter().find(|(key, _)| *key == action)?;
    let mut inputs: serde_json::Value =
        serde_json::from_str(text).expect("fixtures are JSON (checked by a test)");
    fill(&mut inputs, DATASET_ID_PLACEHOLDER, dataset_id);
    Some(inputs)
}

/// Replaces every top-level string value of `inputs` equal to `placeholder` by `value`;
/// says whether there was one.
pub fn fill(inputs: &mut serde_json::Value, placeholder: &str, value: &str) -> bool {
    let mut found = false;
    if let Some(object) = inputs.as_object_mut() {
        for slot in object.values_mut() {
            if slot.as_str() == Some(placeholder) {
                *slot = value.into();
                found = true;
            }
        }
    }
    found
}

/// The connector component built from this workspace (`wasm32-wasip2`, the `component`
/// profile), or the file `PBI_HOST_PREBUILT_COMPONENT` named at build time.
pub fn connector_wasm() -> &'static Path {
    Path::new(env!("PBI_COMPONENT_WASM"))
}

/// The misbehaving test component (`crates/misbehave`), or the file
/// `PBI_HOST_PREBUILT_MISBEHAVE` named at build time.
pub fn misbehave_wasm() -> &'static Path {
    Path::new(env!("PBI_MISBEHAVE_WASM"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_components_are_wasm_components() {
        for path in [connector_wasm(), misbehave_wasm()] {
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // A component's preamble: the magic, then version 0x0d and layer 1.
            assert_eq!(&bytes[..8], b"\0asm\x0d\0\x01\0", "{}", path.display());
        }
    }

    #[test]
    fn every_fixture_is_a_json_object_and_fills_in_the_dataset() {
        assert_eq!(FIXTURES.len(), EXPORTED_ACTIONS.len());
        for action in EXPORTED_ACTIONS {
            let inputs = sample_inputs(action, "ds-1").expect("a fixture");
            assert!(inputs.is_object(), "{action}: {inputs}");
            assert!(
                !inputs.to_string().contains(DATASET_ID_PLACEHOLDER),
                "{action}"
            );
        }
        assert_eq!(
            sample_inputs("create-rows", "ds-1").unwrap()["dataset-id"],
            "ds-1"
        );
        assert!(sample_inputs("no-such-action", "x").is_none());
    }

    #[test]
    fn every_exported_action_is_listed_once() {
        let mut listed = Vec::new();
        macro_rules! push {
            ($action:ident) => {
                listed.push(stringify!($action).replace('_', "-"));
            };
        }
        foreach_action!(push);
        assert_eq!(listed, EXPORTED_ACTIONS);
        assert!(listed.iter().any(|a| a == "create-rows"), "{listed:?}");
        let mut unique = listed.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), listed.len());
    }
}
