//! The component's definition: labels, comments, defaults, types and bounds of every input
//! of the connection and the actions. The WIT `describe` answer, `component-manifest.json`
//! and `docs/` are made from it; the actions read their bounds and defaults from it too.
//!
//! This module has the types, the component's [`INFO`], the [`CONNECTION`] and the bounds
//! the actions share. Each action's own definition lives in its module
//! (`crate::actions::<action>::DEFINITION`, with the inputs several actions share in
//! `crate::actions::inputs`), and `crate::actions::ACTIONS` is the registry's list of them, so
//! an action is described where it is implemented.
//!
//! Labels, comments and defaults are the connector documentation's, verbatim (typos
//! included: "tables tables" is what the documentation says).

contract_enum! {
    /// The kind of value an input takes (the WIT `input-type`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum InputType => crate::bindings::wd::InputType {
        /// A line of text.
        String = "string",
        /// A secret.
        Password = "password",
        /// true or false.
        Boolean = "boolean",
        /// A whole number.
        Integer = "integer",
        /// JSON text.
        Code = "code",
        /// One of the choices.
        Picklist = "picklist",
        /// Key/value pairs.
        KeyValueList = "key-value-list",
        /// Key/value pairs whose values are file contents.
        FileList = "file-list",
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
    /// What a text value must be beyond its type, when the component checks more.
    pub rule: Option<&'static TextRule>,
    /// An example value.
    pub example: Option<&'static str>,
    /// The picker that lists this input's values, if there is one (`crate::pickers`). A
    /// reference, as for `rule`: most inputs have none.
    pub picker: Option<&'static Picker>,
}

/// What a text input's value must be beyond its type (the WIT input definition's `pattern`
/// and `max-length`): exactly what the component's own check of it takes, declared beside
/// that check. An input refers to one, which keeps each of the many `Input` values in the
/// binary 4 bytes bigger rather than 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    /// The regular expression (JSON Schema's `pattern`, ECMA-262) a value must match.
    pub pattern: &'static str,
    /// The most characters (Unicode scalar values) a value may have.
    pub max_length: Option<u32>,
}

/// The pickers' keys: the component's vocabulary for them (their lists are made by
/// `crate::pickers`).
pub mod picker {
    /// The user's workspaces.
    pub const WORKSPACE: &str = "workspace";
    /// The datasets of a workspace.
    pub const DATASET: &str = "dataset";
    /// The push datasets of a workspace.
    pub const PUSH_DATASET: &str = "push-dataset";
    /// The tables of a dataset.
    pub const TABLE: &str = "table";
    /// The reports of a workspace.
    pub const REPORT: &str = "report";
    /// Every picker's key.
    pub const PICKERS: &[&str] = &[WORKSPACE, DATASET, PUSH_DATASET, TABLE, REPORT];
}

/// Which picker lists an input's values, and which inputs of the same action it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Picker {
    /// The picker's key.
    pub key: &'static str,
    /// Keys of the inputs whose values it needs.
    pub depends_on: &'static [&'static str],
}

// The builders are the crate's own: the actions' modules and `crate::actions::inputs`
// declare inputs with them; nothing outside the crate makes definitions.
impl Input {
    /// An optional input with no default, choices, bounds or example.
    pub(crate) const fn new(
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
            rule: None,
            example: None,
            picker: None,
        }
    }
    /// The same, required.
    pub(crate) const fn required(mut self) -> Input {
        self.required = true;
        self
    }
    /// The same, with this documented default.
    pub(crate) const fn default(mut self, value: &'static str) -> Input {
        self.default = Some(value);
        self
    }
    /// The same, with these integer bounds.
    pub(crate) const fn bounds(mut self, minimum: Option<i64>, maximum: Option<i64>) -> Input {
        self.minimum = minimum;
        self.maximum = maximum;
        self
    }
    /// The same, its text values following `rule` (what the component's check takes).
    pub(crate) const fn rule(mut self, rule: &'static TextRule) -> Input {
        self.rule = Some(rule);
        self
    }
    /// The same, with these `(label, value)` choices.
    pub(crate) const fn choices(
        mut self,
        choices: &'static [(&'static str, &'static str)],
    ) -> Input {
        self.choices = choices;
        self
    }
    /// The same, with this example value.
    pub(crate) const fn example(mut self, value: &'static str) -> Input {
        self.example = Some(value);
        self
    }

    /// The same input, its values listed by `picker`.
    pub(crate) const fn picker(mut self, picker: &'static Picker) -> Input {
        self.picker = Some(picker);
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
    /// How to set the connection up on the service's side, as Markdown steps.
    pub setup: Option<&'static str>,
    /// Anything else a user of the connection should know, as Markdown (with its own
    /// headings).
    pub notes: Option<&'static str>,
    /// Every host a connection of this kind may reach, whatever its values.
    pub hosts: &'static [&'static str],
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

/// A Power BI cloud: where its API is, how its tokens name the API, where its users sign in.
/// From Microsoft's "Embed content in national clouds" (Power BI embedded analytics
/// documentation), which lists each cloud's API URL, resource and authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cloud {
    /// The value of the Cloud input.
    pub key: &'static str,
    /// The API base, `https://<api host>/v1.0/myorg`.
    pub api_base: &'static str,
    /// The resource tokens are for (v1 `resource`, v2 scopes' prefix).
    pub resource: &'static str,
    /// The host of the identity platform's endpoints for this cloud.
    pub login_host: &'static str,
}

/// The clouds, the commercial one first (the default).
pub const CLOUDS: [Cloud; 5] = [
    Cloud {
        key: "Public",
        api_base: "https://api.powerbi.com/v1.0/myorg",
        resource: "https://analysis.windows.net/powerbi/api",
        login_host: "login.microsoftonline.com",
    },
    // GCC signs in with the commercial identity platform.
    Cloud {
        key: "USGov",
        api_base: "https://api.powerbigov.us/v1.0/myorg",
        resource: "https://analysis.usgovcloudapi.net/powerbi/api",
        login_host: "login.microsoftonline.com",
    },
    Cloud {
        key: "USGovHigh",
        api_base: "https://api.high.powerbigov.us/v1.0/myorg",
        resource: "https://high.analysis.usgovcloudapi.net/powerbi/api",
        login_host: "login.microsoftonline.us",
    },
    Cloud {
        key: "USGovDoD",
        api_base: "https://api.mil.powerbigov.us/v1.0/myorg",
        resource: "https://mil.analysis.usgovcloudapi.net/powerbi/api",
        login_host: "login.microsoftonline.us",
    },
    Cloud {
        key: "China",
        api_base: "https://api.powerbi.cn/v1.0/myorg",
        resource: "https://analysis.chinacloudapi.cn/powerbi/api",
        login_host: "login.chinacloudapi.cn",
    },
];

/// Every API and login host of every cloud: what a connection may reach by itself.
pub const CLOUD_HOSTS: &[&str] = &[
    "api.powerbi.com",
    "api.powerbigov.us",
    "api.high.powerbigov.us",
    "api.mil.powerbigov.us",
    "api.powerbi.cn",
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
];

/// Key of the Cloud input.
pub const CLOUD: &str = "cloud";
/// Key of the API Base URL input.
pub const API_BASE_URL: &str = "api-base-url";

/// Cloud: which Power BI cloud the tenant is in (both connections).
const CLOUD_INPUT: Input = Input::new(
    CLOUD,
    "Cloud",
    InputType::Picklist,
    "The Power BI cloud of your tenant. It chooses the API's address and the resource tokens are requested for; government and China tenants sign in on their own hosts.",
)
.default("Public")
.choices(&[
    ("Public", "Public"),
    ("US Government (GCC)", "USGov"),
    ("US Government High", "USGovHigh"),
    ("US Department of Defense", "USGovDoD"),
    ("China", "China"),
]);

/// API Base URL: a private or test endpoint instead of the cloud's (both connections).
const API_BASE_URL_INPUT: Input = Input::new(
    API_BASE_URL,
    "API Base URL",
    InputType::String,
    "The base URL of the Power BI REST API, for private or test endpoints. Leave it empty to use the cloud's (https://api.powerbi.com/v1.0/myorg for Public). Must be https, or http to a loopback address.",
)
.example("https://api.powerbi.com/v1.0/myorg");

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
        CLOUD_INPUT,
        API_BASE_URL_INPUT,
    ],
    setup: Some(
        "1. In the Azure Portal, register an application (Azure Active Directory → App registrations → New registration).\n\
         2. Copy its Application (client) ID; under Certificates & secrets create a client secret and copy its value.\n\
         3. Under API permissions add Power BI Service delegated permissions, and make sure `offline_access` is requested so the connection receives refresh tokens.\n\
         4. Fill in the inputs below. Single-tenant apps use the tenant-specific endpoints; multi-tenant apps can keep the common ones.",
    ),
    notes: Some(
        "## OAuth endpoint notes\n\n\
         The component reads each endpoint's version from its path and sends what it understands: \
         v1 endpoints (`.../oauth2/authorize`, `.../oauth2/token`) get `resource=https://analysis.windows.net/powerbi/api`, \
         v2 endpoints (`.../oauth2/v2.0/...`) get `scope` and never `resource` (they reject it with AADSTS90100). \
         The documented defaults pair a v1 Authorize URL with a v2 Token URL; they work as given, \
         but the matched v2 pair (`https://login.microsoftonline.com/common/oauth2/v2.0/authorize` with \
         `https://login.microsoftonline.com/common/oauth2/v2.0/token`) is recommended. \
         See `docs/decisions.md`.\n\n\
         ## National clouds\n\n\
         Cloud chooses the API's address and the resource in the scopes (scopes naming \
         `https://analysis.windows.net/powerbi/api` are sent with the cloud's resource). The \
         Authorize and Token URLs stay what you enter, and must be on the cloud's sign-in host: \
         `login.microsoftonline.com` for Public and US Government (GCC), \
         `login.microsoftonline.us` for US Government High and DoD, `login.chinacloudapi.cn` \
         for China.",
    ),
    hosts: CLOUD_HOSTS,
};

/// Key of the Tenant ID input.
pub const TENANT_ID: &str = "tenant-id";

/// The `pattern` of the Tenant ID input: what the client credentials grant takes
/// (`crate::oauth`): letters, digits, `-` and `.` (a GUID or a domain name), but not the
/// multi-tenant names `common`, `organizations` and `consumers` in any case; white space
/// around it allowed (the value is trimmed first).
pub const TENANT_ID_PATTERN: &str = concat!(
    r"^\s*(?!(?:[Cc][Oo][Mm][Mm][Oo][Nn]|[Oo][Rr][Gg][Aa][Nn][Ii][Zz][Aa][Tt][Ii][Oo][Nn][Ss]",
    r"|[Cc][Oo][Nn][Ss][Uu][Mm][Ee][Rr][Ss])\s*$)[0-9A-Za-z.-]+\s*$"
);

/// The Tenant ID's rule: [`TENANT_ID_PATTERN`].
pub const TENANT_ID_RULE: TextRule = TextRule {
    pattern: TENANT_ID_PATTERN,
    max_length: None,
};

/// The service principal connection: the client credentials grant, for unattended flows.
pub const SERVICE_PRINCIPAL: Connection = Connection {
    key: "service-principal",
    label: "Service Principal",
    comments: "A service principal (an app registration with a client secret) signs in by itself, for flows that run with nobody to sign in",
    oauth2_type: "client_credentials",
    inputs: &[
        Input::new(
            TENANT_ID,
            "Tenant ID",
            InputType::String,
            "The Directory (tenant) ID from the Azure Portal, or the tenant's domain name (such as contoso.onmicrosoft.com). Service principals cannot use 'common'.",
        )
        .required()
        .rule(&TENANT_ID_RULE)
        .example("f089354e-8366-4e18-aea3-4cb4a3a50b48"),
        Input::new(
            "client-id",
            "Client ID",
            InputType::String,
            "The Application (client) ID of the app registration.",
        )
        .required(),
        Input::new(
            "client-secret",
            "Client Secret",
            InputType::Password,
            "The value of one of the app's client secrets (Certificates & secrets), not its ID.",
        )
        .required(),
        CLOUD_INPUT,
        API_BASE_URL_INPUT,
    ],
    setup: Some(
        "1. In the Azure Portal, register an application and create a client secret; copy the Directory (tenant) ID, the Application (client) ID and the secret's value.\n\
         2. Do not add Power BI API permissions to it: a service principal's access comes from Power BI itself.\n\
         3. In the Power BI admin portal, enable 'Allow service principals to use Power BI APIs' (Developer settings; newer tenants call it 'Service principals can use Fabric APIs') for a security group that holds the app.\n\
         4. Add the service principal to each workspace the flows use, as Member or Admin.",
    ),
    notes: Some(
        "## Service principals\n\n\
         A service principal has no My Workspace: give every action a Workspace. It cannot \
         receive mail, so Refresh Dataset's Notify Option must be No Notification. The \
         component asks for a token with the client credentials grant (scope \
         `<cloud resource>/.default`) on `https://<cloud sign-in host>/<tenant>/oauth2/v2.0/token`; \
         the engine keeps it until shortly before it expires.",
    ),
    hosts: CLOUD_HOSTS,
};

/// The component's connections, the documented one first.
pub const CONNECTIONS: [Connection; 2] = [CONNECTION, SERVICE_PRINCIPAL];

/// The most results a list action returns at once.
pub const MAX_TOP: i64 = 1000;
/// The longest Raw Request Timeout: one day.
pub const MAX_TIMEOUT_MS: i64 = 86_400_000;
/// The most retries Raw Request makes.
pub const MAX_RETRIES: i64 = 10;
/// The largest Wait Timeout (s): an hour.
pub const MAX_WAIT_SECONDS: i64 = 3600;
