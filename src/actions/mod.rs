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

use crate::definition::{Action, TextRule};
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
pub mod workspace_list;

registry! {
    create_dataset: CreateDatasetInput,
    create_rows: CreateRowsInput,
    delete_dataset: DeleteDatasetInput,
    delete_rows: DeleteRowsInput,
    execute_dax_query: ExecuteDaxQueryInput,
    export_report_to_file: ExportReportToFileInput,
    get_dataset: GetDatasetInput,
    get_refresh_history: GetRefreshHistoryInput,
    list_dashboards: ListDashboardsInput,
    list_datasets: ListDatasetsInput,
    list_groups: ListGroupsInput,
    list_imports: ListImportsInput,
    list_reports: ListReportsInput,
    list_tables: ListTablesInput,
    raw_request: RawRequestInput,
    refresh_dataset: RefreshDatasetInput,
    update_table: UpdateTableInput,
}

/// The action with this key.
pub fn action(key: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.key == key)
}

/// Interprets a successful answer.
type Interpret = Box<dyn FnMut(Response) -> Result<Output, ActionError>>;

/// Maps an error answer.
type MapError = Box<dyn Fn(&Response) -> ActionError>;

/// An action of one request: send it, map a 2xx answer with `interpret`, any other answer
/// into an [`ActionError`].
pub struct Single {
    request: Option<Request>,
    interpret: Interpret,
    policy: RetryPolicy,
    debug: bool,
    /// The workspace the request is in, named by a 404's error.
    workspace: Option<String>,
    /// Maps an error answer, when the action reads its errors itself.
    error: Option<MapError>,
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
            workspace: None,
            error: None,
        }
    }

    /// The same, mapping an error answer with `error` instead of the usual mapping.
    pub fn with_error(mut self, error: impl Fn(&Response) -> ActionError + 'static) -> Self {
        self.error = Some(Box::new(error));
        self
    }

    /// The same, in this workspace (None: My Workspace): a 404 says the workspace may be
    /// what is missing.
    pub fn in_workspace(mut self, workspace: Option<&str>) -> Self {
        self.workspace = workspace.map(str::to_string);
        self
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
            Some(Ok(response)) => Step::Done(Err(match &self.error {
                Some(error) => error(&response),
                None => in_workspace(
                    ActionError::from_response(&response),
                    self.workspace.as_deref(),
                ),
            })),
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

/// A GUID as [`is_guid`] takes it, for the patterns below (a macro, so that `concat!` can
/// build them as constants).
macro_rules! guid_pattern {
    () => {
        "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    };
}

/// The `pattern` of an ID input ([`guid`]): a GUID, white space around it allowed (the
/// value is trimmed first).
pub const GUID_PATTERN: &str = concat!(r"^\s*", guid_pattern!(), r"\s*$");

/// The `pattern` of the Workspace input ([`workspace`]): a GUID, or empty (My Workspace).
pub const WORKSPACE_PATTERN: &str = concat!(r"^\s*(?:", guid_pattern!(), r")?\s*$");

/// The rule of an ID input: [`GUID_PATTERN`].
pub const GUID_RULE: TextRule = TextRule {
    pattern: GUID_PATTERN,
    max_length: None,
};

/// The rule of the Workspace input: [`WORKSPACE_PATTERN`].
pub const WORKSPACE_RULE: TextRule = TextRule {
    pattern: WORKSPACE_PATTERN,
    max_length: None,
};

/// Whether `id` is a GUID (`8-4-4-4-12` hex digits).
fn is_guid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A required ID input `key` (a GUID, `8-4-4-4-12` hex digits) of `what` ("dataset").
pub fn guid<'a>(key: &str, what: &str, value: &'a str) -> Result<&'a str, ActionError> {
    let id = required(key, value)?;
    if !is_guid(id) {
        return Err(ActionError::invalid(
            key,
            format!(
                "must be a {what} ID, a GUID such as cfafbeb1-8037-4d0c-896e-a46fb27ff229; got {id:?}"
            ),
        ));
    }
    Ok(id)
}

/// A dataset ID: a GUID.
pub fn dataset_id(value: &str) -> Result<&str, ActionError> {
    guid("dataset-id", "dataset", value)
}

/// The picklist input `key` of `action`: one of its choices' values, in any case; empty or
/// missing is its default.
pub fn choice(
    action: &Action,
    key: &str,
    value: Option<&str>,
) -> Result<&'static str, ActionError> {
    let input = action.input(key);
    let values = input.choices.iter().map(|(_, v)| *v);
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(input.default.unwrap_or_default());
    };
    values
        .clone()
        .find(|v| v.eq_ignore_ascii_case(value))
        .ok_or_else(|| {
            let allowed: Vec<&str> = values.collect();
            ActionError::invalid(
                key,
                format!("must be {}; got {value:?}", allowed.join(", ")),
            )
        })
}

/// The Wait Timeout (s) input of `action`, its default applied and its bounds checked.
pub fn wait_timeout(
    action: &Action,
    value: Option<i64>,
) -> Result<std::time::Duration, ActionError> {
    let key = inputs::WAIT_TIMEOUT.key;
    let default = action.input(key).default.and_then(|d| d.parse().ok());
    let seconds = match value.or(default) {
        Some(v) => crate::paging::bounded(action, key, v)?,
        None => 0,
    };
    Ok(std::time::Duration::from_secs(seconds))
}

/// The Workspace input: `None` (empty or missing) is My Workspace, anything else must be a
/// workspace (group) ID, a GUID.
pub fn workspace(value: Option<&str>) -> Result<Option<&str>, ActionError> {
    let Some(id) = value.map(str::trim).filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    if !is_guid(id) {
        return Err(ActionError::invalid(
            "workspace",
            format!(
                "must be a workspace ID, a GUID such as f089354e-8366-4e18-aea3-4cb4a3a50b48 \
                 (or empty for My Workspace); got {id:?}"
            ),
        ));
    }
    Ok(Some(id))
}

/// The API URL of `segments` in `workspace`: `/groups/{id}/...` in a workspace, as
/// Microsoft's API scopes every call, and the plain path in My Workspace.
pub fn scoped_url(workspace: Option<&str>, segments: &[&str], query: &[(&str, String)]) -> String {
    match workspace {
        Some(id) => {
            let mut scoped = vec!["groups", id];
            scoped.extend_from_slice(segments);
            crate::http::api_url(&scoped, query)
        }
        None => crate::http::api_url(segments, query),
    }
}

/// An error answer's error, which for a 404 in a workspace also says that the workspace may
/// be what is missing: the service answers the same for a workspace the user cannot see.
pub fn in_workspace(mut error: ActionError, workspace: Option<&str>) -> ActionError {
    if let (Some(id), crate::error::ErrorKind::NotFound) = (workspace, error.kind) {
        error.message.push_str(&format!(
            " (in the workspace {id}: check that it exists and that you are a member of it)"
        ));
    }
    error
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
    workspace: Option<&str>,
    segments: &[&str],
    top: Option<i64>,
    page_offset: Option<i64>,
) -> Result<Single, ActionError> {
    let page = crate::paging::page(action, top, page_offset)?;
    let request = Request::new(
        crate::http::Method::Get,
        scoped_url(workspace, segments, &[]),
    );
    Ok(Single::new(request, move |r| crate::paging::apply(page, &r)).in_workspace(workspace))
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

/// The checks every workspace list shares (Top 1 and Page Offset 1 of three give the second;
/// a Top over 1000 is refused as `top`), given how to build the action's exchange from Top
/// and Page Offset; returns the first request as a snapshot value.
#[cfg(test)]
pub(crate) fn check_paged_list(
    build: impl Fn(Option<i64>, Option<i64>) -> Result<Single, ActionError>,
) -> serde_json::Value {
    let ex = build(Some(1), Some(1)).expect("a valid page");
    let request = snapshot(ex.request().expect("a request"));
    assert_eq!(
        list_of_three(ex),
        r#"{"@odata.context":"ctx","value":[{"id":"b"}]}"#
    );
    let e = build(Some(1001), None).expect_err("Top over 1000");
    assert_eq!(e.input.as_deref(), Some("top"));
    request
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

    /// Whether `value` matches `pattern` as a JSON Schema validator (ECMA-262) sees it.
    fn matches(pattern: &str, value: &str) -> bool {
        let schema = serde_json::json!({"type": "string", "pattern": pattern});
        jsonschema::draft7::new(&schema)
            .expect("an ECMA-262 pattern")
            .is_valid(&serde_json::json!(value))
    }

    /// The declared patterns (and the table name's length) take exactly what the checks
    /// take, and every input the checks read declares them.
    #[test]
    fn declared_patterns_are_the_checks() {
        let ids = [
            "cfafbeb1-8037-4d0c-896e-a46fb27ff229",
            " CFAFBEB1-8037-4D0C-896E-A46FB27FF229 ",
            "",
            "  ",
            "nope",
            "cfafbeb1-8037-4d0c-896e-a46fb27ff22",
            "cfafbeb1-8037-4d0c-896e-a46fb27ff22g",
            "cfafbeb18037-4d0c-896e-a46fb27ff2299",
            "cfafbeb1-8037-4d0c-896e-a46fb27ff229/rows",
            "../datasets",
        ];
        for id in ids {
            assert_eq!(
                matches(GUID_PATTERN, id),
                guid("report-id", "report", id).is_ok(),
                "{id:?}"
            );
            assert_eq!(
                matches(WORKSPACE_PATTERN, id),
                workspace(Some(id)).is_ok(),
                "{id:?}"
            );
        }
        let long = "x".repeat(crate::columns::MAX_TABLE_NAME);
        let too_long = "é".repeat(crate::columns::MAX_TABLE_NAME + 1);
        for name in [
            "Sales",
            "Sales #1",
            "Ventes été",
            "a-b@c^d_e~f",
            " padded\t",
            long.as_str(),
            too_long.as_str(),
            "",
            " \t ",
            "a/b",
            "a.b",
            "a?b",
            "Sales (2026)",
            "x\u{7}y",
            "a[b]",
        ] {
            let input = inputs::TABLE_NAME;
            let rule = input.rule.unwrap();
            let declared = matches(rule.pattern, name)
                && name.chars().count() <= rule.max_length.unwrap() as usize;
            assert_eq!(
                declared,
                crate::columns::table_name("table-name", name).is_ok(),
                "{name:?}"
            );
        }
        // Every action's input with one of these checks declares its rule.
        for action in ACTIONS {
            for input in action.inputs {
                let expected = match input.key {
                    "dataset-id" | "report-id" => Some(&GUID_RULE),
                    "workspace" => Some(&WORKSPACE_RULE),
                    "table-name" => Some(&crate::columns::TABLE_NAME_RULE),
                    _ => None,
                };
                assert_eq!(input.rule, expected, "{} {}", action.key, input.key);
            }
        }
    }

    const WORKSPACE_ID: &str = "f089354e-8366-4e18-aea3-4cb4a3a50b48";

    #[test]
    fn workspaces() {
        assert_eq!(workspace(None).unwrap(), None);
        assert_eq!(workspace(Some("  ")).unwrap(), None);
        assert_eq!(
            workspace(Some(&format!(" {WORKSPACE_ID} "))).unwrap(),
            Some(WORKSPACE_ID)
        );
        for bad in ["me", "My Workspace", "f089354e-8366-4e18-aea3", "../groups"] {
            let e = workspace(Some(bad)).unwrap_err();
            assert_eq!(e.input.as_deref(), Some("workspace"), "{bad}");
            assert!(e.message.contains("My Workspace"), "{}", e.message);
        }
    }

    #[test]
    fn scoped_urls_insert_the_group() {
        assert_eq!(
            scoped_url(Some(WORKSPACE_ID), &["datasets", "a b"], &[]),
            format!(
                "{}/groups/{WORKSPACE_ID}/datasets/a%20b",
                crate::http::API_BASE
            )
        );
        assert_eq!(
            scoped_url(None, &["reports"], &[]),
            format!("{}/reports", crate::http::API_BASE)
        );
    }

    /// Every action that takes a workspace sends its request under `/groups/{id}` with one,
    /// and refuses a workspace that is not an ID before building any request.
    #[test]
    #[expect(
        clippy::field_reassign_with_default,
        reason = "one macro sets the workspace of every action's input"
    )]
    fn every_workspace_action_scopes_its_request() {
        let id = "cfafbeb1-8037-4d0c-896e-a46fb27ff229";
        let ws = Some(WORKSPACE_ID.to_string());
        let bad = Some("nope".to_string());
        let first_url = |mut ex: Box<dyn crate::exchange::Exchange + '_>| match ex.step(None) {
            Step::Send(request) => request.url,
            other => panic!("no request: {other:?}"),
        };
        let columns = r#"[{"name":"a","dataType":"Int64"}]"#.to_string();
        let context = Context::default();
        let mut checked: Vec<String> = Vec::new();
        macro_rules! check {
            ($module:ident, $input:expr) => {{
                let mut input = $input;
                input.workspace = ws.clone();
                let url = first_url(Box::new($module::exchange(&input, &context).unwrap()));
                let scoped = format!("{}/groups/{WORKSPACE_ID}/", crate::http::API_BASE);
                assert!(url.starts_with(&scoped), "{}: {url}", stringify!($module));
                input.workspace = bad.clone();
                let e = $module::exchange(&input, &context).err().expect("refused");
                assert_eq!(
                    e.input.as_deref(),
                    Some("workspace"),
                    "{}",
                    stringify!($module)
                );
                checked.push(stringify!($module).replace('_', "-"));
            }};
        }
        check!(
            create_dataset,
            create_dataset::CreateDatasetInput {
                dataset_name: "d".into(),
                columns: columns.clone(),
                table_name: "t".into(),
                ..Default::default()
            }
        );
        check!(
            create_rows,
            create_rows::CreateRowsInput {
                dataset_id: id.into(),
                table_name: "t".into(),
                rows: "[{}]".into(),
                ..Default::default()
            }
        );
        check!(
            delete_rows,
            delete_rows::DeleteRowsInput {
                dataset_id: id.into(),
                table_name: "t".into(),
                ..Default::default()
            }
        );
        check!(
            delete_dataset,
            delete_dataset::DeleteDatasetInput {
                dataset_id: id.into(),
                ..Default::default()
            }
        );
        check!(
            execute_dax_query,
            execute_dax_query::ExecuteDaxQueryInput {
                dataset_id: id.into(),
                query: "EVALUATE 'T'".into(),
                ..Default::default()
            }
        );
        check!(
            export_report_to_file,
            export_report_to_file::ExportReportToFileInput {
                report_id: id.into(),
                ..Default::default()
            }
        );
        check!(
            get_refresh_history,
            get_refresh_history::GetRefreshHistoryInput {
                dataset_id: id.into(),
                ..Default::default()
            }
        );
        check!(
            refresh_dataset,
            refresh_dataset::RefreshDatasetInput {
                dataset_id: id.into(),
                ..Default::default()
            }
        );
        check!(
            get_dataset,
            get_dataset::GetDatasetInput {
                dataset_id: id.into(),
                ..Default::default()
            }
        );
        check!(
            list_dashboards,
            list_dashboards::ListDashboardsInput::default()
        );
        check!(list_imports, list_imports::ListImportsInput::default());
        check!(list_datasets, list_datasets::ListDatasetsInput::default());
        check!(list_reports, list_reports::ListReportsInput::default());
        check!(
            list_tables,
            list_tables::ListTablesInput {
                dataset_id: id.into(),
                ..Default::default()
            }
        );
        check!(
            update_table,
            update_table::UpdateTableInput {
                dataset_id: id.into(),
                table_name: "t".into(),
                columns: columns.clone(),
                ..Default::default()
            }
        );
        // Every action whose definition has the Workspace input was checked.
        let mut with_workspace: Vec<&str> = ACTIONS
            .iter()
            .filter(|a| a.inputs.iter().any(|i| i.key == "workspace"))
            .map(|a| a.key)
            .collect();
        with_workspace.sort();
        checked.sort();
        assert_eq!(checked, with_workspace);
    }

    /// A picker is one the component has, and what it depends on are inputs of the same
    /// action that come before it in the form.
    #[test]
    fn pickers_depend_on_earlier_inputs_of_their_action() {
        let mut pickable = 0;
        for action in ACTIONS {
            for (at, input) in action.inputs.iter().enumerate() {
                let Some(picker) = input.picker else { continue };
                pickable += 1;
                assert!(
                    crate::definition::picker::PICKERS.contains(&picker.key),
                    "{}/{}: {}",
                    action.key,
                    input.key,
                    picker.key
                );
                for key in picker.depends_on {
                    let before = action.inputs[..at].iter().any(|i| i.key == *key);
                    assert!(before, "{}/{} depends on {key}", action.key, input.key);
                }
            }
        }
        assert!(pickable >= 7 + 4 + 3, "{pickable} pickable inputs");
    }

    #[test]
    fn a_404_in_a_workspace_names_it() {
        let e = ActionError::from_response(&Response {
            status: 404,
            headers: Vec::new(),
            body: br#"{"error":{"code":"PowerBIEntityNotFound"}}"#.to_vec(),
        });
        let hinted = in_workspace(e.clone(), Some(WORKSPACE_ID));
        assert!(hinted.message.contains(WORKSPACE_ID), "{}", hinted.message);
        assert_eq!(in_workspace(e.clone(), None), e);
    }

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
