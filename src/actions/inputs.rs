//! Inputs that several actions share, declared once so that their labels, comments and
//! bounds cannot drift apart between actions. An action lists them in its own
//! `DEFINITION` next to the inputs only it has.

use super::{GUID_RULE, WORKSPACE_RULE};
use crate::columns::TABLE_NAME_RULE;
use crate::definition::{Input, InputType, MAX_TOP, MAX_WAIT_SECONDS, Picker, picker};

/// Dataset ID: the push dataset an action works on.
pub const DATASET_ID: Input = Input::new(
    "dataset-id",
    "Dataset ID",
    InputType::String,
    "The unique identifier of the dataset. A dataset is a collection of tables that can be used to generate reports and visuals in Power BI. Datasets must be 'Push' datasets to be accessible via API.",
)
.required()
.rule(&GUID_RULE)
.example("cfafbeb1-8037-4d0c-896e-a46fb27ff229")
.picker(&Picker {
    key: picker::PUSH_DATASET,
    depends_on: &["workspace"],
});

/// Table Name: the name of a new table (Create Dataset).
pub const TABLE_NAME: Input = Input::new(
    "table-name",
    "Table Name",
    InputType::String,
    "The name of the table within the dataset.",
)
.required()
.rule(&TABLE_NAME_RULE)
.example("Sales");

/// Table Name: a table of the dataset, listed by the table picker.
pub const EXISTING_TABLE_NAME: Input = TABLE_NAME.picker(&Picker {
    key: picker::TABLE,
    depends_on: &["workspace", "dataset-id"],
});

/// Columns: a table's schema, as JSON.
pub const COLUMNS: Input = Input::new(
    "columns",
    "Columns",
    InputType::Code,
    "An array of column definitions that define the table schema. Each column must have a name and dataType. Supported data types: Int64, Double, Boolean, DateTime, String, Decimal.",
)
.required()
.example(r#"[{"name":"Id","dataType":"Int64"},{"name":"Region","dataType":"String"}]"#);

/// Top: at most this many results of a list.
pub const TOP: Input = Input::new(
    "top",
    "Top",
    InputType::Integer,
    "The maximum number of results to return. Must be a value between 1 and 1000.",
)
.bounds(Some(1), Some(MAX_TOP));

/// Page Offset: skip this many results of a list first.
pub const PAGE_OFFSET: Input = Input::new(
    "page-offset",
    "Page Offset",
    InputType::Integer,
    "The number of entries to skip for pagination. Used to retrieve results beyond the first page.",
)
.bounds(Some(0), None);

/// Workspace: the workspace (group) an action works in; empty means My Workspace. Not in the
/// connector documentation, whose actions work in My Workspace only (docs/decisions.md).
pub const WORKSPACE: Input = Input::new(
    "workspace",
    "Workspace",
    InputType::String,
    "The ID of the workspace (group) to work in. Leave it empty to use 'My Workspace'.",
)
.rule(&WORKSPACE_RULE)
.example("f089354e-8366-4e18-aea3-4cb4a3a50b48")
.picker(&Picker {
    key: picker::WORKSPACE,
    depends_on: &[],
});

/// Dataset ID of an action on any dataset, push or not, listed by the dataset picker.
pub const ANY_DATASET_ID: Input = Input::new(
    "dataset-id",
    "Dataset ID",
    InputType::String,
    "The unique identifier of the dataset.",
)
.required()
.rule(&GUID_RULE)
.example("cfafbeb1-8037-4d0c-896e-a46fb27ff229")
.picker(&Picker {
    key: picker::DATASET,
    depends_on: &["workspace"],
});

/// Report ID: a report, listed by the report picker.
pub const REPORT_ID: Input = Input::new(
    "report-id",
    "Report ID",
    InputType::String,
    "The unique identifier of the report.",
)
.required()
.rule(&GUID_RULE)
.example("5b218778-e7a5-4d73-8187-f10824047715")
.picker(&Picker {
    key: picker::REPORT,
    depends_on: &["workspace"],
});

/// Wait Timeout (s): how long an action follows a long-running operation of the service.
pub const WAIT_TIMEOUT: Input = Input::new(
    "wait-timeout",
    "Wait Timeout (s)",
    InputType::Integer,
    "The maximum time in seconds to wait for the service to finish. The step fails with a timeout after it; the engine's own limit on a step's duration may be shorter.",
)
.default("240")
.bounds(Some(1), Some(MAX_WAIT_SECONDS));
