//! The actions, one module each, and the registry that lists them.
//!
//! Every action module has the same shape, so that everything else about an action can be
//! derived from one line of the `registry!` below:
//!
//! - `pub const DEFINITION: Action`: its key (the name of its WIT function), label,
//!   description and inputs, with the documentation's labels, comments, defaults and bounds
//!   (inputs several actions share come from [`inputs`]);
//! - its input struct, declared with `action_input!` so that its fields mirror the WIT
//!   record one to one (on wasm32 the macro also converts the wit-bindgen record into it);
//! - `pub fn exchange(input: &XInput, context: &Context) -> Result<E, ActionError>` where `E`
//!   is an [`Exchange`]: it validates every input before any request exists, builds the
//!   requests and interprets the answers. It is sans-IO: anything it needs from outside
//!   (such as randomness) comes in the [`Context`].
//!
//! From the registry come the `pub mod` declarations, [`ACTIONS`] (so
//! the WIT `describe` answer, the manifest and the docs),
//! [`COUNT`], and on wasm32 the whole `impl Guest` of the WIT `actions` interface in
//! `component.rs`: one method per action that converts the record and runs the exchange.
//!
//! # Adding an action
//!
//! 1. Its function and input record in `wit/connector.wit` (`my-action: func(connection:
//!    connection, input: my-action-input) -> result<output, action-error>`).
//! 2. Its module `src/actions/my_action.rs`: `DEFINITION` (key `my-action`, inputs keyed as the
//!    record's fields), `action_input! { pub struct MyActionInput { .. } }` with the
//!    record's fields in snake case (deriving `Default`: the registry's tests build each
//!    input with it), `exchange`, and unit tests with snapshots of its requests. `cargo fmt`
//!    does not see modules that a macro declares: format them with
//!    `rustfmt --edition 2024 src/actions/*.rs`.
//! 3. One line `my_action: MyActionInput,` in the `registry!` call below, at its place in the
//!    documentation's order (the order of `describe`, the manifest and the docs).
//! 4. Outside this crate: its sample inputs `crates/component/fixtures/my-action.json` (the
//!    build of `pbi-component` fails without them; every test suite and the demo use them),
//!    its test `fn my_action()` in `tests/e2e.rs` (`foreach_action!(assert_test_exists)` makes
//!    a missing one a compile error), its route in the local Power BI service
//!    (`crates/service`), then regenerate the manifest and the reference docs.
//!
//! The compiler checks the rest: a WIT function without a registry line leaves `Guest`
//! unimplemented, a record field missing from the struct (or the reverse) fails the
//! conversion, and the registry's tests check natively that each module's name is its key
//! and that its `exchange` has the entry point's shape.

use crate::definition::Action;
use crate::error::ActionError;
use crate::exchange::{Exchange, Output, Step};
use crate::http::{Request, Response};
use crate::retry::RetryPolicy;

/// What an action may take from the outside world besides its inputs. The core stays sans-IO:
/// the glue fills this in (from the clock on wasm32) and tests choose it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// A number that varies between calls: Raw Request's multipart boundary comes from it.
    pub seed: u64,
}

/// Declares an action's input struct, whose fields are those of its WIT record in snake case
/// and in the same order. On wasm32 it also converts the wit-bindgen record of the same name
/// (`crate::bindings::wa::<Name>`) into the struct with `From`, moving each field across: the
/// record is taken apart exhaustively, so a field added to one side and not the other does not
/// compile.
macro_rules! action_input {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )+
        }

        #[cfg(target_arch = "wasm32")]
        impl From<crate::bindings::wa::$name> for $name {
            fn from(record: crate::bindings::wa::$name) -> Self {
                let crate::bindings::wa::$name { $($field),+ } = record;
                $name { $($field),+ }
            }
        }
    };
}

/// The registry: from `module: InputStruct` lines, in the documentation's order, it declares
/// the modules, [`ACTIONS`] and [`COUNT`], and on wasm32 `with_actions!`, which hands the
/// same lines to a macro of `component.rs` that writes the WIT `Guest` impl from them.
macro_rules! registry {
    ($($module:ident : $input:ident),+ $(,)?) => {
        $(pub mod $module;)+

        /// Every action's definition, in the registry's order (the documentation's).
        pub const ACTIONS: &[Action] = &[$($module::DEFINITION),+];

        /// How many actions the registry has, counted from its lines rather than from
        /// [`ACTIONS`], so a test can check that both agree.
        pub const COUNT: usize = [$(stringify!($module)),+].len();

        // Natively nothing calls the entry points by name (only the wasm32 glue does): these
        // tests make `cargo test` catch a module that does not fit the glue.
        #[cfg(test)]
        mod registry_tests {
            use super::*;

            #[test]
            fn each_module_is_named_after_its_key() {
                // wit-bindgen names the WIT function `my-action` `my_action`: the generated
                // `Guest` impl only lines up when the module, the key and the function agree.
                let modules = [$(stringify!($module)),+];
                assert_eq!(modules.len(), ACTIONS.len());
                for (module, action) in modules.iter().zip(ACTIONS) {
                    assert_eq!(action.key.replace('-', "_"), *module);
                }
            }

            #[test]
            fn each_module_has_the_entry_point() {
                fn is_exchange<E: Exchange>(_: Result<E, ActionError>) {}
                $(is_exchange($module::exchange(
                    &$module::$input::default(),
                    &Context::default(),
                ));)+
            }
        }

        // `$callback` is left alone by this macro (it is not one of its variables), so it
        // becomes the parameter of the macro defined here.
        /// Calls `$callback! { module: Input, .. }` with every line of the registry.
        #[cfg(target_arch = "wasm32")]
        macro_rules! with_actions {
            ($callback:ident) => {
                $callback! { $($module: $input),+ }
            };
        }
        #[cfg(target_arch = "wasm32")]
        pub(crate) use with_actions;
    };
}

pub mod inputs;

registry! {
    create_dataset: CreateDatasetInput,
    create_rows: CreateRowsInput,
    delete_rows: DeleteRowsInput,
    list_datasets: ListDatasetsInput,
    list_groups: ListGroupsInput,
    list_reports: ListReportsInput,
    list_tables: ListTablesInput,
    raw_request: RawRequestInput,
    update_table: UpdateTableInput,
}

/// The action with this key.
pub fn action(key: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.key == key)
}

/// Interprets a successful answer.
type Interpret = Box<dyn FnMut(Response) -> Result<Output, ActionError>>;

/// An action of one request: send it, map a 2xx answer with `interpret`, any other answer
/// into an [`ActionError`].
pub struct Single {
    request: Option<Request>,
    interpret: Interpret,
    policy: RetryPolicy,
    debug: bool,
}

impl std::fmt::Debug for Single {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Single")
            .field("request", &self.request)
            .field("policy", &self.policy)
            .field("debug", &self.debug)
            .finish_non_exhaustive()
    }
}

impl Single {
    /// One request with the default retry policy.
    pub fn new(
        request: Request,
        interpret: impl FnMut(Response) -> Result<Output, ActionError> + 'static,
    ) -> Self {
        Single {
            request: Some(request),
            interpret: Box::new(interpret),
            policy: RetryPolicy::DEFAULT,
            debug: false,
        }
    }

    /// The same, with this retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same, writing request and answer to the log when `debug` is set.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// The request it will send.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_ref()
    }
}

impl Exchange for Single {
    fn step(&mut self, outcome: Option<Result<Response, ActionError>>) -> Step {
        match outcome {
            None => match self.request.take() {
                Some(request) => Step::Send(request),
                None => Step::Done(Err(ActionError::transport("request already sent"))),
            },
            Some(Ok(response)) if response.status < 400 => Step::Done((self.interpret)(response)),
            Some(Ok(response)) => Step::Done(Err(ActionError::from_response(&response))),
            Some(Err(e)) => Step::Done(Err(e)),
        }
    }

    fn policy(&self) -> RetryPolicy {
        self.policy.clone()
    }

    fn debug(&self) -> bool {
        self.debug
    }
}

/// A required text input: trimmed, not empty.
pub fn required<'a>(key: &str, value: &'a str) -> Result<&'a str, ActionError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ActionError::invalid(
            key,
            "is required and must not be empty",
        ));
    }
    Ok(value)
}

/// A dataset ID: a GUID (`8-4-4-4-12` hex digits).
pub fn dataset_id(value: &str) -> Result<&str, ActionError> {
    let id = required("dataset-id", value)?;
    let groups: Vec<&str> = id.split('-').collect();
    let shape = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if !shape {
        return Err(ActionError::invalid(
            "dataset-id",
            format!(
                "must be a dataset ID, a GUID such as cfafbeb1-8037-4d0c-896e-a46fb27ff229; got {id:?}"
            ),
        ));
    }
    Ok(id)
}

/// The body of a JSON answer, as JSON text: `null` for an empty body. The text is checked to
/// be JSON and handed on as it came, not re-serialized.
pub fn json_body(response: &Response) -> Result<Output, ActionError> {
    match json_text(&response.body) {
        Some(data) => Ok(Output { data, http: None }),
        None => Err(ActionError::unexpected_body(
            response,
            "a body that is not JSON",
        )),
    }
}

/// The body as JSON text if it is JSON (`null` when empty), trimmed.
pub fn json_text(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() {
        return Some("null".into());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(text.as_bytes()).ok()?;
    Some(text.to_string())
}

/// A list the API gives whole: `GET` it, then apply Page Offset and Top locally.
fn paged_list(
    action: &crate::definition::Action,
    segments: &[&str],
    top: Option<i64>,
    page_offset: Option<i64>,
) -> Result<Single, ActionError> {
    let page = crate::paging::page(action, top, page_offset)?;
    let request = Request::new(
        crate::http::Method::Get,
        crate::http::api_url(segments, &[]),
    );
    Ok(Single::new(request, move |r| {
        crate::paging::apply(page, &r)
    }))
}

/// Drives a list exchange against an answer of three items `a`, `b`, `c`; returns the data.
#[cfg(test)]
pub(crate) fn list_of_three(mut exchange: Single) -> String {
    use crate::exchange::{drive, scripted::Scripted};
    let mut t = Scripted::new([Scripted::answer(
        200,
        r#"{"@odata.context":"ctx","value":[{"id":"a"},{"id":"b"},{"id":"c"}]}"#,
    )]);
    drive(&mut exchange, &mut t).expect("a list").data
}

/// A request as a JSON value, for snapshots: method, url, headers, body (parsed when JSON).
#[cfg(test)]
pub(crate) fn snapshot(request: &Request) -> serde_json::Value {
    let body = match serde_json::from_slice::<serde_json::Value>(&request.body) {
        _ if request.body.is_empty() => serde_json::Value::Null,
        Ok(v) => v,
        Err(_) => String::from_utf8_lossy(&request.body).into_owned().into(),
    };
    serde_json::json!({
        "method": request.method.as_str(),
        "url": request.url,
        "headers": request.headers,
        "body": body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::CONNECTION;

    #[test]
    fn dataset_ids() {
        assert_eq!(
            dataset_id(" cfafbeb1-8037-4d0c-896e-a46fb27ff229 ").unwrap(),
            "cfafbeb1-8037-4d0c-896e-a46fb27ff229"
        );
        for bad in [
            "",
            "abc",
            "cfafbeb1-8037-4d0c-896e-a46fb27ff22",
            "cfafbeb1x8037-4d0c-896e-a46fb27ff229",
            "../../x",
        ] {
            let e = dataset_id(bad).unwrap_err();
            assert_eq!(e.input.as_deref(), Some("dataset-id"), "{bad}");
        }
    }

    fn is_kebab_case(key: &str) -> bool {
        !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '-')
    }

    #[test]
    fn every_registered_action_is_listed_once() {
        assert_eq!(ACTIONS.len(), crate::actions::COUNT);
        let mut keys: Vec<_> = ACTIONS.iter().map(|a| a.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ACTIONS.len(), "an action key repeats");
        for a in ACTIONS {
            assert_eq!(action(a.key).map(|found| found.key), Some(a.key));
        }
        assert!(action("no-such-action").is_none());
    }

    #[test]
    fn keys_are_kebab_case_and_input_keys_unique() {
        let connection = (CONNECTION.key, CONNECTION.inputs);
        for (key, inputs) in ACTIONS
            .iter()
            .map(|a| (a.key, a.inputs))
            .chain([connection])
        {
            assert!(is_kebab_case(key), "{key} is not kebab-case");
            let mut keys: Vec<_> = inputs.iter().map(|i| i.key).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), inputs.len(), "an input key of {key} repeats");
            for input in keys {
                assert!(is_kebab_case(input), "{key}: {input} is not kebab-case");
            }
        }
    }
}
