//! The connector documentation's labels, comments and defaults, written out here as our own
//! table (copied from the documentation's text, not from the component), held against what
//! the built component describes. A reworded label or a changed default fails here.

mod common;

use anyhow::{Context, Result, ensure};
use common::Harness;

/// `(label, comments, default)` of one input, as the documentation prints them.
type Row = (&'static str, &'static str, Option<&'static str>);

const CONNECTION: (&str, &str, &[Row]) = (
    "OAuth 2.0",
    "OAuth 2.0 Connectivity for Microsoft Power BI",
    &[
        (
            "Authorize URL",
            "The OAuth 2.0 Authorization URL. Use tenant-specific endpoint for single-tenant apps: https://login.microsoftonline.com/{TENANT-ID}/oauth2/authorize",
            Some("https://login.microsoftonline.com/common/oauth2/authorize"),
        ),
        (
            "Token URL",
            "The OAuth 2.0 Token URL. Use tenant-specific endpoint for single-tenant apps: https://login.microsoftonline.com/{TENANT-ID}/oauth2/v2.0/token",
            Some("https://login.microsoftonline.com/common/oauth2/v2.0/token"),
        ),
        (
            "Scopes",
            "Space-separated list of Power BI OAuth scopes. Must include 'offline_access' for refresh tokens. See https://docs.microsoft.com/en-us/graph/permissions-reference for available scopes.",
            Some("https://analysis.windows.net/powerbi/api/Dataset.ReadWrite.All offline_access"),
        ),
        (
            "Client ID",
            "The Application (client) ID from the Azure Portal. Navigate to Azure Active Directory > App registrations to find this value.",
            None,
        ),
        (
            "Client Secret",
            "The Client Secret from the Azure Portal. Navigate to Certificates & secrets to generate a new client secret.",
            None,
        ),
    ],
);

const DATASET_ID: Row = (
    "Dataset ID",
    "The unique identifier of the dataset. A dataset is a collection of tables that can be used to generate reports and visuals in Power BI. Datasets must be 'Push' datasets to be accessible via API.",
    None,
);
const TABLE_NAME: Row = (
    "Table Name",
    "The name of the table within the dataset.",
    None,
);
const COLUMNS: Row = (
    "Columns",
    "An array of column definitions that define the table schema. Each column must have a name and dataType. Supported data types: Int64, Double, Boolean, DateTime, String, Decimal.",
    None,
);
const TOP: Row = (
    "Top",
    "The maximum number of results to return. Must be a value between 1 and 1000.",
    None,
);
const PAGE_OFFSET: Row = (
    "Page Offset",
    "The number of entries to skip for pagination. Used to retrieve results beyond the first page.",
    None,
);

/// `(label, description, inputs in the documentation's order)`.
const ACTIONS: &[(&str, &str, &[Row])] = &[
    (
        "Create Dataset",
        "Creates a new dataset on 'My Workspace'",
        &[
            (
                "Dataset Name",
                "The name for the new dataset to create.",
                None,
            ),
            COLUMNS,
            TABLE_NAME,
        ],
    ),
    (
        "Create Rows",
        "Adds new data rows to the specified table within the specified dataset from 'My Workspace'",
        &[
            DATASET_ID,
            TABLE_NAME,
            (
                "Rows",
                "An array of row objects to insert into the table. Each object should contain key-value pairs matching the table's column names.",
                None,
            ),
        ],
    ),
    (
        "Delete Rows",
        "Deletes all rows from the specified table within the specified dataset from 'My Workspace'",
        &[DATASET_ID, TABLE_NAME],
    ),
    (
        "List Datasets",
        "Returns a list of datasets from 'My Workspace'",
        &[TOP, PAGE_OFFSET],
    ),
    (
        "List Groups",
        "Returns a list of workspaces the user has access to",
        &[PAGE_OFFSET, TOP],
    ),
    (
        "List Reports",
        "Returns a list of reports from 'My Workspace'",
        &[TOP, PAGE_OFFSET],
    ),
    (
        "List Tables",
        "Returns a list of tables tables within the specified dataset from 'My Workspace'",
        &[DATASET_ID, TOP, PAGE_OFFSET],
    ),
    (
        "Raw Request",
        "Send raw HTTP request to Microsoft Power BI",
        &[
            (
                "URL",
                "Input the path only (/profiles), The base URL is already included (https://api.powerbi.com/v1.0/myorg). For example, to connect to https://api.powerbi.com/v1.0/myorg/profiles, only /profiles is entered in this field.",
                Some("/imports"),
            ),
            ("Method", "The HTTP method to use.", None),
            ("Data", "The HTTP body payload to send to the URL.", None),
            (
                "Form Data",
                "The Form Data to be sent as a multipart form upload.",
                None,
            ),
            (
                "File Data",
                "File Data to be sent as a multipart form upload.",
                None,
            ),
            (
                "File Data File Names",
                "File names to apply to the file data inputs. Keys must match the file data keys above.",
                None,
            ),
            (
                "Query Parameter",
                "A list of query parameters to send with the request. This is the portion at the end of the URL similar to ?key1=value1&key2=value2.",
                None,
            ),
            (
                "Header",
                "A list of headers to send with the request.",
                None,
            ),
            (
                "Response Type",
                "The type of data you expect in the response. You can request json, text, or binary data.",
                Some("json"),
            ),
            (
                "Timeout",
                "The maximum time that a client will await a response to its request",
                None,
            ),
            (
                "Debug Request",
                "Enabling this flag will log out the current request.",
                Some("false"),
            ),
            (
                "Retry Delay (ms)",
                "The delay in milliseconds between retries. This is used when 'Use Exponential Backoff' is disabled.",
                Some("0"),
            ),
            (
                "Retry On All Errors",
                "If true, retries on all erroneous responses regardless of type. This is helpful when retrying after HTTP 429 or other 3xx or 4xx errors. Otherwise, only retries on HTTP 5xx and network errors.",
                Some("false"),
            ),
            (
                "Max Retry Count",
                "The maximum number of retries to attempt. Specify 0 for no retries.",
                Some("0"),
            ),
            (
                "Use Exponential Backoff",
                "Specifies whether to use a pre-defined exponential backoff strategy for retries. When enabled, 'Retry Delay (ms)' is ignored.",
                Some("false"),
            ),
        ],
    ),
    (
        "Update Table",
        "Updates the metadata and schema for the specified table within the specified dataset from 'My Workspace'",
        &[DATASET_ID, TABLE_NAME, COLUMNS],
    ),
];

/// Actions we add beyond the documentation (docs/decisions.md, "Actions beyond the
/// documentation"), by label.
const ADDED_ACTIONS: &[&str] = &[
    "Delete Dataset",
    "Execute DAX Query",
    "Export Report to File",
    "Get Dataset",
    "Get Refresh History",
    "List Dashboards",
    "List Imports",
    "Refresh Dataset",
];

/// Inputs we add on purpose beyond the documentation, each explained in docs/decisions.md:
/// `(action label, input label)`.
const ADDITIONS: &[(&str, &str)] = &[
    ("Create Rows", "Start Row"),
    // National clouds and private endpoints (docs/decisions.md, "Connections").
    ("connection", "Cloud"),
    ("connection", "API Base URL"),
    // Workspaces (docs/decisions.md, "Workspaces"): every action on a dataset, table or report.
    ("Create Dataset", "Workspace"),
    ("Create Rows", "Workspace"),
    ("Delete Rows", "Workspace"),
    ("List Datasets", "Workspace"),
    ("List Reports", "Workspace"),
    ("List Tables", "Workspace"),
    ("Update Table", "Workspace"),
];

fn check_inputs(owner: &str, expected: &[Row], actual: &[pbi_host::InputDefinition]) -> Result<()> {
    for (action, label) in ADDITIONS.iter().filter(|(a, _)| *a == owner) {
        ensure!(
            actual.iter().any(|i| i.label == *label),
            "{action}: the addition {label} is gone"
        );
    }
    let actual: Vec<&pbi_host::InputDefinition> = actual
        .iter()
        .filter(|i| !ADDITIONS.contains(&(owner, i.label.as_str())))
        .collect();
    let labels: Vec<&str> = actual.iter().map(|i| i.label.as_str()).collect();
    let wanted: Vec<&str> = expected.iter().map(|r| r.0).collect();
    ensure!(
        labels == wanted,
        "{owner}: inputs {labels:?}, the documentation has {wanted:?}"
    );
    for ((label, comments, default), input) in expected.iter().zip(&actual) {
        ensure!(
            input.comments.as_deref() == Some(*comments),
            "{owner} / {label}: comments {:?}",
            input.comments
        );
        ensure!(
            input.default.as_deref() == *default,
            "{owner} / {label}: default {:?}, the documentation has {default:?}",
            input.default
        );
    }
    Ok(())
}

#[test]
fn labels_comments_and_defaults_are_the_documentations() -> Result<()> {
    let h = Harness::new()?;
    let definition = h.connector.definition();
    ensure!(definition.info.label == "Microsoft Power BI");
    ensure!(definition.info.description == "Interact with and modify Power BI datasets");
    let connection = definition.connections.first().context("a connection")?;
    ensure!(connection.label == CONNECTION.0 && connection.comments == CONNECTION.1);
    ensure!(
        definition.connections[0]
            .inputs
            .iter()
            .find(|i| i.label == "Client Secret")
            .map(|i| i.type_)
            == Some(pbi_host::InputType::Password),
        "Client Secret is a password input"
    );
    check_inputs("connection", CONNECTION.2, &connection.inputs)?;
    // The documented connection stays first; the service principal one is an addition.
    let keys: Vec<&str> = definition
        .connections
        .iter()
        .map(|c| c.key.as_str())
        .collect();
    ensure!(
        keys == ["oauth", "service-principal"],
        "connections {keys:?}"
    );
    // The documentation's actions, in its order, once the actions we add are set aside.
    let documented: Vec<&pbi_host::ActionDefinition> = definition
        .actions
        .iter()
        .filter(|a| !ADDED_ACTIONS.contains(&a.label.as_str()))
        .collect();
    for added in ADDED_ACTIONS {
        ensure!(
            definition.actions.iter().any(|a| a.label == *added),
            "the added action {added} is gone"
        );
    }
    let labels: Vec<&str> = documented.iter().map(|a| a.label.as_str()).collect();
    let wanted: Vec<&str> = ACTIONS.iter().map(|a| a.0).collect();
    ensure!(labels == wanted, "actions {labels:?}");
    for ((label, description, inputs), action) in ACTIONS.iter().zip(documented) {
        ensure!(
            action.description == *description,
            "{label}: description {:?}",
            action.description
        );
        check_inputs(label, inputs, &action.inputs)?;
    }
    Ok(())
}
