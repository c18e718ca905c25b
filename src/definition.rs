//! The one table of the component's definition: labels, comments, defaults, types and bounds
//! of every input. The WIT `describe` answer, `component-manifest.json` and `docs/` are made
//! from it; the actions read their bounds and defaults from it too.
//!
//! Labels, comments and defaults are the connector documentation's, verbatim (typos
//! included: "tables tables" is what the documentation says).

/// The kind of value an input takes (the WIT `input-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    /// A line of text.
    String,
    /// A secret.
    Password,
    /// true or false.
    Boolean,
    /// A whole number.
    Integer,
    /// JSON text.
    Code,
    /// One of the choices.
    Picklist,
    /// Key/value pairs.
    KeyValueList,
    /// Key/value pairs whose values are file contents.
    FileList,
}

impl InputType {
    /// The WIT case name.
    pub fn as_str(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Password => "password",
            InputType::Boolean => "boolean",
            InputType::Integer => "integer",
            InputType::Code => "code",
            InputType::Picklist => "picklist",
            InputType::KeyValueList => "key-value-list",
            InputType::FileList => "file-list",
        }
    }
}

/// One input of a connection or an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    /// The field name in the action's input record.
    pub key: &'static str,
    /// The label.
    pub label: &'static str,
    /// The kind of value.
    pub ty: InputType,
    /// Whether a value must be there after the default is applied.
    pub required: bool,
    /// The documented default.
    pub default: Option<&'static str>,
    /// The help text.
    pub comments: &'static str,
    /// `(label, value)` of each choice of a picklist.
    pub choices: &'static [(&'static str, &'static str)],
    /// The smallest allowed integer.
    pub minimum: Option<i64>,
    /// The largest allowed integer.
    pub maximum: Option<i64>,
    /// An example value.
    pub example: Option<&'static str>,
}

impl Input {
    const fn new(
        key: &'static str,
        label: &'static str,
        ty: InputType,
        comments: &'static str,
    ) -> Input {
        Input {
            key,
            label,
            ty,
            required: false,
            default: None,
            comments,
            choices: &[],
            minimum: None,
            maximum: None,
            example: None,
        }
    }
    const fn required(mut self) -> Input {
        self.required = true;
        self
    }
    const fn default(mut self, value: &'static str) -> Input {
        self.default = Some(value);
        self
    }
    const fn bounds(mut self, minimum: Option<i64>, maximum: Option<i64>) -> Input {
        self.minimum = minimum;
        self.maximum = maximum;
        self
    }
    const fn choices(mut self, choices: &'static [(&'static str, &'static str)]) -> Input {
        self.choices = choices;
        self
    }
    const fn example(mut self, value: &'static str) -> Input {
        self.example = Some(value);
        self
    }
}

/// The OAuth 2.0 connection.
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    /// Its key.
    pub key: &'static str,
    /// Its label.
    pub label: &'static str,
    /// Its description.
    pub comments: &'static str,
    /// The grant.
    pub oauth2_type: &'static str,
    /// Its inputs.
    pub inputs: &'static [Input],
}

/// One action.
#[derive(Debug, Clone, Copy)]
pub struct Action {
    /// The key: the name of its function in the WIT `actions` interface.
    pub key: &'static str,
    /// The label.
    pub label: &'static str,
    /// The description.
    pub description: &'static str,
    /// Its inputs, in form order.
    pub inputs: &'static [Input],
}

impl Action {
    /// The input with this key. Panics on an unknown key: callers name keys of the table.
    pub fn input(&self, key: &str) -> &'static Input {
        self.inputs
            .iter()
            .find(|i| i.key == key)
            .unwrap_or_else(|| panic!("action {} has no input {key}", self.key))
    }
}

/// The component's display info.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// A stable key.
    pub key: &'static str,
    /// The name.
    pub label: &'static str,
    /// The description.
    pub description: &'static str,
    /// The category.
    pub category: &'static str,
    /// The API base.
    pub api_base_url: &'static str,
}

/// Who the component is.
pub const INFO: Info = Info {
    key: "ms-power-bi",
    label: "Microsoft Power BI",
    description: "Interact with and modify Power BI datasets",
    category: "Data Platforms",
    api_base_url: crate::http::API_BASE,
};

/// Key of the Authorize URL input.
pub const AUTHORIZE_URL: &str = "authorize-url";
/// Key of the Token URL input.
pub const TOKEN_URL: &str = "token-url";
/// Key of the Scopes input.
pub const SCOPES: &str = "scopes";

/// The OAuth 2.0 connection.
pub const CONNECTION: Connection = Connection {
    key: "oauth",
    label: "OAuth 2.0",
    comments: "OAuth 2.0 Connectivity for Microsoft Power BI",
    oauth2_type: "authorization_code",
    inputs: &[
        Input::new(
            AUTHORIZE_URL,
            "Authorize URL",
            InputType::String,
            "The OAuth 2.0 Authorization URL. Use tenant-specific endpoint for single-tenant apps: https://login.microsoftonline.com/{TENANT-ID}/oauth2/authorize",
        )
        .required()
        .default("https://login.microsoftonline.com/common/oauth2/authorize"),
        Input::new(
            TOKEN_URL,
            "Token URL",
            InputType::String,
            "The OAuth 2.0 Token URL. Use tenant-specific endpoint for single-tenant apps: https://login.microsoftonline.com/{TENANT-ID}/oauth2/v2.0/token",
        )
        .required()
        .default("https://login.microsoftonline.com/common/oauth2/v2.0/token"),
        Input::new(
            SCOPES,
            "Scopes",
            InputType::String,
            "Space-separated list of Power BI OAuth scopes. Must include 'offline_access' for refresh tokens. See https://docs.microsoft.com/en-us/graph/permissions-reference for available scopes.",
        )
        .required()
        .default("https://analysis.windows.net/powerbi/api/Dataset.ReadWrite.All offline_access"),
        Input::new(
            "client-id",
            "Client ID",
            InputType::String,
            "The Application (client) ID from the Azure Portal. Navigate to Azure Active Directory > App registrations to find this value.",
        )
        .required(),
        Input::new(
            "client-secret",
            "Client Secret",
            InputType::Password,
            "The Client Secret from the Azure Portal. Navigate to Certificates & secrets to generate a new client secret.",
        )
        .required(),
    ],
};

const DATASET_ID: Input = Input::new(
    "dataset-id",
    "Dataset ID",
    InputType::String,
    "The unique identifier of the dataset. A dataset is a collection of tables that can be used to generate reports and visuals in Power BI. Datasets must be 'Push' datasets to be accessible via API.",
)
.required()
.example("cfafbeb1-8037-4d0c-896e-a46fb27ff229");

const TABLE_NAME: Input = Input::new(
    "table-name",
    "Table Name",
    InputType::String,
    "The name of the table within the dataset.",
)
.required()
.example("Sales");

const COLUMNS: Input = Input::new(
    "columns",
    "Columns",
    InputType::Code,
    "An array of column definitions that define the table schema. Each column must have a name and dataType. Supported data types: Int64, Double, Boolean, DateTime, String, Decimal.",
)
.required()
.example(r#"[{"name":"Id","dataType":"Int64"},{"name":"Region","dataType":"String"}]"#);

/// The most results a list action returns at once.
pub const MAX_TOP: i64 = 1000;

const TOP: Input = Input::new(
    "top",
    "Top",
    InputType::Integer,
    "The maximum number of results to return. Must be a value between 1 and 1000.",
)
.bounds(Some(1), Some(MAX_TOP));

const PAGE_OFFSET: Input = Input::new(
    "page-offset",
    "Page Offset",
    InputType::Integer,
    "The number of entries to skip for pagination. Used to retrieve results beyond the first page.",
)
.bounds(Some(0), None);

/// The longest Raw Request Timeout: one day.
pub const MAX_TIMEOUT_MS: i64 = 86_400_000;
/// The most retries Raw Request makes.
pub const MAX_RETRIES: i64 = 10;

/// Create Dataset.
pub const CREATE_DATASET: Action = Action {
    key: "create-dataset",
    label: "Create Dataset",
    description: "Creates a new dataset on 'My Workspace'",
    inputs: &[
        Input::new(
            "dataset-name",
            "Dataset Name",
            InputType::String,
            "The name for the new dataset to create.",
        )
        .required()
        .example("Sales Dataset"),
        COLUMNS,
        TABLE_NAME,
    ],
};

/// Create Rows.
pub const CREATE_ROWS: Action = Action {
    key: "create-rows",
    label: "Create Rows",
    description: "Adds new data rows to the specified table within the specified dataset from 'My Workspace'",
    inputs: &[
        DATASET_ID,
        TABLE_NAME,
        Input::new(
            "rows",
            "Rows",
            InputType::Code,
            "An array of row objects to insert into the table. Each object should contain key-value pairs matching the table's column names.",
        )
        .required()
        .example(r#"[{"Id":1,"Region":"West"},{"Id":2,"Region":"East"}]"#),
        // Not in the connector documentation: added so a flow can resume a push that failed
        // halfway without sending the stored rows again (see docs/decisions.md).
        Input::new(
            "start-row",
            "Start Row",
            InputType::Integer,
            "Skip this many rows of Rows first. To resume after a partial failure, use the resumeFromRow the failed step reported.",
        )
        .default("0")
        .bounds(Some(0), None),
    ],
};

/// Delete Rows.
pub const DELETE_ROWS: Action = Action {
    key: "delete-rows",
    label: "Delete Rows",
    description: "Deletes all rows from the specified table within the specified dataset from 'My Workspace'",
    inputs: &[DATASET_ID, TABLE_NAME],
};

/// List Datasets.
pub const LIST_DATASETS: Action = Action {
    key: "list-datasets",
    label: "List Datasets",
    description: "Returns a list of datasets from 'My Workspace'",
    inputs: &[TOP, PAGE_OFFSET],
};

/// List Groups.
pub const LIST_GROUPS: Action = Action {
    key: "list-groups",
    label: "List Groups",
    description: "Returns a list of workspaces the user has access to",
    inputs: &[PAGE_OFFSET, TOP],
};

/// List Reports.
pub const LIST_REPORTS: Action = Action {
    key: "list-reports",
    label: "List Reports",
    description: "Returns a list of reports from 'My Workspace'",
    inputs: &[TOP, PAGE_OFFSET],
};

/// List Tables.
pub const LIST_TABLES: Action = Action {
    key: "list-tables",
    label: "List Tables",
    description: "Returns a list of tables tables within the specified dataset from 'My Workspace'",
    inputs: &[DATASET_ID, TOP, PAGE_OFFSET],
};

/// Raw Request.
pub const RAW_REQUEST: Action = Action {
    key: "raw-request",
    label: "Raw Request",
    description: "Send raw HTTP request to Microsoft Power BI",
    inputs: &[
        Input::new(
            "url",
            "URL",
            InputType::String,
            "Input the path only (/profiles), The base URL is already included (https://api.powerbi.com/v1.0/myorg). For example, to connect to https://api.powerbi.com/v1.0/myorg/profiles, only /profiles is entered in this field.",
        )
        .required()
        .default("/imports")
        .example("/datasets"),
        Input::new("method", "Method", InputType::Picklist, "The HTTP method to use.")
            .required()
            .choices(&[
                ("GET", "GET"),
                ("POST", "POST"),
                ("PUT", "PUT"),
                ("PATCH", "PATCH"),
                ("DELETE", "DELETE"),
                ("HEAD", "HEAD"),
                ("OPTIONS", "OPTIONS"),
            ]),
        Input::new("data", "Data", InputType::Code, "The HTTP body payload to send to the URL."),
        Input::new(
            "form-data",
            "Form Data",
            InputType::KeyValueList,
            "The Form Data to be sent as a multipart form upload.",
        ),
        Input::new(
            "file-data",
            "File Data",
            InputType::FileList,
            "File Data to be sent as a multipart form upload.",
        ),
        Input::new(
            "file-data-file-names",
            "File Data File Names",
            InputType::KeyValueList,
            "File names to apply to the file data inputs. Keys must match the file data keys above.",
        ),
        Input::new(
            "query-params",
            "Query Parameter",
            InputType::KeyValueList,
            "A list of query parameters to send with the request. This is the portion at the end of the URL similar to ?key1=value1&key2=value2.",
        ),
        Input::new(
            "headers",
            "Header",
            InputType::KeyValueList,
            "A list of headers to send with the request.",
        ),
        Input::new(
            "response-type",
            "Response Type",
            InputType::Picklist,
            "The type of data you expect in the response. You can request json, text, or binary data.",
        )
        .required()
        .default("json")
        .choices(&[("JSON", "json"), ("Text", "text"), ("Binary", "binary")]),
        Input::new(
            "timeout",
            "Timeout",
            InputType::Integer,
            "The maximum time that a client will await a response to its request",
        )
        .bounds(Some(1), Some(MAX_TIMEOUT_MS))
        .example("30000"),
        Input::new(
            "debug-request",
            "Debug Request",
            InputType::Boolean,
            "Enabling this flag will log out the current request.",
        )
        .default("false"),
        Input::new(
            "retry-delay-ms",
            "Retry Delay (ms)",
            InputType::Integer,
            "The delay in milliseconds between retries. This is used when 'Use Exponential Backoff' is disabled.",
        )
        .default("0")
        .bounds(Some(0), Some(MAX_TIMEOUT_MS)),
        Input::new(
            "retry-all-errors",
            "Retry On All Errors",
            InputType::Boolean,
            "If true, retries on all erroneous responses regardless of type. This is helpful when retrying after HTTP 429 or other 3xx or 4xx errors. Otherwise, only retries on HTTP 5xx and network errors.",
        )
        .default("false"),
        Input::new(
            "max-retries",
            "Max Retry Count",
            InputType::Integer,
            "The maximum number of retries to attempt. Specify 0 for no retries.",
        )
        .default("0")
        .bounds(Some(0), Some(MAX_RETRIES)),
        Input::new(
            "use-exponential-backoff",
            "Use Exponential Backoff",
            InputType::Boolean,
            "Specifies whether to use a pre-defined exponential backoff strategy for retries. When enabled, 'Retry Delay (ms)' is ignored.",
        )
        .default("false"),
    ],
};

/// Update Table.
pub const UPDATE_TABLE: Action = Action {
    key: "update-table",
    label: "Update Table",
    description: "Updates the metadata and schema for the specified table within the specified dataset from 'My Workspace'",
    inputs: &[DATASET_ID, TABLE_NAME, COLUMNS],
};

/// Every action, in the documentation's order.
pub const ACTIONS: &[Action] = &[
    CREATE_DATASET,
    CREATE_ROWS,
    DELETE_ROWS,
    LIST_DATASETS,
    LIST_GROUPS,
    LIST_REPORTS,
    LIST_TABLES,
    RAW_REQUEST,
    UPDATE_TABLE,
];

/// The action with this key.
pub fn action(key: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_kebab_case() {
        let mut keys: Vec<_> = ACTIONS.iter().map(|a| a.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 9);
        for a in ACTIONS {
            let mut inputs: Vec<_> = a.inputs.iter().map(|i| i.key).collect();
            inputs.sort();
            inputs.dedup();
            assert_eq!(inputs.len(), a.inputs.len(), "{}", a.key);
            for key in inputs.iter().chain([&a.key]) {
                assert!(
                    key.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                    "{key} is not kebab-case"
                );
            }
        }
    }

    #[test]
    fn raw_request_has_fifteen_inputs() {
        assert_eq!(RAW_REQUEST.inputs.len(), 15);
        assert_eq!(RAW_REQUEST.input("url").default, Some("/imports"));
    }
}
