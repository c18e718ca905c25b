//! Request body validation, after Microsoft's Swagger definitions and push-dataset limits.
//!
//! Property names are checked case-sensitively against the definitions (`CreateDatasetRequest`,
//! `Table`, `Column`, `Measure`, `Relationship`, `Datasource`, `PostRowsRequest`): Power BI
//! answers 400 for an unknown or wrongly cased property.

use serde_json::{Map, Value};

use crate::errors::Detail;

/// Tables per dataset, columns per table, relationships per dataset (Microsoft's limits).
pub(crate) const MAX_TABLES: usize = 75;
/// Columns per table.
pub(crate) const MAX_COLUMNS: usize = 75;
/// Relationships per dataset.
pub(crate) const MAX_RELATIONSHIPS: usize = 75;
/// Characters in one string value of a pushed row.
pub(crate) const MAX_STRING_CHARS: usize = 4000;
/// More details than this would make an error body about a 10,000-row request huge.
const MAX_DETAILS: usize = 20;

const CREATE_DATASET_PROPS: &[&str] = &[
    "name",
    "tables",
    "relationships",
    "datasources",
    "defaultMode",
];
const TABLE_PROPS: &[&str] = &[
    "name",
    "columns",
    "rows",
    "measures",
    "isHidden",
    "description",
    "source",
];
const COLUMN_PROPS: &[&str] = &[
    "name",
    "dataType",
    "formatString",
    "sortByColumn",
    "dataCategory",
    "isHidden",
    "summarizeBy",
];
const MEASURE_PROPS: &[&str] = &[
    "name",
    "expression",
    "formatString",
    "description",
    "isHidden",
];
const RELATIONSHIP_PROPS: &[&str] = &[
    "name",
    "crossFilteringBehavior",
    "fromTable",
    "fromColumn",
    "toTable",
    "toColumn",
];
const DATASOURCE_PROPS: &[&str] = &[
    "name",
    "connectionString",
    "datasourceType",
    "connectionDetails",
    "gatewayId",
    "datasourceId",
];
const CONNECTION_DETAILS_PROPS: &[&str] = &[
    "server",
    "database",
    "url",
    "path",
    "kind",
    "account",
    "domain",
    "emailAddress",
    "loginServer",
    "classInfo",
];
const SOURCE_PROPS: &[&str] = &["expression"];
const GROUP_CREATION_PROPS: &[&str] = &["name"];

/// Dataset modes a push dataset can be created with; `AsAzure`/`AsOnPrem` need Analysis
/// Services, which the emulator does not have.
const PUSH_MODES: &[&str] = &["Push", "Streaming", "PushStreaming"];
const OTHER_MODES: &[&str] = &["AsAzure", "AsOnPrem"];

/// A validated create-dataset request.
#[derive(Debug, Clone)]
pub(crate) struct DatasetSpec {
    pub name: String,
    pub tables: Vec<TableSpec>,
}

/// A validated table: its schema in canonical form (no rows) and any initial rows.
#[derive(Debug, Clone)]
pub(crate) struct TableSpec {
    pub name: String,
    pub schema: Map<String, Value>,
    pub rows: Vec<Value>,
}

/// Collects problems, keeping the first few.
#[derive(Default)]
struct Errors(Vec<Detail>);

impl Errors {
    fn add(&mut self, target: &str, message: impl Into<String>) {
        if self.0.len() < MAX_DETAILS {
            self.0.push(Detail::new(target, message));
        }
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<Detail>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// Checks that `v` is an object whose properties are all defined by `type_name`.
fn object<'a>(
    v: &'a Value,
    target: &str,
    type_name: &str,
    allowed: &[&str],
    errs: &mut Errors,
) -> Option<&'a Map<String, Value>> {
    let Some(map) = v.as_object() else {
        errs.add(
            target,
            format!("Expected a JSON object of type '{type_name}'."),
        );
        return None;
    };
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            errs.add(
                &format!("{target}.{key}"),
                format!(
                    "The property '{key}' does not exist on type '{type_name}'. Make sure to only use property names that are defined by the type."
                ),
            );
        }
    }
    Some(map)
}

fn required_string(
    map: &Map<String, Value>,
    key: &str,
    target: &str,
    errs: &mut Errors,
) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) => {
            errs.add(
                &format!("{target}.{key}"),
                format!("The {key} field is required."),
            );
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errs.add(&format!("{target}.{key}"), "Expected a string.");
            None
        }
    }
}

/// An optional property of a JSON type; `null` counts as absent, as JSON.NET reads it.
fn optional<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    target: &str,
    kind: Kind,
    errs: &mut Errors,
) -> Option<&'a Value> {
    let v = map.get(key).filter(|v| !v.is_null())?;
    let ok = match kind {
        Kind::String => v.is_string(),
        Kind::Bool => v.is_boolean(),
        Kind::Array => v.is_array(),
        Kind::Object => v.is_object(),
    };
    if ok {
        Some(v)
    } else {
        errs.add(
            &format!("{target}.{key}"),
            format!("Expected {}.", kind.describe()),
        );
        None
    }
}

#[derive(Clone, Copy)]
enum Kind {
    String,
    Bool,
    Array,
    Object,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Bool => "a boolean",
            Kind::Array => "an array",
            Kind::Object => "an object",
        }
    }
}

/// Whether a table name fits the Swagger pattern: 1 to 100 characters, no control characters
/// but tab/CR/LF, and of ASCII punctuation only space, `#`, `-`, `@`, `^`, `_` and `~`.
pub(crate) fn valid_table_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=100).contains(&count)
        && name.chars().all(|c| match c {
            '\t' | '\n' | '\r' | ' ' | '#' | '-' | '@' | '^' | '_' => true,
            '0'..='9' | 'A'..='Z' | 'a'..='z' => true,
            c => c >= '~',
        })
}

/// Whether a column or measure name fits the Swagger pattern: not empty, no control
/// characters but tab/CR/LF.
fn valid_column_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r') || c >= ' ')
}

/// The canonical spelling of a column data type, read ignoring case; `bool` is accepted
/// because Microsoft's own examples send it.
pub(crate) fn canonical_data_type(t: &str) -> Option<&'static str> {
    Some(match t.to_ascii_lowercase().as_str() {
        "int64" => "Int64",
        "double" => "Double",
        "boolean" | "bool" => "Boolean",
        "datetime" => "DateTime",
        "string" => "String",
        "decimal" => "Decimal",
        _ => return None,
    })
}

/// Validates a create-dataset body.
pub(crate) fn create_dataset(body: &Value) -> Result<DatasetSpec, Vec<Detail>> {
    let mut errs = Errors::default();
    let target = "dataset";
    let Some(map) = object(
        body,
        target,
        "CreateDatasetRequest",
        CREATE_DATASET_PROPS,
        &mut errs,
    ) else {
        return Err(errs.0);
    };
    let name = required_string(map, "name", target, &mut errs);
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        errs.add("dataset.name", "The dataset name must not be empty.");
    }
    // Enum values bind ignoring case in ASP.NET. The mode is not kept: every mode accepted
    // behaves as a push dataset here.
    if let Some(v) = optional(map, "defaultMode", target, Kind::String, &mut errs) {
        let s = v.as_str().unwrap_or_default();
        if !PUSH_MODES.iter().any(|m| m.eq_ignore_ascii_case(s)) {
            if OTHER_MODES.iter().any(|m| m.eq_ignore_ascii_case(s)) {
                errs.add(
                    "dataset.defaultMode",
                    format!(
                        "The emulator creates push datasets only; defaultMode '{s}' is not supported."
                    ),
                );
            } else {
                errs.add(
                    "dataset.defaultMode",
                    format!(
                        "'{s}' is not a dataset mode (AsAzure, AsOnPrem, Push, Streaming, PushStreaming)."
                    ),
                );
            }
        }
    }
    let tables = match map.get("tables") {
        None | Some(Value::Null) => {
            errs.add("dataset.tables", "The tables field is required.");
            Vec::new()
        }
        Some(v) => tables_into(v, "dataset.tables", &mut errs),
    };
    if let Some(v) = optional(map, "relationships", target, Kind::Array, &mut errs) {
        relationships(v, &tables, &mut errs);
    }
    if let Some(sources) = optional(map, "datasources", target, Kind::Array, &mut errs) {
        for (i, s) in sources.as_array().into_iter().flatten().enumerate() {
            let t = format!("dataset.datasources[{i}]");
            if let Some(m) = object(s, &t, "Datasource", DATASOURCE_PROPS, &mut errs)
                && let Some(cd) = optional(m, "connectionDetails", &t, Kind::Object, &mut errs)
            {
                object(
                    cd,
                    &format!("{t}.connectionDetails"),
                    "DatasourceConnectionDetails",
                    CONNECTION_DETAILS_PROPS,
                    &mut errs,
                );
            }
        }
    }
    errs.finish(DatasetSpec {
        name: name.unwrap_or_default(),
        tables,
    })
}

/// Validates a create-group body (Swagger's `GroupCreationRequest`: `name`, required) and
/// returns the name. An empty or blank name is refused.
pub(crate) fn create_group(body: &Value) -> Result<String, Vec<Detail>> {
    let mut errs = Errors::default();
    let target = "requestParameters";
    let Some(map) = object(
        body,
        target,
        "GroupCreationRequest",
        GROUP_CREATION_PROPS,
        &mut errs,
    ) else {
        return Err(errs.0);
    };
    let name = required_string(map, "name", target, &mut errs);
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        errs.add(
            "requestParameters.name",
            "The workspace name must not be empty.",
        );
    }
    errs.finish(name.unwrap_or_default())
}

/// Validates a list of tables (for a new dataset, or a dataset seeded by a test).
pub(crate) fn tables(v: &Value, target: &str) -> Result<Vec<TableSpec>, Vec<Detail>> {
    let mut errs = Errors::default();
    let tables = tables_into(v, target, &mut errs);
    errs.finish(tables)
}

fn tables_into(v: &Value, target: &str, errs: &mut Errors) -> Vec<TableSpec> {
    let Some(items) = v.as_array() else {
        errs.add(target, "Expected an array of tables.");
        return Vec::new();
    };
    if items.is_empty() {
        errs.add(target, "A push dataset needs at least one table.");
    }
    if items.len() > MAX_TABLES {
        errs.add(
            target,
            format!(
                "A push dataset can have at most {MAX_TABLES} tables; the request has {}.",
                items.len()
            ),
        );
    }
    let mut out: Vec<TableSpec> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let t = format!("{target}[{i}]");
        if let Some(spec) = table_into(item, &t, errs) {
            // Tabular object names are unique ignoring case.
            if out.iter().any(|o| o.name.eq_ignore_ascii_case(&spec.name)) {
                errs.add(
                    &format!("{t}.name"),
                    format!("The table name '{}' is used twice.", spec.name),
                );
            }
            out.push(spec);
        }
    }
    out
}

/// Validates one table (the body of Update Table, or an item of a dataset's tables).
pub(crate) fn table(v: &Value, target: &str) -> Result<TableSpec, Vec<Detail>> {
    let mut errs = Errors::default();
    match table_into(v, target, &mut errs) {
        Some(spec) => errs.finish(spec),
        None => Err(errs.0),
    }
}

fn table_into(v: &Value, target: &str, errs: &mut Errors) -> Option<TableSpec> {
    let before = errs.0.len();
    let map = object(v, target, "Table", TABLE_PROPS, errs)?;
    let name = required_string(map, "name", target, errs);
    if let Some(n) = &name
        && !valid_table_name(n)
    {
        errs.add(
            &format!("{target}.name"),
            format!(
                "The table name '{n}' is not valid: 1 to 100 characters; letters, digits, space, and only these symbols: # - @ ^ _ ~"
            ),
        );
    }
    let mut schema = Map::new();
    schema.insert(
        "name".into(),
        Value::String(name.clone().unwrap_or_default()),
    );
    match map.get("columns") {
        None | Some(Value::Null) => errs.add(
            &format!("{target}.columns"),
            "The columns field is required.",
        ),
        Some(cols) => {
            let columns = columns(cols, &format!("{target}.columns"), errs);
            schema.insert("columns".into(), Value::Array(columns));
        }
    }
    let column_names: Vec<String> = schema
        .get("columns")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    // sortByColumn must name a column of the same table.
    if let Some(cols) = schema.get("columns").and_then(Value::as_array) {
        for (i, c) in cols.iter().enumerate() {
            if let Some(s) = c.get("sortByColumn").and_then(Value::as_str)
                && !column_names.iter().any(|n| n == s)
            {
                errs.add(
                    &format!("{target}.columns[{i}].sortByColumn"),
                    format!("The sort-by column '{s}' is not a column of this table."),
                );
            }
        }
    }
    if let Some(ms) = optional(map, "measures", target, Kind::Array, errs) {
        let mut measures = Vec::new();
        for (i, m) in ms.as_array().into_iter().flatten().enumerate() {
            let t = format!("{target}.measures[{i}]");
            let Some(mm) = object(m, &t, "Measure", MEASURE_PROPS, errs) else {
                continue;
            };
            let mname = required_string(mm, "name", &t, errs);
            if mname.as_deref().is_some_and(|n| !valid_column_name(n)) {
                errs.add(&format!("{t}.name"), "The measure name is not valid.");
            }
            required_string(mm, "expression", &t, errs);
            optional(mm, "formatString", &t, Kind::String, errs);
            optional(mm, "description", &t, Kind::String, errs);
            optional(mm, "isHidden", &t, Kind::Bool, errs);
            measures.push(m.clone());
        }
        schema.insert("measures".into(), Value::Array(measures));
    }
    if let Some(h) = optional(map, "isHidden", target, Kind::Bool, errs) {
        schema.insert("isHidden".into(), h.clone());
    }
    if let Some(d) = optional(map, "description", target, Kind::String, errs) {
        schema.insert("description".into(), d.clone());
    }
    if let Some(src) = optional(map, "source", target, Kind::Array, errs) {
        for (i, s) in src.as_array().into_iter().flatten().enumerate() {
            let t = format!("{target}.source[{i}]");
            if let Some(sm) = object(s, &t, "ASMashupExpression", SOURCE_PROPS, errs) {
                required_string(sm, "expression", &t, errs);
            }
        }
        schema.insert("source".into(), src.clone());
    }
    let mut rows = Vec::new();
    if let Some(r) = optional(map, "rows", target, Kind::Array, errs) {
        rows = r.as_array().cloned().unwrap_or_default();
        check_rows(&rows, &format!("{target}.rows"), errs);
    }
    (errs.0.len() == before).then(|| TableSpec {
        name: name.unwrap_or_default(),
        schema,
        rows,
    })
}

fn columns(v: &Value, target: &str, errs: &mut Errors) -> Vec<Value> {
    let Some(items) = v.as_array() else {
        errs.add(target, "Expected an array of columns.");
        return Vec::new();
    };
    if items.is_empty() {
        errs.add(target, "A table needs at least one column.");
    }
    if items.len() > MAX_COLUMNS {
        errs.add(
            target,
            format!(
                "A table can have at most {MAX_COLUMNS} columns; the request has {}.",
                items.len()
            ),
        );
    }
    let mut out: Vec<Value> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let t = format!("{target}[{i}]");
        let Some(map) = object(item, &t, "Column", COLUMN_PROPS, errs) else {
            continue;
        };
        let mut col = Map::new();
        if let Some(name) = required_string(map, "name", &t, errs) {
            if !valid_column_name(&name) {
                errs.add(
                    &format!("{t}.name"),
                    "A column name must not be empty nor hold control characters.",
                );
            }
            if out.iter().any(|c| {
                c["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&name))
            }) {
                errs.add(
                    &format!("{t}.name"),
                    format!("The column name '{name}' is used twice."),
                );
            }
            col.insert("name".into(), Value::String(name));
        }
        if let Some(dt) = required_string(map, "dataType", &t, errs) {
            match canonical_data_type(&dt) {
                Some(c) => {
                    col.insert("dataType".into(), Value::String(c.to_owned()));
                }
                None => errs.add(
                    &format!("{t}.dataType"),
                    format!(
                        "'{dt}' is not a supported data type (Int64, Double, Boolean, DateTime, String, Decimal)."
                    ),
                ),
            }
        }
        for key in [
            "formatString",
            "sortByColumn",
            "dataCategory",
            "summarizeBy",
        ] {
            if let Some(v) = optional(map, key, &t, Kind::String, errs) {
                col.insert(key.into(), v.clone());
            }
        }
        if let Some(v) = optional(map, "isHidden", &t, Kind::Bool, errs) {
            col.insert("isHidden".into(), v.clone());
        }
        out.push(Value::Object(col));
    }
    out
}

fn relationships(v: &Value, tables: &[TableSpec], errs: &mut Errors) {
    let items = v.as_array().cloned().unwrap_or_default();
    if items.len() > MAX_RELATIONSHIPS {
        errs.add(
            "dataset.relationships",
            format!("A dataset can have at most {MAX_RELATIONSHIPS} relationships."),
        );
    }
    let has_column = |table: &str, column: &str| {
        tables.iter().find(|t| t.name == table).is_some_and(|t| {
            t.schema["columns"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["name"] == column))
        })
    };
    for (i, r) in items.iter().enumerate() {
        let t = format!("dataset.relationships[{i}]");
        let Some(map) = object(r, &t, "Relationship", RELATIONSHIP_PROPS, errs) else {
            continue;
        };
        required_string(map, "name", &t, errs);
        let ends: Vec<Option<String>> = ["fromTable", "fromColumn", "toTable", "toColumn"]
            .iter()
            .map(|k| required_string(map, k, &t, errs))
            .collect();
        if let [Some(ft), Some(fc), Some(tt), Some(tc)] = ends.as_slice() {
            for (table, column, side) in [(ft, fc, "from"), (tt, tc, "to")] {
                if !has_column(table, column) {
                    errs.add(
                        &format!("{t}.{side}Column"),
                        format!("The column '{table}'[{column}] does not exist in the dataset."),
                    );
                }
            }
        }
        if let Some(b) = optional(map, "crossFilteringBehavior", &t, Kind::String, errs) {
            let b = b.as_str().unwrap_or_default();
            if !["OneDirection", "BothDirections", "Automatic"]
                .iter()
                .any(|x| x.eq_ignore_ascii_case(b))
            {
                errs.add(
                    &format!("{t}.crossFilteringBehavior"),
                    format!("'{b}' is not a cross-filtering behavior."),
                );
            }
        }
    }
}

/// Validates a Post Rows body: an object with exactly the `rows` array of row objects.
pub(crate) fn rows(body: Value, max_rows: usize) -> Result<Vec<Value>, Vec<Detail>> {
    let mut errs = Errors::default();
    let target = "requestMessage";
    let Some(map) = body.as_object() else {
        // The mistake other clients make: a bare array instead of {"rows": [...]}.
        errs.add(
            target,
            "The request body must be a JSON object with a 'rows' array, like {\"rows\":[{...}]}.",
        );
        return Err(errs.0);
    };
    object(&body, target, "PostRowsRequest", &["rows"], &mut errs);
    let rows = match map.get("rows") {
        Some(Value::Array(rows)) => rows,
        Some(_) => {
            errs.add("requestMessage.rows", "Expected an array of row objects.");
            return Err(errs.0);
        }
        None => {
            errs.add("requestMessage.rows", "The rows field is required.");
            return Err(errs.0);
        }
    };
    if rows.len() > max_rows {
        errs.add(
            "requestMessage.rows",
            format!(
                "A request can add at most {max_rows} rows; this one has {}.",
                rows.len()
            ),
        );
        return Err(errs.0);
    }
    check_rows(rows, "requestMessage.rows", &mut errs);
    // The rows move out of the parsed body: a push's rows are not copied.
    let rows = match body {
        Value::Object(mut map) => match map.remove("rows") {
            Some(Value::Array(rows)) => rows,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    errs.finish(rows)
}

/// Rows are objects of scalar values within the push limits.
fn check_rows(rows: &[Value], target: &str, errs: &mut Errors) {
    for (i, row) in rows.iter().enumerate() {
        let Some(map) = row.as_object() else {
            errs.add(&format!("{target}[{i}]"), "A row must be a JSON object.");
            continue;
        };
        for (k, v) in map {
            // The path is written only for an error: most rows have none.
            let t = || format!("{target}[{i}].{k}");
            match v {
                Value::String(s) if s.chars().count() > MAX_STRING_CHARS => errs.add(
                    &t(),
                    format!("A string value can have at most {MAX_STRING_CHARS} characters."),
                ),
                Value::Number(n) if n.as_i64().is_some_and(|x| x == i64::MIN || x == i64::MAX) => {
                    errs.add(&t(), "Int64 minimum and maximum values are not allowed.")
                }
                Value::Array(_) | Value::Object(_) => errs.add(
                    &t(),
                    "A row value must be a string, number, boolean or null.",
                ),
                _ => {}
            }
        }
    }
}

// ---- refresh, execute queries, export ----

const REFRESH_PROPS: &[&str] = &[
    "notifyOption",
    "type",
    "commitMode",
    "maxParallelism",
    "retryCount",
    "objects",
    "applyRefreshPolicy",
    "effectiveDate",
];
const REFRESH_OBJECT_PROPS: &[&str] = &["table", "partition"];
const NOTIFY_OPTIONS: &[&str] = &["NoNotification", "MailOnFailure", "MailOnCompletion"];
const REFRESH_TYPES: &[&str] = &[
    "Full",
    "ClearValues",
    "Calculate",
    "DataOnly",
    "Automatic",
    "Defragment",
];
const COMMIT_MODES: &[&str] = &["Transactional", "PartialBatch"];
const EXECUTE_QUERIES_PROPS: &[&str] = &["queries", "serializerSettings", "impersonatedUserName"];
const QUERY_PROPS: &[&str] = &["query"];
const SERIALIZER_PROPS: &[&str] = &["includeNulls"];
const EXPORT_PROPS: &[&str] = &[
    "format",
    "powerBIReportConfiguration",
    "paginatedReportConfiguration",
];
const POWER_BI_EXPORT_PROPS: &[&str] = &[
    "settings",
    "datasetToBind",
    "defaultBookmark",
    "reportLevelFilters",
    "pages",
    "identities",
];
const EXPORT_PAGE_PROPS: &[&str] = &["pageName", "visualName", "bookmark"];
const EXPORT_SETTINGS_PROPS: &[&str] = &["locale", "includeHiddenPages"];
/// Swagger's `FileFormat` values.
pub(crate) const EXPORT_FORMATS: &[&str] = &[
    "PPTX",
    "PDF",
    "PNG",
    "IMAGE",
    "XLSX",
    "DOCX",
    "CSV",
    "XML",
    "MHTML",
    "ACCESSIBLEPDF",
];

/// A validated refresh request: the properties given, with `notifyOption` apart.
#[derive(Debug, Clone, Default)]
pub(crate) struct RefreshSpec {
    pub notify_option: Option<String>,
    /// The enhanced-refresh properties given (all but `notifyOption`), canonically spelled.
    pub enhanced: Map<String, Value>,
}

/// An enum value of the refresh request, read ignoring case (Microsoft's own example sends
/// `"full"` and `"transactional"`) and returned in canonical spelling.
fn enum_ignoring_case(
    map: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
    errs: &mut Errors,
) -> Option<Value> {
    let v = optional(map, key, "datasetRefreshRequest", Kind::String, errs)?;
    let s = v.as_str().unwrap_or_default();
    match allowed.iter().find(|a| a.eq_ignore_ascii_case(s)) {
        Some(a) => Some(Value::String((*a).to_owned())),
        None => {
            errs.add(
                &format!("datasetRefreshRequest.{key}"),
                format!("'{s}' is not a valid {key} ({}).", allowed.join(", ")),
            );
            None
        }
    }
}

/// Validates a refresh body (`None`: no body, as the operation allows). Whether enhanced
/// properties are allowed depends on the capacity and is the caller's to check.
pub(crate) fn refresh_request(body: Option<&Value>) -> Result<RefreshSpec, Vec<Detail>> {
    let mut errs = Errors::default();
    let target = "datasetRefreshRequest";
    let mut spec = RefreshSpec::default();
    let Some(body) = body.filter(|b| !b.is_null()) else {
        return Ok(spec);
    };
    let Some(map) = object(
        body,
        target,
        "DatasetRefreshRequest",
        REFRESH_PROPS,
        &mut errs,
    ) else {
        return Err(errs.0);
    };
    if let Some(v) = optional(map, "notifyOption", target, Kind::String, &mut errs) {
        let s = v.as_str().unwrap_or_default();
        // Exact spelling: the stricter choice (JSON.NET may well accept any case).
        if NOTIFY_OPTIONS.contains(&s) {
            spec.notify_option = Some(s.to_owned());
        } else {
            errs.add(
                "datasetRefreshRequest.notifyOption",
                format!(
                    "'{s}' is not a valid notifyOption ({}).",
                    NOTIFY_OPTIONS.join(", ")
                ),
            );
        }
    }
    if let Some(v) = enum_ignoring_case(map, "type", REFRESH_TYPES, &mut errs) {
        spec.enhanced.insert("type".to_owned(), v);
    }
    if let Some(v) = enum_ignoring_case(map, "commitMode", COMMIT_MODES, &mut errs) {
        spec.enhanced.insert("commitMode".to_owned(), v);
    }
    for key in ["maxParallelism", "retryCount"] {
        match map.get(key) {
            None | Some(Value::Null) => {}
            Some(v) if v.as_u64().is_some() => {
                spec.enhanced.insert(key.to_owned(), v.clone());
            }
            Some(_) => errs.add(
                &format!("{target}.{key}"),
                "Expected a non-negative integer.",
            ),
        }
    }
    if let Some(objects) = optional(map, "objects", target, Kind::Array, &mut errs) {
        for (i, o) in objects.as_array().into_iter().flatten().enumerate() {
            let t = format!("{target}.objects[{i}]");
            if let Some(m) = object(
                o,
                &t,
                "DatasetRefreshObjects",
                REFRESH_OBJECT_PROPS,
                &mut errs,
            ) {
                required_string(m, "table", &t, &mut errs);
                optional(m, "partition", &t, Kind::String, &mut errs);
            }
        }
        spec.enhanced.insert("objects".to_owned(), objects.clone());
    }
    // Loosely typed: Microsoft's own example sends the string "false".
    match map.get("applyRefreshPolicy") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => {
            spec.enhanced
                .insert("applyRefreshPolicy".to_owned(), Value::Bool(*b));
        }
        Some(Value::String(s))
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
        {
            spec.enhanced.insert(
                "applyRefreshPolicy".to_owned(),
                Value::Bool(s.eq_ignore_ascii_case("true")),
            );
        }
        Some(_) => errs.add(
            &format!("{target}.applyRefreshPolicy"),
            "Expected a boolean.",
        ),
    }
    if let Some(v) = optional(map, "effectiveDate", target, Kind::String, &mut errs) {
        spec.enhanced.insert("effectiveDate".to_owned(), v.clone());
    }
    errs.finish(spec)
}

/// A validated Execute Queries request.
#[derive(Debug, Clone)]
pub(crate) struct QuerySpec {
    pub query: String,
    pub include_nulls: bool,
}

/// Validates an Execute Queries body: exactly one query (Microsoft: "One query per API
/// call"), optional serializer settings and impersonated user (accepted, not applied).
pub(crate) fn execute_queries(body: &Value) -> Result<QuerySpec, Vec<Detail>> {
    let mut errs = Errors::default();
    let target = "requestMessage";
    let Some(map) = object(
        body,
        target,
        "DatasetExecuteQueriesRequest",
        EXECUTE_QUERIES_PROPS,
        &mut errs,
    ) else {
        return Err(errs.0);
    };
    let mut query = None;
    match map.get("queries") {
        None | Some(Value::Null) => {
            errs.add("requestMessage.queries", "The queries field is required.")
        }
        Some(Value::Array(queries)) if queries.len() == 1 => {
            let t = "requestMessage.queries[0]";
            if let Some(m) = object(
                &queries[0],
                t,
                "DatasetExecuteQueriesQuery",
                QUERY_PROPS,
                &mut errs,
            ) {
                query = required_string(m, "query", t, &mut errs);
            }
        }
        Some(Value::Array(queries)) => errs.add(
            "requestMessage.queries",
            format!(
                "Exactly one query is supported per request; the request has {}.",
                queries.len()
            ),
        ),
        Some(_) => errs.add("requestMessage.queries", "Expected an array."),
    }
    let mut include_nulls = false;
    if let Some(settings) = optional(map, "serializerSettings", target, Kind::Object, &mut errs) {
        let t = "requestMessage.serializerSettings";
        if let Some(m) = object(
            settings,
            t,
            "DatasetExecuteQueriesSerializationSettings",
            SERIALIZER_PROPS,
            &mut errs,
        ) {
            include_nulls = optional(m, "includeNulls", t, Kind::Bool, &mut errs)
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
    }
    optional(map, "impersonatedUserName", target, Kind::String, &mut errs);
    let query = query.unwrap_or_default();
    errs.finish(QuerySpec {
        query,
        include_nulls,
    })
}

/// A validated export request.
#[derive(Debug, Clone)]
pub(crate) struct ExportSpec {
    /// One of [`EXPORT_FORMATS`].
    pub format: String,
    /// The `pageName` of each page asked for, in order.
    pub pages: Vec<String>,
    /// Whether `paginatedReportConfiguration` was given.
    pub paginated_configuration: bool,
}

/// Validates an Export To File body against Swagger's `ExportReportRequest`: the format
/// spelled exactly as the enum, the Power BI configuration's properties and pages checked,
/// the paginated configuration only checked to be an object.
pub(crate) fn export_request(body: &Value) -> Result<ExportSpec, Vec<Detail>> {
    let mut errs = Errors::default();
    let target = "requestParameters";
    let Some(map) = object(body, target, "ExportReportRequest", EXPORT_PROPS, &mut errs) else {
        return Err(errs.0);
    };
    let format = required_string(map, "format", target, &mut errs).unwrap_or_default();
    if !format.is_empty() && !EXPORT_FORMATS.contains(&format.as_str()) {
        errs.add(
            "requestParameters.format",
            format!(
                "'{format}' is not a valid format ({}).",
                EXPORT_FORMATS.join(", ")
            ),
        );
    }
    let mut pages = Vec::new();
    if let Some(config) = optional(
        map,
        "powerBIReportConfiguration",
        target,
        Kind::Object,
        &mut errs,
    ) {
        let t = "requestParameters.powerBIReportConfiguration";
        if let Some(m) = object(
            config,
            t,
            "PowerBIReportExportConfiguration",
            POWER_BI_EXPORT_PROPS,
            &mut errs,
        ) {
            if let Some(settings) = optional(m, "settings", t, Kind::Object, &mut errs) {
                let st = format!("{t}.settings");
                if let Some(sm) = object(
                    settings,
                    &st,
                    "ExportReportSettings",
                    EXPORT_SETTINGS_PROPS,
                    &mut errs,
                ) {
                    optional(sm, "locale", &st, Kind::String, &mut errs);
                    optional(sm, "includeHiddenPages", &st, Kind::Bool, &mut errs);
                }
            }
            optional(m, "datasetToBind", t, Kind::String, &mut errs);
            optional(m, "defaultBookmark", t, Kind::Object, &mut errs);
            optional(m, "reportLevelFilters", t, Kind::Array, &mut errs);
            optional(m, "identities", t, Kind::Array, &mut errs);
            if let Some(list) = optional(m, "pages", t, Kind::Array, &mut errs) {
                for (i, page) in list.as_array().into_iter().flatten().enumerate() {
                    let pt = format!("{t}.pages[{i}]");
                    if let Some(pm) =
                        object(page, &pt, "ExportReportPage", EXPORT_PAGE_PROPS, &mut errs)
                    {
                        if let Some(name) = required_string(pm, "pageName", &pt, &mut errs) {
                            pages.push(name);
                        }
                        optional(pm, "visualName", &pt, Kind::String, &mut errs);
                        optional(pm, "bookmark", &pt, Kind::Object, &mut errs);
                    }
                }
            }
        }
    }
    let paginated_configuration = optional(
        map,
        "paginatedReportConfiguration",
        target,
        Kind::Object,
        &mut errs,
    )
    .is_some();
    errs.finish(ExportSpec {
        format,
        pages,
        paginated_configuration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_names() {
        for ok in ["Product", "My Table #1", "a@b^c~d-e_f", "Ünïcode"] {
            assert!(valid_table_name(ok), "{ok}");
        }
        for bad in ["", "a.b", "a/b", "a%b", "a'b", "x(1)", &"x".repeat(101)] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn create_dataset_canonicalises_types() {
        let spec = create_dataset(&json!({
            "name": "SalesMarketing", "defaultMode": "push",
            "tables": [{"name": "Product", "columns": [
                {"name": "ProductID", "dataType": "int64"},
                {"name": "IsCompete", "dataType": "bool", "formatString": "Yes/No"}
            ]}]
        }))
        .unwrap();
        assert_eq!(
            Value::Object(spec.tables[0].schema.clone()),
            json!({"name": "Product", "columns": [
                {"name": "ProductID", "dataType": "Int64"},
                {"name": "IsCompete", "dataType": "Boolean", "formatString": "Yes/No"}
            ]})
        );
    }

    #[test]
    fn create_dataset_reports_problems() {
        let errs = create_dataset(&json!({
            "Name": "x",
            "tables": [{"name": "T", "columns": [{"name": "a", "dataType": "Text"},
                                                 {"name": "A", "dataType": "String"}]}]
        }))
        .unwrap_err();
        let targets: Vec<&str> = errs.iter().map(|d| d.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "dataset.Name",
                "dataset.name",
                "dataset.tables[0].columns[0].dataType",
                "dataset.tables[0].columns[1].name"
            ]
        );
    }

    #[test]
    fn relationships_must_point_at_columns() {
        let errs = create_dataset(&json!({
            "name": "x",
            "tables": [{"name": "T", "columns": [{"name": "a", "dataType": "String"}]}],
            "relationships": [{"name": "r", "fromTable": "T", "fromColumn": "a",
                               "toTable": "U", "toColumn": "b"}]
        }))
        .unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].target, "dataset.relationships[0].toColumn");
    }

    #[test]
    fn rows_bodies() {
        assert!(rows(json!([{"a": 1}]), 10).is_err());
        assert!(rows(json!({"rows": [{"a": 1}], "extra": 1}), 10).is_err());
        assert!(rows(json!({"rows": [1]}), 10).is_err());
        assert!(rows(json!({"rows": [{"a": i64::MAX}]}), 10).is_err());
        assert!(rows(json!({"rows": [{}, {}, {}]}), 2).is_err());
        let errs = rows(json!({"rows": [{"a": 1}, {"a": [1]}]}), 10).unwrap_err();
        assert_eq!(errs[0].target, "requestMessage.rows[1].a");
        assert_eq!(
            rows(json!({"rows": [{"a": 1}, {"b": null}]}), 2).unwrap(),
            [json!({"a": 1}), json!({"b": null})]
        );
    }
}
