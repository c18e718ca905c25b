//! Flow files: named steps, each an action with inputs that may refer to earlier steps'
//! outputs (see [`crate::template`]), with checks on what each step gave back. `pbi flow
//! run` and `pbi demo` run them through the same [`run`].
//!
//! ```yaml
//! steps:
//!   - name: groups
//!     action: list-groups
//!   - name: datasets
//!     action: list-datasets
//!     inputs:
//!       workspace: ${steps.groups.output.value[name=Sales].id}
//!     checks:
//!       - name: the workspace has datasets
//!         path: /value
//!         min-length: 1
//! ```

use crate::template::{self, Reference, Scope, Segment};
use anyhow::{Context, Result, anyhow, bail};
use pbi_host::{
    ActionDefinition, ActionError, ComponentDefinition, Connector, ErrorKind, InputType,
    Invocation, Session,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A flow as its file holds it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// What the flow is called (shown in the JSON result).
    #[serde(default)]
    pub name: Option<String>,
    /// What it does.
    #[serde(default)]
    pub description: Option<String>,
    /// The connection: an object of connection values, or the path of a connection file
    /// (relative to the flow file). Without it, `--connection` and the token flags apply.
    #[serde(default)]
    pub connection: Option<Value>,
    /// Variables the steps refer to as `${vars.NAME}`; `--var NAME=VALUE` sets or replaces
    /// one.
    #[serde(default)]
    pub vars: Map<String, Value>,
    /// The steps, run in order.
    pub steps: Vec<Step>,
}

/// One step: an action with its inputs, and checks on its output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's name, by which later steps refer to its output.
    pub name: String,
    /// The action's key, such as `create-dataset`.
    pub action: String,
    /// Its inputs by input key; strings may hold references.
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// Checks on its output, each `{name?, path, equals | not-equals | exists | length |
    /// min-length | min | max | contains}` (or the same under `expect:`).
    #[serde(default)]
    pub checks: Vec<Value>,
}

/// One check on a step's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What it checks, for people.
    pub name: String,
    /// Whether it reads the HTTP details instead of the output data (`of: http`).
    pub http: bool,
    /// Where the value is.
    pub path: Vec<Segment>,
    /// The path as written.
    pub path_text: String,
    /// What the value must be.
    pub expect: Expect,
}

/// What a checked value must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Equal to this (numbers compare by value: 25000 equals 25000.0).
    Equals(Value),
    /// Anything but this.
    NotEquals(Value),
    /// Present (true) or absent (false).
    Exists(bool),
    /// An array, object or string of exactly this many elements (characters).
    Length(Value),
    /// An array, object or string of at least this many.
    MinLength(Value),
    /// A number at least this.
    Min(Value),
    /// A number at most this.
    Max(Value),
    /// A string containing this text, or an array containing this element.
    Contains(Value),
}

/// The keys a check may have.
const CHECK_KEYS: [&str; 11] = [
    "name",
    "of",
    "path",
    "equals",
    "not-equals",
    "exists",
    "length",
    "min-length",
    "min",
    "max",
    "contains",
];

impl Check {
    /// Reads a check of step `step` from its file form.
    fn parse(step: &str, at: usize, value: &Value) -> Result<Self> {
        let wrong = |what: String| anyhow!("step `{step}`, check {}: {what}", at + 1);
        let Value::Object(object) = value else {
            return Err(wrong(
                "must be an object such as `{path: /value, min-length: 1}`".into(),
            ));
        };
        // `{name, expect: {path, equals}}` is the same as `{name, path, equals}`.
        let mut fields = object.clone();
        if let Some(expect) = fields.remove("expect") {
            let Value::Object(expect) = expect else {
                return Err(wrong("`expect` must be an object".into()));
            };
            fields.extend(expect);
        }
        if let Some(unknown) = fields.keys().find(|k| !CHECK_KEYS.contains(&k.as_str())) {
            return Err(wrong(format!(
                "unknown key `{unknown}` (a check has: {})",
                CHECK_KEYS.join(", ")
            )));
        }
        let http = match fields.get("of").map(|v| v.as_str()) {
            None | Some(Some("output")) => false,
            Some(Some("http")) => true,
            Some(_) => return Err(wrong("`of` must be `output` or `http`".into())),
        };
        let path_text = match fields.get("path") {
            None => String::new(),
            Some(Value::String(text)) => text.clone(),
            Some(_) => return Err(wrong("`path` must be text, such as `/rows/0`".into())),
        };
        // A dotted path may leave out its first dot: `value[0].id`.
        let dotted = if path_text.is_empty() || path_text.starts_with(['/', '.', '[']) {
            path_text.clone()
        } else {
            format!(".{path_text}")
        };
        let path = template::parse_path(&dotted).map_err(|e| wrong(e.to_string()))?;
        let mut expects = Vec::new();
        for (key, value) in &fields {
            let value = value.clone();
            let expect = match key.as_str() {
                "equals" => Expect::Equals(value),
                "not-equals" => Expect::NotEquals(value),
                "exists" => match value {
                    Value::Bool(exists) => Expect::Exists(exists),
                    _ => return Err(wrong("`exists` must be true or false".into())),
                },
                "length" => Expect::Length(value),
                "min-length" => Expect::MinLength(value),
                "min" => Expect::Min(value),
                "max" => Expect::Max(value),
                "contains" => Expect::Contains(value),
                _ => continue,
            };
            expects.push(expect);
        }
        let expect = match expects.len() {
            1 => expects.remove(0),
            0 => {
                return Err(wrong(
                    "says nothing to expect: give one of equals, not-equals, exists, length, \
                     min-length, min, max, contains"
                        .into(),
                ));
            }
            _ => {
                return Err(wrong(
                    "give one expectation per check (write several checks)".into(),
                ));
            }
        };
        let name = match fields.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(wrong("`name` must be text".into())),
            None => {
                let shown = if path_text.is_empty() {
                    "the output"
                } else {
                    &path_text
                };
                format!("{shown} {}", expect.describe())
            }
        };
        Ok(Self {
            name,
            http,
            path,
            path_text,
            expect,
        })
    }
}

impl Expect {
    fn describe(&self) -> String {
        match self {
            Self::Equals(v) => format!("equals {v}"),
            Self::NotEquals(v) => format!("is not {v}"),
            Self::Exists(true) => "exists".into(),
            Self::Exists(false) => "does not exist".into(),
            Self::Length(v) => format!("has length {v}"),
            Self::MinLength(v) => format!("has at least {v} elements"),
            Self::Min(v) => format!("is at least {v}"),
            Self::Max(v) => format!("is at most {v}"),
            Self::Contains(v) => format!("contains {v}"),
        }
    }

    /// The expected value with its references resolved.
    fn resolved(&self, scope: &Scope<'_>) -> Result<Self> {
        let r = |v: &Value| scope.resolve(v);
        Ok(match self {
            Self::Equals(v) => Self::Equals(r(v)?),
            Self::NotEquals(v) => Self::NotEquals(r(v)?),
            Self::Exists(b) => Self::Exists(*b),
            Self::Length(v) => Self::Length(r(v)?),
            Self::MinLength(v) => Self::MinLength(r(v)?),
            Self::Min(v) => Self::Min(r(v)?),
            Self::Max(v) => Self::Max(r(v)?),
            Self::Contains(v) => Self::Contains(r(v)?),
        })
    }

    /// Whether `found` (absent: `None`) meets it.
    fn holds(&self, found: Option<&Value>) -> bool {
        let number = |v: &Value| v.as_f64();
        let length = |v: &Value| match v {
            Value::Array(items) => Some(items.len() as f64),
            Value::Object(object) => Some(object.len() as f64),
            Value::String(text) => Some(text.chars().count() as f64),
            _ => None,
        };
        match (self, found) {
            (Self::Exists(exists), found) => found.is_some() == *exists,
            (_, None) => false,
            (Self::Equals(want), Some(found)) => same(want, found),
            (Self::NotEquals(want), Some(found)) => !same(want, found),
            (Self::Length(want), Some(found)) => {
                length(found).is_some_and(|l| number(want) == Some(l))
            }
            (Self::MinLength(want), Some(found)) => {
                matches!((length(found), number(want)), (Some(l), Some(w)) if l >= w)
            }
            (Self::Min(want), Some(found)) => {
                matches!((number(found), number(want)), (Some(f), Some(w)) if f >= w)
            }
            (Self::Max(want), Some(found)) => {
                matches!((number(found), number(want)), (Some(f), Some(w)) if f <= w)
            }
            (Self::Contains(want), Some(Value::String(text))) => {
                text.contains(&template::text_of(want))
            }
            (Self::Contains(want), Some(Value::Array(items))) => {
                items.iter().any(|item| same(want, item))
            }
            (Self::Contains(_), Some(_)) => false,
        }
    }
}

/// JSON equality with numbers compared by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

impl Flow {
    /// Reads a flow from `text`: JSON when `path` ends in `.json` (or, with another
    /// extension, when the text starts with `{`), YAML otherwise.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let json = match extension.as_deref() {
            Some("json") => true,
            Some("yaml" | "yml") => false,
            _ => text.trim_start().starts_with('{'),
        };
        let flow: Self = if json {
            serde_json::from_str(text)
                .with_context(|| format!("reading {} as a JSON flow", path.display()))?
        } else {
            serde_norway::from_str(text)
                .with_context(|| format!("reading {} as a YAML flow", path.display()))?
        };
        Ok(flow)
    }

    /// Reads the flow file at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the flow file {}", path.display()))?;
        Self::parse(&text, path)
    }

    /// The flow's connection object: its `connection` value, read from a file when it is
    /// a path (relative to `base`, the flow file's folder).
    pub fn connection_object(&self, base: &Path) -> Result<Option<Map<String, Value>>> {
        match &self.connection {
            None => Ok(None),
            Some(Value::Object(object)) => Ok(Some(object.clone())),
            Some(Value::String(file)) => {
                let path = base.join(file);
                match crate::read_json(&path)? {
                    Value::Object(object) => Ok(Some(object)),
                    _ => bail!(
                        "the flow's connection file {} must hold a JSON object",
                        path.display()
                    ),
                }
            }
            Some(_) => bail!(
                "the flow's `connection` must be an object of connection values or the path of a connection file"
            ),
        }
    }

    /// Checks the whole flow against the component before anything runs: step names, actions,
    /// input keys, checks, and that every reference names an earlier step or a variable.
    pub fn validate(&self, definition: &ComponentDefinition) -> Result<Vec<Vec<Check>>> {
        if self.steps.is_empty() {
            bail!("the flow has no steps");
        }
        let mut names: Vec<&str> = Vec::new();
        let mut all_checks = Vec::new();
        for step in &self.steps {
            let name = step.name.as_str();
            if !template::is_name(name) {
                bail!(
                    "step name `{name}`: use letters, digits, `_` and `-` only (later steps refer to it as steps.{name}.output)"
                );
            }
            if names.contains(&name) {
                bail!("two steps are named `{name}`: step names must be unique");
            }
            let action = definition.action(&step.action).ok_or_else(|| {
                let known: Vec<&str> = definition.actions.iter().map(|a| a.key.as_str()).collect();
                anyhow!(
                    "step `{name}`: the component has no action `{}` (it has: {})",
                    step.action,
                    known.join(", ")
                )
            })?;
            if let Some(key) = step.inputs.keys().find(|key| action.input(key).is_none()) {
                let keys: Vec<&str> = action.inputs.iter().map(|i| i.key.as_str()).collect();
                bail!(
                    "step `{name}`: {} has no input `{key}` (its inputs: {}; see `pbi actions {}`)",
                    step.action,
                    keys.join(", "),
                    step.action
                );
            }
            let checks = step
                .checks
                .iter()
                .enumerate()
                .map(|(at, check)| Check::parse(name, at, check))
                .collect::<Result<Vec<_>>>()?;
            let mut values: Vec<Value> = step.inputs.values().cloned().collect();
            for check in &checks {
                if let Expect::Equals(v)
                | Expect::NotEquals(v)
                | Expect::Length(v)
                | Expect::MinLength(v)
                | Expect::Min(v)
                | Expect::Max(v)
                | Expect::Contains(v) = &check.expect
                {
                    values.push(v.clone());
                }
            }
            for value in &values {
                let found =
                    template::references(value).with_context(|| format!("step `{name}`"))?;
                for reference in found {
                    match &reference {
                        Reference::Step { step: other, .. } if !names.contains(&other.as_str()) => {
                            let later = self.steps.iter().any(|s| s.name == *other);
                            bail!(
                                "step `{name}` refers to step `{other}`, {}",
                                if later || other == name {
                                    "which does not run before it"
                                } else {
                                    "which the flow does not have"
                                }
                            );
                        }
                        Reference::Var { name: var, .. } if !self.vars.contains_key(var) => {
                            bail!(
                                "step `{name}` refers to the variable `{var}`, which is not set (add it under `vars:` or pass --var {var}=VALUE)"
                            );
                        }
                        _ => {}
                    }
                }
            }
            names.push(name);
            all_checks.push(checks);
        }
        Ok(all_checks)
    }
}

/// How actions are called: straight through the connector, or through a signed-in session
/// that refreshes its token.
pub enum Caller<'c> {
    /// [`Connector::invoke_owned`] with this connection.
    Direct(&'c Connector, Value),
    /// A session on a token file.
    Session(Box<Session<'c>>),
}

impl Caller<'_> {
    fn invoke(&mut self, action: &str, inputs: Value) -> Result<Invocation> {
        let shown = crate::progress::Shown::new(action);
        let sink = shown.sink();
        let invocation = match self {
            Self::Direct(connector, connection) => {
                connector.invoke_with_progress(action, connection, inputs, move |p| sink(p))?
            }
            Self::Session(session) => session.invoke_with_progress(action, &inputs, sink)?,
        };
        shown.finish();
        Ok(invocation)
    }
}

/// How to run a flow.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Print each step's logs, requests and output to stderr.
    pub verbose: bool,
    /// Print the step lines to stderr (stdout is for the JSON result).
    pub lines_to_stderr: bool,
    /// Skip the steps before this one.
    pub resume_from: Option<String>,
    /// The resumed step's `start-row` input.
    pub start_row: Option<i64>,
    /// A result file: earlier steps' outputs are read from it when resuming, and it is
    /// written after every step.
    pub state: Option<PathBuf>,
    /// Variables over the flow's own.
    pub vars: Vec<(String, Value)>,
    /// How the flow is named in hints (`pbi flow run FILE`), if it is a file.
    pub file: Option<PathBuf>,
}

/// Prints a step line to stdout, or to stderr when stdout is for JSON.
macro_rules! say {
    ($options:expr, $($arg:tt)*) => {{
        if $options.lines_to_stderr {
            eprintln!($($arg)*);
        } else {
            out!($($arg)*);
        }
    }};
}

/// The outcome of a flow: the JSON result (`--output json`) and whether every step passed.
pub struct Outcome {
    /// `{"flow", "ok", "ms", "steps": [...], "failed-step", "resume"}`.
    pub report: Value,
    /// Whether every step ran and every check held.
    pub ok: bool,
}

/// Runs `flow` with `caller`; `connection` (without secrets) is what `${connection.KEY}`
/// reads. Errors are for a flow that cannot start (validation, a bad state file); a
/// failing step is an [`Outcome`] that is not ok.
pub fn run(
    flow: &Flow,
    definition: &ComponentDefinition,
    caller: &mut Caller<'_>,
    connection: &Map<String, Value>,
    options: &Options,
) -> Result<Outcome> {
    let mut flow = flow.clone();
    for (name, value) in &options.vars {
        flow.vars.insert(name.clone(), value.clone());
    }
    let checks = flow.validate(definition)?;
    let first = match &options.resume_from {
        None => 0,
        Some(from) => flow
            .steps
            .iter()
            .position(|step| step.name == *from)
            .ok_or_else(|| {
                let names: Vec<&str> = flow.steps.iter().map(|s| s.name.as_str()).collect();
                anyhow!(
                    "--resume-from {from}: the flow has no step `{from}` (its steps: {})",
                    names.join(", ")
                )
            })?,
    };
    if let Some(start_row) = options.start_row {
        let Some(from) = &options.resume_from else {
            bail!("--start-row needs --resume-from STEP (the step to resume)");
        };
        let step = &flow.steps[first];
        let takes = definition
            .action(&step.action)
            .and_then(|action| action.input("start-row"))
            .is_some();
        if !takes {
            bail!(
                "--start-row {start_row}: step `{from}` runs {}, which has no `start-row` input",
                step.action
            );
        }
        flow.steps[first]
            .inputs
            .insert("start-row".to_string(), json!(start_row));
    }

    // Outputs of the steps skipped by --resume-from, from the state file of an earlier run.
    let mut outputs: HashMap<String, Value> = HashMap::new();
    let mut reports: Vec<Value> = Vec::new();
    if first > 0
        && let Some(state) = options.state.as_deref().filter(|p| p.exists())
    {
        let earlier = crate::read_json(state)?;
        let steps = earlier["steps"].as_array().cloned().unwrap_or_default();
        for step in &steps {
            if step["status"] == "ok"
                && let Some(name) = step["name"].as_str()
            {
                outputs.insert(
                    name.to_string(),
                    json!({"output": step["output"], "http": step["http"]}),
                );
            }
        }
    }
    let skipped: Vec<String> = flow.steps[..first].iter().map(|s| s.name.clone()).collect();
    for name in &skipped {
        let mut report = json!({"name": name, "action": flow.steps.iter().find(|s| s.name == *name).map(|s| s.action.clone()), "status": "skipped"});
        if let Some(kept) = outputs.get(name) {
            report["output"] = kept["output"].clone();
            report["http"] = kept["http"].clone();
        }
        reports.push(report);
    }

    let started = Instant::now();
    let mut failed: Option<(String, Option<Value>)> = None;
    for (index, step) in flow.steps.iter().enumerate().skip(first) {
        let action = definition
            .action(&step.action)
            .context("validated above")?
            .clone();
        let number = index + 1;
        let title = format!("[{number}] {} ({})", step.name, action.label);
        let scope = Scope {
            steps: &outputs,
            vars: &flow.vars,
            connection,
            skipped: &skipped,
        };
        let inputs = match scope.resolve(&Value::Object(step.inputs.clone())) {
            Ok(inputs) => inputs,
            Err(error) => {
                let message = format!("input: {error:#}");
                say!(options, "{title}: FAILED before it ran: {message}");
                reports.push(json!({"name": step.name, "action": step.action, "status": "failed", "error": {"message": message}}));
                failed = Some((step.name.clone(), None));
                break;
            }
        };
        let debug_request = wants_debug_log(&action, &inputs);
        let step_started = Instant::now();
        let invocation = caller.invoke(&step.action, inputs);
        let ms = step_started.elapsed().as_millis() as u64;
        let invocation = match invocation {
            Ok(invocation) => invocation,
            Err(error) => {
                say!(options, "{title}: FAILED in the host ({ms} ms): {error:#}");
                reports.push(json!({"name": step.name, "action": step.action, "status": "failed", "ms": ms, "error": {"message": format!("{error:#}")}}));
                failed = Some((step.name.clone(), None));
                break;
            }
        };
        if options.verbose {
            crate::report_details(&invocation);
        } else if debug_request && !invocation.logs.is_empty() {
            eprintln!(
                "--- {} debug log ---\n{}",
                step.name,
                invocation.logs.trim_end()
            );
        }
        let requests = invocation.requests.len();
        let counted = format!(
            "{ms} ms, {requests} request{}",
            if requests == 1 { "" } else { "s" }
        );
        match invocation.result {
            Ok(output) => {
                let http = output.http.as_ref().map(http_json).unwrap_or(Value::Null);
                say!(
                    options,
                    "{title}: ok ({counted}) {}",
                    crate::summarize(&output.data)
                );
                if options.verbose {
                    eprintln!("--- output ---\n{}", shorten(&output.data));
                }
                outputs.insert(
                    step.name.clone(),
                    json!({"output": output.data, "http": http}),
                );
                let scope = Scope {
                    steps: &outputs,
                    vars: &flow.vars,
                    connection,
                    skipped: &skipped,
                };
                let mut results = Vec::new();
                let mut all_hold = true;
                for check in &checks[index] {
                    let (holds, found) = run_check(check, &outputs[&step.name], &scope);
                    if holds {
                        say!(options, "    check: {}: yes", check.name);
                    } else {
                        say!(options, "    check: {}: NO (found {found})", check.name);
                        all_hold = false;
                    }
                    results.push(json!({"name": check.name, "ok": holds, "found": found}));
                }
                let kept = &outputs[&step.name];
                let mut report = json!({
                    "name": step.name, "action": step.action,
                    "status": if all_hold { "ok" } else { "failed" },
                    "ms": ms, "requests": requests,
                    "output": kept["output"], "http": kept["http"], "checks": results,
                });
                if !all_hold {
                    report["error"] = json!({"message": "a check did not hold"});
                }
                reports.push(report);
                if !all_hold {
                    failed = Some((step.name.clone(), None));
                    break;
                }
            }
            Err(error) => {
                say!(options, "{title}: FAILED ({counted}): {error}");
                let resume = resume_hint(&action, &error);
                if let Some(progress) = &error.progress {
                    say!(options, "    progress: {}", describe_progress(progress));
                }
                if let Some(row) = resume {
                    let mut command = format!(
                        "pbi flow run {} --resume-from {} --start-row {row}",
                        options
                            .file
                            .as_deref()
                            .map_or("FILE".into(), |p| p.display().to_string()),
                        step.name
                    );
                    match &options.state {
                        Some(state) => command.push_str(&format!(" --state {}", state.display())),
                        None if index > 0 => command.push_str(
                            " --state FILE (the --state of this run, so earlier outputs are known)",
                        ),
                        None => {}
                    }
                    say!(options, "    resume with: {command}");
                    // After an uncertain batch, the other choice: the batch is in the table.
                    if let Some(stored) = error
                        .progress
                        .as_ref()
                        .and_then(|p| p.get("resumeFromRowIfStored"))
                        .and_then(Value::as_u64)
                    {
                        say!(
                            options,
                            "    or, if that batch is in the table: --start-row {stored}"
                        );
                    }
                }
                sign_in_hint(&error);
                reports.push(json!({
                    "name": step.name, "action": step.action, "status": "failed",
                    "ms": ms, "requests": requests, "error": error,
                }));
                failed = Some((step.name.clone(), resume.map(|row| json!(row))));
                break;
            }
        }
        if let Some(state) = &options.state {
            write_state(state, &flow, &reports, started, None)?;
        }
    }
    // Steps after a failure did not run.
    let ran = reports.len();
    for step in flow.steps.iter().skip(ran) {
        reports.push(json!({"name": step.name, "action": step.action, "status": "not-run"}));
    }
    let report = result_json(&flow, &reports, started, failed.as_ref());
    if let Some(state) = &options.state {
        write_state(state, &flow, &reports, started, failed.as_ref())?;
    }
    Ok(Outcome {
        ok: failed.is_none(),
        report,
    })
}

fn result_json(
    flow: &Flow,
    reports: &[Value],
    started: Instant,
    failed: Option<&(String, Option<Value>)>,
) -> Value {
    let mut report = json!({
        "flow": flow.name,
        "description": flow.description,
        "ok": failed.is_none(),
        "ms": started.elapsed().as_millis() as u64,
        "steps": reports,
    });
    if let Some((step, start_row)) = failed {
        report["failed-step"] = json!(step);
        let mut resume = json!({"from": step});
        if let Some(row) = start_row {
            resume["start-row"] = row.clone();
        }
        report["resume"] = resume;
    }
    report
}

fn write_state(
    path: &Path,
    flow: &Flow,
    reports: &[Value],
    started: Instant,
    failed: Option<&(String, Option<Value>)>,
) -> Result<()> {
    let report = result_json(flow, reports, started, failed);
    std::fs::write(path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing the state file {}", path.display()))
}

/// The value a check looks at, whether it holds, and what was found (for the line).
fn run_check(check: &Check, result: &Value, scope: &Scope<'_>) -> (bool, String) {
    let root = &result[if check.http { "http" } else { "output" }];
    let found = template::lookup(root, &check.path).ok();
    let expect = match check.expect.resolved(scope) {
        Ok(expect) => expect,
        Err(error) => {
            return (
                false,
                format!("an expected value that cannot be read: {error:#}"),
            );
        }
    };
    let holds = expect.holds(found);
    let shown = match found {
        Some(value) => shorten_line(value),
        None => format!(
            "nothing at {}",
            if check.path_text.is_empty() {
                "the output"
            } else {
                &check.path_text
            }
        ),
    };
    (holds, shown)
}

/// Whether the step asked for the component's request log (an input `debug-request` set to
/// true), which is then printed without `-v`.
pub fn wants_debug_log(action: &ActionDefinition, inputs: &Value) -> bool {
    let asked = match inputs.get("debug-request") {
        Some(Value::Bool(on)) => *on,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    };
    asked
        && action
            .input("debug-request")
            .is_some_and(|input| input.type_ == InputType::Boolean)
}

/// The row to resume from, when the action takes a `start-row` and its error's progress
/// says where to resume.
fn resume_hint(action: &ActionDefinition, error: &ActionError) -> Option<u64> {
    action.input("start-row")?;
    error.progress.as_ref()?.get("resumeFromRow")?.as_u64()
}

/// Create Rows' progress in words: which rows landed and which did not.
fn describe_progress(progress: &Value) -> String {
    let range = |key: &str| {
        progress
            .get(key)
            .filter(|r| !r.is_null())
            .map(|r| format!("{}-{}", r["from"], r["to"]))
    };
    let mut parts = Vec::new();
    if let Some(accepted) = progress.get("rowsAccepted") {
        let total = progress
            .get("rowsTotal")
            .map(Value::to_string)
            .unwrap_or_default();
        parts.push(format!("{accepted} of {total} rows stored"));
    }
    for (key, what) in [
        ("accepted", "stored"),
        ("failed", "failed"),
        // The batch in flight when the connection failed: the service may have stored it.
        (
            "maybeStored",
            "may or may not have been stored (check the table)",
        ),
        ("notSent", "not sent"),
    ] {
        if let Some(r) = range(key) {
            parts.push(format!("rows {r} {what}"));
        }
    }
    if parts.is_empty() {
        progress.to_string()
    } else {
        parts.join("; ")
    }
}

/// On an `unauthorized` or `token-expired` error, says how to get a token.
pub fn sign_in_hint(error: &ActionError) {
    if matches!(
        error.kind,
        ErrorKind::Unauthorized | ErrorKind::TokenExpired
    ) {
        eprintln!("{}", SIGN_IN_HINT);
    }
}

/// How to get a token, for an `unauthorized` or `token-expired` error and an empty token.
pub const SIGN_IN_HINT: &str = "hint: the service refused the access token. Sign in with `pbi login` (then `pbi run` uses the saved tokens), or pass a token with --access-token TOKEN or PBI_ACCESS_TOKEN; against `pbi emulator`, use the token it printed (it is valid for one hour), or `--connection` with a service principal.";

/// The HTTP details of an output, without the body (headers as an object, names in lower
/// case).
fn http_json(http: &pbi_host::HttpResponse) -> Value {
    let mut headers = Map::new();
    for (name, value) in &http.headers {
        let name = name.to_ascii_lowercase();
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, Value::String(value.clone()));
            }
        }
    }
    json!({
        "status": http.status,
        "headers": headers,
        "content-type": http.content_type,
        "body-bytes": http.body.as_ref().map(Vec::len),
    })
}

/// Pretty JSON cut to a few thousand characters.
fn shorten(value: &Value) -> String {
    const MAX: usize = 4000;
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    if text.len() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}\n... ({} bytes in all)", text.len())
}

/// Compact JSON cut to one line.
fn shorten_line(value: &Value) -> String {
    const MAX: usize = 120;
    let text = value.to_string();
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: Value) -> Result<Check> {
        Check::parse("s", 0, &value)
    }

    #[test]
    fn checks_read_both_forms_and_hold_as_they_say() -> Result<()> {
        let flat = check(json!({"name": "n", "path": "/rows/0/[Rows]", "equals": 25000}))?;
        let nested =
            check(json!({"name": "n", "expect": {"path": "/rows/0/[Rows]", "equals": 25000}}))?;
        assert_eq!(flat, nested);
        let output = json!({"rows": [{"[Rows]": 25000.0}], "value": [1, 2], "text": "hello"});
        assert!(
            flat.expect
                .holds(template::lookup(&output, &flat.path).ok())
        );
        for (spec, holds) in [
            (json!({"path": "value", "length": 2}), true),
            (json!({"path": "value", "min-length": 3}), false),
            (json!({"path": "value[0]", "min": 1}), true),
            (json!({"path": "value[1]", "max": 1}), false),
            (json!({"path": "text", "contains": "ell"}), true),
            (json!({"path": "value", "contains": 2}), true),
            (json!({"path": "/missing", "exists": false}), true),
            (json!({"path": "/missing", "equals": null}), false),
            (json!({"path": "text", "not-equals": "hello"}), false),
        ] {
            let c = check(spec.clone())?;
            let found = template::lookup(&output, &c.path).ok();
            assert_eq!(c.expect.holds(found), holds, "{spec}");
        }
        Ok(())
    }

    #[test]
    fn a_malformed_check_says_what_is_wrong() {
        for (spec, says) in [
            (json!({"path": "/a"}), "nothing to expect"),
            (
                json!({"path": "/a", "equals": 1, "min": 0}),
                "one expectation",
            ),
            (json!({"path": "/a", "equal": 1}), "unknown key `equal`"),
            (json!({"path": "/a", "exists": "yes"}), "true or false"),
            (json!({"of": "body", "exists": true}), "`of`"),
        ] {
            let error = check(spec.clone())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(says), "{spec}: {error}");
            assert!(error.contains("step `s`, check 1"), "{error}");
        }
    }

    #[test]
    fn yaml_and_json_flows_read_alike() -> Result<()> {
        let yaml = "steps:\n  - name: a\n    action: list-groups\n    inputs:\n      top: 5\n";
        let json = r#"{"steps": [{"name": "a", "action": "list-groups", "inputs": {"top": 5}}]}"#;
        let from_yaml = Flow::parse(yaml, Path::new("f.yaml"))?;
        let from_json = Flow::parse(json, Path::new("f.json"))?;
        let sniffed = Flow::parse(json, Path::new("flow"))?;
        for flow in [&from_yaml, &from_json, &sniffed] {
            assert_eq!(flow.steps[0].inputs["top"], 5);
        }
        let wrong = Flow::parse("steps: []\nstep: 1\n", Path::new("f.yaml"))
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(wrong.contains("step"), "{wrong}");
        Ok(())
    }

    #[test]
    fn progress_reads_as_words() {
        let progress = json!({"rowsTotal": 25000, "rowsAccepted": 10000, "accepted": {"from": 0, "to": 9999}, "failed": {"from": 10000, "to": 19999}, "notSent": {"from": 20000, "to": 24999}, "resumeFromRow": 10000});
        assert_eq!(
            describe_progress(&progress),
            "10000 of 25000 rows stored; rows 0-9999 stored; rows 10000-19999 failed; rows 20000-24999 not sent"
        );
        // A batch whose answer was lost: said so, beside the failed range.
        let uncertain = json!({"rowsTotal": 25000, "rowsAccepted": 10000, "accepted": {"from": 0, "to": 9999}, "failed": {"from": 10000, "to": 19999}, "maybeStored": {"from": 10000, "to": 19999}, "notSent": {"from": 20000, "to": 24999}, "resumeFromRow": 10000, "resumeFromRowIfStored": 20000});
        assert!(
            describe_progress(&uncertain)
                .contains("rows 10000-19999 may or may not have been stored (check the table)"),
            "{}",
            describe_progress(&uncertain)
        );
    }
}
