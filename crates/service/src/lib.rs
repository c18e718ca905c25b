//! A local emulator of the Microsoft Power BI REST API and of the Microsoft identity
//! platform's login endpoints, for tests and demos.
//!
//! [`ServiceHandle::spawn`] starts an HTTP/1.1 server on loopback, on its own thread with its
//! own tokio runtime, so plain synchronous code (tests, a CLI) can drive it. The API lives
//! under `/v1.0/myorg` (My workspace) and, for the same operations inside a workspace, under
//! `/v1.0/myorg/groups/{groupId}`:
//!
//! | operation | call | success |
//! |---|---|---|
//! | List Datasets | `GET /datasets` | 200 envelope |
//! | Create Dataset | `POST /datasets[?defaultRetentionPolicy=None\|basicFIFO]` | 201 dataset |
//! | Get / Delete Dataset | `GET`/`DELETE /datasets/{id}` | 200 |
//! | List Tables | `GET /datasets/{id}/tables` | 200 envelope (push datasets only) |
//! | Update Table | `PUT /datasets/{id}/tables/{table}` | 200 table |
//! | Post Rows | `POST /datasets/{id}/tables/{table}/rows` | 200, empty body |
//! | Delete Rows | `DELETE /datasets/{id}/tables/{table}/rows` | 200, empty body |
//! | Refresh Dataset | `POST /datasets/{id}/refreshes` (body optional) | 202, empty body |
//! | Get Refresh History | `GET /datasets/{id}/refreshes[?$top=N]` | 200 envelope, newest first |
//! | Get Refresh Execution Details | `GET /datasets/{id}/refreshes/{requestId}` | 202 running, 200 ended |
//! | Execute Queries | `POST /datasets/{id}/executeQueries` (DAX subset) | 200 `{"results":[{"tables":[{"rows"}]}]}` |
//! | List Reports | `GET /reports` | 200 envelope |
//! | Export To File | `POST /reports/{id}/ExportTo` | 202 `Export` |
//! | Get Export To File Status | `GET /reports/{id}/exports/{exportId}` | 202 running, 200 ended |
//! | Get File Of Export To File | `GET /reports/{id}/exports/{exportId}/file` | 200 the file |
//! | List Dashboards | `GET /dashboards` | 200 envelope |
//! | List / Get Imports | `GET /imports`, `GET /imports/{id}` | 200 |
//! | Post Import | `POST /imports?datasetDisplayName=..` (multipart/form-data) | 202 `{id}` |
//! | List Groups | `GET /v1.0/myorg/groups?$top&$skip&$filter` | 200 envelope |
//! | Create Group | `POST /v1.0/myorg/groups[?workspaceV2=true]` body `{"name"}` | 200 group |
//! | Get / Delete Group | `GET`/`DELETE /v1.0/myorg/groups/{groupId}` | 200 |
//!
//! # Behaviour where Microsoft's documents are silent
//!
//! - **Order of checks.** Authentication comes first for every path under `/v1.0/`, even an
//!   unknown one (401 or 403 before 404). Then: unknown workspace, dataset or table → 404;
//!   for Post Rows the rate limit (429); then the body's media type (415 unless JSON, or
//!   `multipart/form-data` for imports); then the body itself (400).
//! - **Scope.** A dataset is found only in the scope it lives in: a workspace's dataset
//!   addressed through My workspace (or another workspace) is 404. Ids (GUIDs) compare
//!   ignoring case; table names are case-sensitive.
//! - **Create Dataset.** Property names are checked case-sensitively against Swagger's
//!   `CreateDatasetRequest`, `Table`, `Column`, `Measure`, `Relationship` and `Datasource`;
//!   every problem is listed in `error.details` (target like `dataset.tables[0].columns[1]`).
//!   Data types are read ignoring case (`bool` too, as Microsoft's examples send it) and
//!   stored in canonical spelling. At least one table, at least one column per table, table
//!   and column names unique ignoring case, table names per Swagger's pattern (1–100 chars;
//!   of ASCII punctuation only space `#` `-` `@` `^` `_` `~`). `defaultMode` may be `Push`
//!   (the default), `Streaming` or `PushStreaming`, all of which behave as a push dataset
//!   (rows are kept even for `Streaming`); `AsAzure`/`AsOnPrem` are 400. `relationships`
//!   and `datasources` are validated, not kept. Dataset names may repeat.
//! - **Update Table.** The body's `name` must equal the URL's table name; the schema is
//!   replaced and the rows already pushed are kept as they are (`rows` in the body are
//!   validated but ignored).
//! - **List Tables** answers `{"name"}` per table; set
//!   [`ServiceConfig::list_tables_with_columns`] to include the columns.
//! - **Post Rows.** The body must be `{"rows":[...]}` and nothing else; each row an object of
//!   scalars; strings at most 4,000 characters; Int64 min/max rejected. Row keys are not
//!   checked against the columns: rows are stored as sent, in order. The rate limit is a
//!   sliding minute per dataset and counts every request that reaches an existing table
//!   (even one then rejected with 400); `Retry-After` is the whole seconds until the oldest
//!   counted request leaves the window (at least 1). With `basicFIFO` a table keeps the
//!   newest [`ServiceConfig::fifo_max_rows`] rows. Per dataset and sliding hour, at most
//!   [`ServiceConfig::rows_per_hour`] rows are accepted, and once the target table holds
//!   [`ServiceConfig::large_table_rows`] rows, at most
//!   [`ServiceConfig::large_table_requests_per_hour`] requests; both answer 429 with the
//!   `Retry-After` until the request would fit, and a refused request stores nothing. The
//!   "5 pending requests" limit is not emulated (requests are handled one at a time).
//! - **Groups.** `$skip` then `$top` after `$filter`. `$filter` supports `name eq|ne 'x'`,
//!   `contains|startswith|endswith(name,'x')`, `and`, `or`, `not`, parentheses, comparing
//!   ignoring case; any other filter is 400 (never silently ignored).
//! - **Create Group** takes Swagger's `GroupCreationRequest` (`name` only, required; other
//!   properties 400 as for Create Dataset) and answers 200 (Swagger's only answer, not 201)
//!   with the `Group` and an `@odata.context` ending `$metadata#groups/$entity`. A missing,
//!   empty or blank name is 400 `BadRequest` (target `requestParameters.name`).
//!   `workspaceV2` may be absent or `true`; `false` is 400 (Swagger: "The only supported
//!   value is `true`"), as is a non-boolean. Workspace names are unique in the organization
//!   (Swagger on Update Group), compared ignoring case and surrounding white space
//!   (unverified), workspaces the user cannot see included: a taken name is 400
//!   `PowerBIEntityAlreadyExists` in the message-less shape, as the live service answers
//!   (recorded by public clients; Microsoft documents no error). Delete Group removes the
//!   workspace's datasets, reports, dashboards and imports.
//! - **Dashboards.** Get Dashboards (My workspace) and Get Dashboards In Group answer the
//!   whole list (no `$top`/`$skip`, no `@odata.nextLink`), each dashboard with `id`,
//!   `displayName`, `isReadOnly` (`false`), `webUrl` and `embedUrl`
//!   (`https://app.powerbi.com/dashboardEmbed?dashboardId=..[&groupId=..]`, as Swagger's
//!   examples). Dashboards are added with [`ServiceHandle::add_dashboard`] (or the demo
//!   content); Add Dashboard (`POST /dashboards`) is not emulated (405), nor tiles, nor the
//!   shared and app dashboards Microsoft says My workspace's list also holds.
//! - **Workspaces the user cannot see.** [`ServiceHandle::add_hidden_group`] adds a
//!   workspace the user is not a member of: not listed, and every call naming it answers
//!   as for an unknown id. Under `/groups/{groupId}`, an id that is not a GUID, an unknown
//!   one and a hidden one all answer 404 `PowerBIEntityNotFound` (after authentication,
//!   before the query and the body are checked; nothing counts against the rate limits).
//!   A 404 rather than 401 or 403 follows what users report for the same case
//!   (microsoft/PowerBI-Developer-Samples issue 20: Get Reports In Group answered
//!   `NotFound`, and Microsoft's reply pointed to the user's permission on the workspace);
//!   not documented by Microsoft. An empty id (`/groups//datasets`)
//!   is one of these malformed ids; a segment that decodes to invalid UTF-8 is 400, as
//!   anywhere in a path.
//! - **Demo content.** [`ServiceConfig::seed`] (or [`ServiceConfig::seeded`]) starts the
//!   service with the workspaces `Sales`, `Finance` and `Operations` (a push dataset with a
//!   table and rows, a non-push dataset with a table and rows for DAX, a report and a
//!   dashboard each; `Sales` on dedicated capacity) and a push dataset, a report and a
//!   dashboard in My workspace; see [`ServiceHandle::seed_demo`]. The default starts empty.
//! - **Imports.** `datasetDisplayName` is required; `nameConflict` and `skipReport` are
//!   validated (the conflict mode is not applied). A `.pbix` (or any other name) creates a
//!   non-push dataset and a report (none with `skipReport=true`), a `.rdl` a paginated
//!   report, `model.json` nothing. The import is `Succeeded` at once.
//! - **Capacity.** Workspaces are on shared capacity unless put on dedicated capacity with
//!   [`ServiceHandle::set_dedicated_capacity`] (the demo's `Sales` is): the group then shows
//!   `isOnDedicatedCapacity: true` and a `capacityId`. My workspace is always shared.
//!   Dedicated capacity allows enhanced refresh, has no daily refresh limit, and is needed
//!   to export reports.
//! - **Refresh Dataset.** Checks in order: 404s; the body (none, white space or JSON `null`
//!   is a plain refresh; otherwise JSON, 415 for another media type) against Swagger's
//!   `DatasetRefreshRequest` (unknown or wrongly cased properties 400 `BadRequest`;
//!   `notifyOption` one of `NoNotification`, `MailOnFailure`, `MailOnCompletion` spelled
//!   exactly — the stricter choice; the enhanced properties are type-checked loosely, their
//!   enums ignoring case and `applyRefreshPolicy` as a boolean or `"true"`/`"false"`, as
//!   Microsoft's own example sends them); on shared capacity any property but
//!   `notifyOption` is 400 `InvalidRequest` ("Enhanced refresh is not supported for shared
//!   capacities", Microsoft's words, in an emulator message); a push dataset is 400
//!   `InvalidRequest` "... is a push dataset and cannot be refreshed" (wording unverified);
//!   a refresh of the dataset still `Unknown` is 400 `InvalidRequest` "Invalid dataset
//!   refresh request. Another refresh request is already executing" (unverified, as users
//!   report it); on shared capacity, more than [`ServiceConfig::refreshes_per_day`]
//!   accepted requests in a sliding 24 hours is 400 `InvalidRequest` "... exceeded the daily
//!   limit ..." (Microsoft documents the limit of 8, public reports the 400; the wording is
//!   unverified). Success is 202 with an empty body and a `RequestId` header equal to the
//!   history entry's `requestId` (unverified); with enhanced properties (dedicated
//!   capacity only) also `x-ms-request-id` (the refresh's `requestId`) and `Location`
//!   (`.../datasets/{id}/refreshes/{requestId}`), as Swagger says. `notifyOption` together
//!   with enhanced properties is accepted, as in Swagger's example (its limitations say it
//!   must be left out). No e-mail is sent.
//! - **Refresh life cycle.** A history entry has `requestId` (GUID), `id` (a number
//!   increasing across the tenant, as the live service sends although Swagger omits it),
//!   `refreshType` (`ViaApi`; `ViaEnhancedApi` with enhanced properties), `startTime`,
//!   `status` `Unknown` and no `endTime` while it runs. Only reads move it on: it stays
//!   `Unknown` until [`ServiceConfig::refresh_duration`] has passed **and** a history read
//!   (or execution-details read) has shown it `Unknown`; the next read then finds it
//!   `Completed` with `endTime` and `refreshAttempts` (one `Data` attempt), or `Failed` with
//!   `serviceExceptionJson` `{"errorCode","errorDescription"}` when the dataset is marked
//!   with [`ServiceHandle::fail_refreshes`]. Refresh Dataset itself does not move it on, so
//!   a client must read the history before it can refresh again. Get Refresh History:
//!   `$top` an integer ≥ 1 (else 400 `BadRequest`), default 60; the newest 60 entries are
//!   kept; push datasets answer an empty list; while a refresh of the dataset is `Unknown`
//!   the answer carries `Retry-After` [`ServiceConfig::poll_retry_after`]. Get Refresh
//!   Execution Details answers Swagger's `DatasetRefreshDetail` for enhanced refreshes only
//!   (404 for a plain refresh's id), 202 with `Retry-After` while running. Cancel Refresh
//!   (`DELETE`) is not emulated (405).
//! - **Execute Queries.** After the 404s, the rate limit: [`ServiceConfig::queries_per_minute`]
//!   per sliding minute for the one emulated user, counting every request that reaches an
//!   existing dataset, 429 `TooManyRequests` with `Retry-After`. The body is Swagger's
//!   `DatasetExecuteQueriesRequest`: exactly one query (none or several: 400 `BadRequest`,
//!   wording unverified), `serializerSettings.includeNulls` (default `false`: blank values
//!   are left out of each row), `impersonatedUserName` accepted and ignored (no RLS). Any
//!   dataset with tables can be queried, push or not (the demo's models have one table
//!   each). The DAX subset: `EVALUATE` a table — `'Table Name'` or `TableName`,
//!   `TOPN(n, table[, expr[, ASC|DESC|1|0], ...])` (descending by default, ties at the n-th
//!   row kept, as DAX), `FILTER(table, condition)`, `ROW("Name", scalar, ...)`,
//!   `VALUES`/`DISTINCT` of a table or column; scalars: numbers, `"strings"` (`""` escapes),
//!   `TRUE()`, `FALSE()`, `BLANK()`, unary `-`, `COUNTROWS(table)`,
//!   `SUM`/`MIN`/`MAX`/`AVERAGE(column)` over the whole table, columns as `'T'[C]`, `T[C]`
//!   or `[C]` in a row context, `= <> < <= > >=` (text ignoring case, blank as the other
//!   side's zero), `&&`, `||`, parentheses; an optional `ORDER BY expr [ASC|DESC], ...`;
//!   comments `//`, `--`, `/* */`; names and keywords ignoring case. Result keys: a model
//!   column as `Table[Column]`, a ROW column as `[Name]`. Anything else (syntax, unknown
//!   name, a DAX function outside the subset) is 400 in the live service's message-less
//!   shape `{"error":{"code":"DatasetExecuteQueriesError","pbi.error":{"code",
//!   "parameters":{},"details":[{"code":"DetailsMessage","detail":{"type":1,"value":
//!   "Query (line, column) ..."}},{"code":"AnalysisServicesErrorCode","detail":{"type":1,
//!   "value":"3238002695"}}],"exceptionCulprit":1}}}`; the Analysis Services code is the
//!   same for every error (unverified), messages follow Analysis Services' wording where
//!   known. Limits ([`ServiceConfig::max_query_rows`], [`ServiceConfig::max_query_values`]
//!   as rows × columns, [`ServiceConfig::max_query_bytes`] of serialized rows, the crossing
//!   row kept): 200 with the rows that fit and `results[0].tables[0].error`
//!   `{"code":"DatasetExecuteQueriesError","message":"More than 100000 rows in a query
//!   result"}` (or `... values ...`, `... bytes ...`; the code is unverified, the rows
//!   message is Microsoft's). Several `EVALUATE`s: 200 with the first table and
//!   `results[0].error` "More than one result table in a query" (placement unverified).
//! - **Export To File.** Checks in order: 404s (workspace, report); shared capacity (My
//!   workspace or a workspace not on dedicated capacity) 403 `FeatureNotAvailableError`
//!   saying a Premium, Embedded or Fabric capacity is needed (code and wording unverified);
//!   the body against Swagger's `ExportReportRequest` (415/400 as elsewhere): `format`
//!   required, spelled as the enum; a Power BI report takes `PDF`, `PPTX`, `PNG` and 400s
//!   the paginated-only formats and `paginatedReportConfiguration`; a paginated report
//!   takes `PDF`, `ACCESSIBLEPDF` and `PPTX` (other formats are 400: the emulator does not
//!   produce them); `powerBIReportConfiguration` is checked (`pages` of `{pageName}`;
//!   bookmarks, filters and identities not applied). Success: 202 with Swagger's `Export`
//!   (`id` opaque base64 like the live service's, `status` `NotStarted`,
//!   `percentComplete` 0) and `Retry-After` [`ServiceConfig::poll_retry_after`]. Get Export
//!   To File Status moves the job `NotStarted` → `Running` (50 %) → `Succeeded` (100 %),
//!   each move once [`ServiceConfig::export_step`] has passed in the state and a status read
//!   has shown it; 202 with `Retry-After` until it ends, then 200. `Succeeded` adds
//!   `resourceLocation` (the full URL of the file), `ResourceFileExtension` (`.pdf`,
//!   `.pptx`, `.png`; capitalised as Swagger's definition, although its example writes
//!   `resourceFileExtension`) and `expirationTime` (a day later). Reports marked with
//!   [`ServiceHandle::fail_exports`] end `Failed` (100 %, no file). The file: 404
//!   `PowerBIEntityNotFound` until the job succeeded (choice unverified), then 200 with the
//!   bytes, `Content-Type` (`application/pdf`,
//!   `application/vnd.openxmlformats-officedocument.presentationml.presentation`,
//!   `image/png`) and `Content-Disposition: attachment; filename="<report name><ext>"`
//!   (plus RFC 5987 `filename*` for a name beyond ASCII). Files are real: a one-page PDF 1.4,
//!   a one-slide PPTX package, a 320×180 PNG, each naming the report. Unknown export ids and
//!   another report's exports are 404; deleting a workspace deletes its jobs.
//! - **Errors.** Unknown route → 404 `{"error":{"code":"NotFound","message":..}}`; known path
//!   with another method → 405 `MethodNotAllowed`; a body over
//!   [`ServiceConfig::max_request_body_bytes`] → 413. Every API answer carries a `RequestId`
//!   header. Missing, malformed or unknown tokens → 401 `PowerBINotAuthorizedException`.
//! - **Service principals.** A token from the client credentials grant (or
//!   [`ServiceHandle::issue_service_principal_token`]) is a service principal's. Microsoft
//!   documents that a service principal has no My workspace: every My workspace operation
//!   (`/v1.0/myorg/datasets`, `/reports`, `/dashboards`, `/imports` and below, whatever the
//!   method, known id or not) answers 401 `PowerBINotAuthorizedException` in the message-less
//!   shape, after the token check (an expired token is still 403) and before any 404
//!   (public reports show 401 for Get Reports with a service principal,
//!   microsoft/powerbi-powershell issue 108; the body is unverified). List / Create / Get /
//!   Delete Group and everything under `/groups/{groupId}` work as for the user: the
//!   principal is taken to be a member of every workspace the user is (workspaces added with
//!   [`ServiceHandle::add_hidden_group`] stay 404). Refresh Dataset with a `notifyOption`
//!   other than `NoNotification` is 400 `InvalidRequest` (Swagger: the parameter "is not
//!   applicable to ... API operations with a service principal"; the status and wording
//!   are unverified), checked after the body's own validation and before the capacity,
//!   push-dataset and running-refresh checks. User tokens are unaffected.
//!
//! # Login endpoints (Microsoft identity platform)
//!
//! The same server answers Microsoft's OAuth 2.0 authorization code flow and the client
//! credentials grant of service principals, in place of `https://login.microsoftonline.com`
//! ([`ServiceHandle::login_base_url`]). No bearer token is needed there. `{tenant}` is
//! `common`, `organizations`, a GUID or a domain name; in the authorization code flow all
//! name the one emulated directory (`consumers` and other names are AADSTS900023); the
//! client credentials grant is stricter (below).
//!
//! | endpoint | call | success |
//! |---|---|---|
//! | v1 authorize | `GET /{tenant}/oauth2/authorize?client_id&response_type=code&redirect_uri&resource&state&code_challenge&code_challenge_method` | 302 to `redirect_uri?code=..&state=..` |
//! | v2 authorize | `GET /{tenant}/oauth2/v2.0/authorize?...&scope=..` (no `resource`) | 302, the same |
//! | v1 token | `POST /{tenant}/oauth2/token` (form) | 200 JSON, numbers as strings |
//! | v2 token | `POST /{tenant}/oauth2/v2.0/token` (form) | 200 JSON |
//!
//! The token endpoints take `grant_type` `authorization_code`, `refresh_token` and
//! `client_credentials`.
//!
//! - **Clients** are [`ServiceConfig::oauth_clients`] (default `pbi-local-client` /
//!   `pbi-local-secret`, redirect URI `http://localhost`) plus
//!   [`ServiceHandle::register_client`]. A client with an empty secret is public: PKCE only,
//!   and sending a secret is 401 AADSTS700025.
//! - **Authorize.** There is no sign-in page: consent is given at once and the code issued.
//!   Until the client and its redirect URI are trusted, errors are a 400 HTML page and never
//!   a redirect: unknown tenant, missing `client_id` (AADSTS900144), unknown client
//!   (`unauthorized_client` AADSTS700016: an unknown client has no registered URI to trust,
//!   as RFC 6749 §4.1.2.1 requires), `redirect_uri` not registered (AADSTS50011). A
//!   registered `http://localhost` or `http://127.0.0.1` URI matches any port with the same
//!   path (Microsoft's loopback rule); other URIs match exactly. Without `redirect_uri`, a
//!   client's only registered URI is used. Later errors go to the redirect URI as
//!   `error`, `error_description` (`AADSTSn: ...` with trace and correlation ids),
//!   `error_uri` and `state`: `response_type` missing (AADSTS900144) or not `code`
//!   (`unsupported_response_type` AADSTS700051), an unknown `response_mode`
//!   (AADSTS9002313), v2 with `resource` (AADSTS90100), v2 without `scope` (AADSTS900144),
//!   a `code_challenge_method` other than `S256`/`plain` (AADSTS9002313), a challenge not
//!   of 43–128 characters (AADSTS501491). `response_mode` may be `query` (default),
//!   `fragment` or `form_post` (a 200 page that posts the answer). `prompt`, `login_hint`,
//!   `nonce` and the like are ignored.
//! - **Token requests** must be `application/x-www-form-urlencoded` (else 400
//!   `invalid_request` AADSTS9002313); `GET` is AADSTS900561. Checks in order: tenant,
//!   media type, `grant_type` present (AADSTS900144), v2 with `resource` (AADSTS90100),
//!   grant type (`unsupported_grant_type` AADSTS70003 for all but `authorization_code`,
//!   `refresh_token` and `client_credentials`), then (for the first two) the client: `client_id` + `client_secret` in the body or HTTP
//!   Basic (id and secret accepted raw or form-urlencoded; both methods at once is
//!   AADSTS9002313); unknown client 400 `unauthorized_client` AADSTS700016; no secret 401
//!   `invalid_client` AADSTS7000218; wrong secret 401 `invalid_client` AADSTS7000215.
//! - **`authorization_code`**: unknown code (or another client's) `invalid_grant`
//!   AADSTS70000; already redeemed AADSTS54005; older than [`ServiceConfig::code_lifetime`]
//!   AADSTS70008; `redirect_uri` missing although the authorize request named one
//!   (AADSTS900144) or different from it (`invalid_grant` AADSTS500112); with a
//!   `code_challenge`, no `code_verifier` `invalid_grant` AADSTS50148, a wrong one
//!   AADSTS501481 (a verifier without a challenge is ignored). A failed request does not use
//!   the code up; a successful one does. A code is redeemable at either version, whichever
//!   authorize endpoint issued it, because the seed's defaults pair the v1 authorize URL with
//!   the v2 token URL.
//! - **`refresh_token`**: unknown (or another client's) `invalid_grant` AADSTS70000;
//!   revoked ([`ServiceHandle::revoke_refresh_token`], [`revoke_all_refresh_tokens`], or
//!   rotation with [`ServiceConfig::revoke_rotated_refresh_tokens`]) AADSTS50173; older than
//!   [`ServiceConfig::refresh_token_lifetime`] AADSTS700082. Every refresh returns a new
//!   refresh token; the old one stays valid unless rotation revokes it.
//! - **`client_credentials`** (Microsoft's "OAuth 2.0 client credentials flow"): a service
//!   principal of [`ServiceConfig::service_principals`] (default `pbi-local-sp` /
//!   `pbi-local-sp-secret`) or [`ServiceHandle::register_service_principal`] signs in as
//!   itself. The `oauth_clients` of the authorization code flow are not service principals
//!   here, nor the reverse: another list's id is AADSTS700016 (a simplification: Entra lets
//!   any confidential application use both). Checks after the common ones above, in order
//!   (the order is unverified):
//!   1. The tenant: `common` or `organizations` → 400 `invalid_request` AADSTS50059 "No
//!      tenant-identifying information found ..." (as public reports show for these
//!      endpoints; Microsoft documents only that a GUID or domain is required);
//!      `consumers` is AADSTS900023 as everywhere. Only [`ServiceConfig::tenant_id`] and
//!      [`ServiceConfig::tenant_domain`] are known (ignoring case); any other GUID or domain
//!      → 400 `invalid_tenant` AADSTS90002 "Tenant '..' not found. ..." (the error and text
//!      of Microsoft's current answers, recorded in public issues; older answers said
//!      `invalid_request`).
//!   2. The client, as for the other grants (body or Basic, not both: AADSTS9002313; no
//!      `client_id` AADSTS900144): unknown 400 `unauthorized_client` AADSTS700016; no or
//!      empty secret 401 `invalid_client` AADSTS7000218; wrong secret 401 `invalid_client`
//!      AADSTS7000215 "Invalid client secret provided. Ensure the secret being sent in the
//!      request is the client secret value, not the client secret ID, ...".
//!   3. Consent: a principal with `consented: false` → 401 `invalid_client` AADSTS7000229
//!      "The client application .. is missing service principal in the tenant .." (the
//!      `error` is what MSAL reports for this code; the status is unverified).
//!   4. v2 `scope` must be exactly one `{resource}/.default` (suffix spelled exactly):
//!      missing or blank → 400 `invalid_request` AADSTS900144; one scope without the suffix
//!      (a delegated permission such as `.../Dataset.ReadWrite.All`, a bare `.default`) →
//!      400 `invalid_scope` AADSTS1002012 "... Client credential flows must have a scope
//!      value with /.default suffixed to the resource identifier (application ID URI)."
//!      (Microsoft's current code; older answers and the flow's documentation show
//!      AADSTS70011 for invalid scopes); several scopes (other resources, `offline_access`)
//!      → 400 `invalid_scope` AADSTS70011. v1 takes `resource` instead (missing: AADSTS500013)
//!      and ignores `scope`.
//!   5. The resource: Power BI (as for the other grants) gets a token the API accepts as a
//!      service principal's; Microsoft Graph (`https://graph.microsoft.com`) a token the API
//!      rejects (401); any other → 400 `invalid_resource` AADSTS500011 "The resource
//!      principal named .. was not found in the tenant named ..".
//!
//!   Answers: v2 `{"token_type":"Bearer","expires_in":n,"ext_expires_in":n,"access_token"}`
//!   — no `scope`, no `refresh_token`, as Microsoft documents; v1 `token_type`,
//!   `expires_in`, `ext_expires_in`, `expires_on`, `not_before` (strings), `resource`,
//!   `access_token`, no refresh token. Lifetimes as below. Error descriptions never hold a
//!   secret: any registered secret or secret the request presented is replaced by
//!   `[redacted]` (so a client that swaps its id and secret does not see the secret echoed
//!   as an application id).
//! - **What is granted.** v1 takes the token request's `resource`, else the authorize
//!   request's (none at all: AADSTS500013) and ignores `scope`. v2 takes the token request's
//!   `scope`, else the authorize request's, else (a v1 code) `{resource}/user_impersonation`.
//!   A v2 token's resource is that of its first scope naming one (`https://host/path/Perm` →
//!   `https://host/path`); a bare permission (`User.Read`) or only OpenID scopes mean
//!   Microsoft Graph. Only tokens for Power BI (`https://analysis.windows.net/powerbi/api`,
//!   any case, trailing slash or not, or its app id `00000009-0000-0000-c000-000000000000`)
//!   enter the [`TokenStore`] the API checks; others are random strings the API answers with
//!   401, as Power BI rejects other audiences. v2 returns a refresh token only when
//!   `offline_access` was asked at authorize or in the token request, or the code came from
//!   v1, or the grant is itself a refresh token; v1 always returns one.
//! - **Token answer.** v2: `token_type` `Bearer`, `scope` (granted scopes as asked, without
//!   `offline_access`), `expires_in` and `ext_expires_in` as numbers, `access_token`,
//!   optional `refresh_token`. v1: `token_type`, `scope` `user_impersonation`, `expires_in`,
//!   `ext_expires_in`, `expires_on` and `not_before` as **strings**, `resource`,
//!   `access_token`, `refresh_token`. Lifetimes are
//!   [`ServiceConfig::access_token_lifetime`] (change it with
//!   [`ServiceHandle::set_access_token_lifetime`]), in whole seconds rounded up. No
//!   `id_token` is issued. Answers carry `Cache-Control: no-store`.
//! - **Errors** are `{"error", "error_description": "AADSTSn: ...\r\nTrace ID: ..\r\n
//!   Correlation ID: ..\r\nTimestamp: ..", "error_codes": [n], "timestamp", "trace_id",
//!   "correlation_id", "error_uri"}`, 400 (401 for `invalid_client`). A `client-request-id`
//!   GUID header becomes the correlation id. Descriptions name client ids, tenants and
//!   redirect URIs, never a secret, code, verifier or token.
//! - **Log.** Login requests are recorded like API calls, but outside `/v1.0/` the values of
//!   `client_secret`, `code`, `code_verifier`, `refresh_token`, `access_token` (and
//!   `id_token`, `client_assertion`, `assertion`, `password`) in the query and in form or
//!   JSON bodies read `[redacted]`, as does every `Authorization` value. Injected faults
//!   apply to login paths as to API ones. [`ServiceHandle::token_requests`] shows what each
//!   token request sent, as the endpoint read it: the decoded form fields (credentials
//!   redacted), whether the secret came in the body or by Basic, the Basic client id (never
//!   its secret), and the status and AADSTS code answered.
//!
//! [`revoke_all_refresh_tokens`]: ServiceHandle::revoke_all_refresh_tokens
#![deny(missing_docs)]

mod api;
mod dax;
mod errors;
mod export;
mod fault;
mod files;
mod filter;
mod grants;
mod login;
mod multipart;
mod pkce;
mod query;
mod record;
mod refresh;
mod seed;
mod server;
mod state;
mod tokens;
mod util;
mod validate;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;
use tokio::sync::oneshot;

pub use fault::{Fault, FaultKind};
pub use grants::{OAuthClient, ServicePrincipal};
pub use record::{ClientAuthentication, RecordedRequest, TokenEndpoint, TokenRequest};
pub use tokens::{TokenStatus, TokenStore};

use state::{Dashboard, Group, Report, Shared, Table, same_id};

/// How the emulated service behaves.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Post Rows requests accepted per dataset in a sliding minute (Microsoft: 120);
    /// 0 disables the limit.
    pub rows_requests_per_minute: u32,
    /// Rows accepted per dataset in a sliding hour (Microsoft: 1,000,000); 0 disables the
    /// limit.
    pub rows_per_hour: u64,
    /// From how many rows a table counts as large (Microsoft: 250,000): Post Rows requests
    /// to a large table are then limited to [`ServiceConfig::large_table_requests_per_hour`].
    pub large_table_rows: usize,
    /// Post Rows requests accepted per dataset in a sliding hour while the target table is
    /// large (Microsoft: 120); 0 disables the limit.
    pub large_table_requests_per_hour: u32,
    /// Rows accepted in one Post Rows request (Microsoft: 10,000).
    pub max_rows_per_request: usize,
    /// Tokens that are always valid, for the standalone emulator.
    pub fixed_tokens: Vec<String>,
    /// Rows a table keeps under the `basicFIFO` retention policy (Microsoft: 200,000).
    pub fifo_max_rows: usize,
    /// The largest request body accepted; larger ones get 413 (default 100 MiB).
    pub max_request_body_bytes: usize,
    /// The `configuredBy` of created datasets.
    pub configured_by: String,
    /// Whether List Tables includes each table's columns (default: names only).
    pub list_tables_with_columns: bool,
    /// Requests kept in the log (default 10,000); beyond it the oldest are dropped, so a
    /// long-running emulator does not grow without bound.
    pub max_recorded_requests: usize,
    /// The applications the login endpoints know. Default: one confidential client
    /// `pbi-local-client` with secret `pbi-local-secret` and the redirect URI
    /// `http://localhost` (any port, by the loopback rule).
    pub oauth_clients: Vec<OAuthClient>,
    /// The service principals (applications signing in as themselves with the client
    /// credentials grant). Default: one consented principal `pbi-local-sp` with secret
    /// `pbi-local-sp-secret`, named `pbi-local-sp`. They are apart from
    /// [`oauth_clients`](Self::oauth_clients): neither list's ids work in the other's flows.
    pub service_principals: Vec<ServicePrincipal>,
    /// The emulated directory's tenant id (default
    /// `2f4a9c1e-6b3d-4e8f-a5c7-9d1b0e2f3a4c`): with [`tenant_domain`](Self::tenant_domain),
    /// the only tenant the client credentials grant accepts in the token URL.
    pub tenant_id: String,
    /// The emulated directory's domain name (default `contoso.onmicrosoft.com`).
    pub tenant_domain: String,
    /// The lifetime of access tokens the login endpoints issue (default one hour); see
    /// [`ServiceHandle::set_access_token_lifetime`] to change it while running.
    pub access_token_lifetime: Duration,
    /// How long an authorization code may be redeemed (default 10 minutes, as Microsoft).
    pub code_lifetime: Duration,
    /// How long a refresh token stays usable after it was issued (default 90 days,
    /// Microsoft's inactivity limit; every refresh issues a new one with a fresh lifetime).
    pub refresh_token_lifetime: Duration,
    /// Whether using a refresh token revokes it (default `false`: the old refresh token stays
    /// valid after rotation, as Microsoft does).
    pub revoke_rotated_refresh_tokens: bool,
    /// Whether the service starts with demo content (default `false`: an empty tenant, which
    /// tests rely on). When `true`, [`ServiceHandle::spawn`] runs
    /// [`ServiceHandle::seed_demo`] before it returns, so a new user's emulator has
    /// workspaces, datasets and reports to browse. [`ServiceConfig::seeded`] is the default
    /// configuration with this set.
    pub seed: bool,
    /// Refresh requests accepted per dataset in a sliding 24 hours on shared capacity
    /// (Microsoft: 8); 0 disables the limit. Dedicated capacity has none.
    pub refreshes_per_day: u32,
    /// How long a refresh runs at least (default 2 s): it stays `Unknown` until this much
    /// time has passed **and** a read of the history has shown it `Unknown`. Zero makes a
    /// refresh end on the second read.
    pub refresh_duration: Duration,
    /// The `Retry-After` (seconds) of the answers that tell a client to poll again: the
    /// refresh history while a refresh runs, Export To File and its status while the job
    /// runs. Default `Some(1)`; `None` sends no header.
    pub poll_retry_after: Option<u32>,
    /// Rows in an Execute Queries result (Microsoft: 100,000); beyond, the rows are cut and
    /// the table carries an error.
    pub max_query_rows: usize,
    /// Values (rows × columns) in an Execute Queries result (Microsoft: 1,000,000).
    pub max_query_values: usize,
    /// Bytes of rows in an Execute Queries result (Microsoft: 15 MB): the row that crosses
    /// the limit is kept, later ones are cut.
    pub max_query_bytes: usize,
    /// Execute Queries requests accepted in a sliding minute (Microsoft: 120 per user; the
    /// emulator has one user); 0 disables the limit.
    pub queries_per_minute: u32,
    /// How long an export job stays in each of `NotStarted` and `Running` at least (default
    /// 1 s); a status read must also have shown the state. Zero makes a job show
    /// `NotStarted`, `Running`, `Succeeded` on three consecutive reads.
    pub export_step: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            rows_requests_per_minute: 120,
            rows_per_hour: 1_000_000,
            large_table_rows: 250_000,
            large_table_requests_per_hour: 120,
            max_rows_per_request: 10_000,
            fixed_tokens: Vec::new(),
            fifo_max_rows: 200_000,
            max_request_body_bytes: 100 * 1024 * 1024,
            configured_by: "emulator@contoso.com".to_owned(),
            list_tables_with_columns: false,
            max_recorded_requests: 10_000,
            oauth_clients: vec![OAuthClient::new(
                "pbi-local-client",
                "pbi-local-secret",
                // Loopback URIs match on any port (Microsoft's rule), not on any path:
                // `pbi login` listens on /callback.
                ["http://localhost", "http://localhost/callback"],
            )],
            service_principals: vec![ServicePrincipal::new(
                "pbi-local-sp",
                "pbi-local-sp-secret",
                "pbi-local-sp",
            )],
            tenant_id: "2f4a9c1e-6b3d-4e8f-a5c7-9d1b0e2f3a4c".to_owned(),
            tenant_domain: "contoso.onmicrosoft.com".to_owned(),
            access_token_lifetime: Duration::from_secs(3600),
            code_lifetime: Duration::from_secs(600),
            refresh_token_lifetime: Duration::from_secs(90 * 86_400),
            revoke_rotated_refresh_tokens: false,
            seed: false,
            refreshes_per_day: 8,
            refresh_duration: Duration::from_secs(2),
            poll_retry_after: Some(1),
            max_query_rows: 100_000,
            max_query_values: 1_000_000,
            max_query_bytes: 15 * 1024 * 1024,
            queries_per_minute: 120,
            export_step: Duration::from_secs(1),
        }
    }
}

impl ServiceConfig {
    /// The default configuration with [`seed`](Self::seed) on: the service starts with the
    /// demo content of [`ServiceHandle::seed_demo`].
    pub fn seeded() -> Self {
        Self {
            seed: true,
            ..Self::default()
        }
    }
}

/// A running emulator. Dropping it stops the server.
///
/// The server runs on its own thread with its own tokio runtime: call these methods from
/// synchronous code, not from inside a tokio runtime (dropping the handle blocks until the
/// server thread has stopped).
pub struct ServiceHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ServiceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ServiceHandle {
    /// Starts the emulator on `127.0.0.1` with a random free port.
    ///
    /// # Errors
    /// If the port cannot be bound or the server thread cannot start.
    pub fn spawn(config: ServiceConfig) -> anyhow::Result<Self> {
        Self::spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config)
    }

    /// Starts the emulator on `addr` (port 0: a random free port). Bound to an unspecified
    /// address (`0.0.0.0`), [`base_url`](Self::base_url) still names loopback.
    ///
    /// # Errors
    /// If `addr` cannot be bound (e.g. the port is in use) or the server thread cannot start.
    pub fn spawn_on(addr: SocketAddr, config: ServiceConfig) -> anyhow::Result<Self> {
        // Bound here, synchronously, so a port in use is an error of this call.
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        listener
            .set_nonblocking(true)
            .context("making the listener non-blocking")?;
        let addr = listener.local_addr().context("reading the bound address")?;

        let tokens = TokenStore::new();
        for token in &config.fixed_tokens {
            tokens.insert(token.clone(), None);
        }
        let seed = config.seed;
        let shared = Arc::new(Shared::new(config, tokens, base_url_of(addr)));
        if seed {
            // Before the server thread starts: the first request already sees it.
            seed::seed_demo(&shared);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pbi-service-worker")
            .enable_all()
            .build()
            .context("building the tokio runtime")?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let server_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("pbi-service".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => server::serve(listener, server_shared, stop_rx).await,
                        Err(e) => eprintln!("pbi-service: cannot serve on {addr}: {e}"),
                    }
                });
                // Ends the connections still open (and any injected delay in progress).
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .context("starting the server thread")?;
        Ok(Self {
            shared,
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`; the API is under `/v1.0/myorg`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The base of the login endpoints, in place of `https://login.microsoftonline.com`:
    /// the same as [`base_url`](Self::base_url), since they live on the same server
    /// (`{login_base_url}/{tenant}/oauth2/v2.0/token`, ...).
    pub fn login_base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Registers an application with the login endpoints, replacing one with the same
    /// client id.
    pub fn register_client(&self, client: OAuthClient) {
        self.shared.login().register(client);
    }

    /// Registers a service principal with the login endpoints, replacing one with the same
    /// client id (e.g. to withdraw its consent or change its secret).
    pub fn register_service_principal(&self, principal: ServicePrincipal) {
        self.shared.login().register_service_principal(principal);
    }

    /// The emulated directory's tenant id, for token URLs of the client credentials grant
    /// (`{login_base_url}/{tenant_id}/oauth2/v2.0/token`).
    pub fn tenant_id(&self) -> String {
        self.shared.login().tenant_id.clone()
    }

    /// Every request that reached a token endpoint (v1 or v2, any grant) since the start or
    /// the last [`clear_requests`](Self::clear_requests), oldest first, up to
    /// [`ServiceConfig::max_recorded_requests`] of the latest: the form fields decoded with
    /// credentials redacted, how the client secret was presented (body or Basic), the
    /// Basic client id, and the status and AADSTS code answered. No secret is kept in
    /// clear. Requests answered by an injected fault never reach the endpoint and are only
    /// in [`requests`](Self::requests).
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.login().token_requests.iter().cloned().collect()
    }

    /// Sets the lifetime of access tokens the login endpoints issue from now on; tokens
    /// already issued keep theirs.
    pub fn set_access_token_lifetime(&self, lifetime: Duration) {
        self.shared.login().access_token_lifetime = lifetime;
    }

    /// Revokes a refresh token: redeeming it gives `invalid_grant` (AADSTS50173). Access
    /// tokens already issued stay valid, as with Microsoft. Unknown tokens are ignored.
    pub fn revoke_refresh_token(&self, refresh_token: &str) {
        self.shared.login().revoke_refresh_token(refresh_token);
    }

    /// Revokes every refresh token issued so far (as a password reset does); later ones are
    /// valid.
    pub fn revoke_all_refresh_tokens(&self) {
        self.shared.login().revoke_all_refresh_tokens();
    }

    /// Blocks until the server stops (it runs until the process ends).
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops the server and waits for its thread; the same as dropping the handle.
    pub fn stop(self) {}

    /// The token store the API checks; the login endpoints issue Power BI tokens into it.
    pub fn token_store(&self) -> TokenStore {
        self.shared.tokens.clone()
    }

    /// A new valid bearer token (random, long) that lives one hour.
    pub fn issue_token(&self) -> String {
        self.shared.tokens.issue(Duration::from_secs(3600))
    }

    /// A new bearer token valid for `lifetime`.
    pub fn issue_token_with_lifetime(&self, lifetime: Duration) -> String {
        self.shared.tokens.issue(lifetime)
    }

    /// A new bearer token of the first configured service principal (`pbi-local-sp` when
    /// there is none), valid for one hour, as the client credentials grant issues: the API
    /// treats it as a service principal's (no My workspace, no refresh notifications).
    pub fn issue_service_principal_token(&self) -> String {
        let client_id = self
            .shared
            .login()
            .service_principals
            .first()
            .map_or_else(|| "pbi-local-sp".to_owned(), |p| p.client_id.clone());
        self.shared
            .tokens
            .issue_service_principal(&client_id, Duration::from_secs(3600))
    }

    /// Expires a token now: requests with it get 403 `TokenExpired`.
    pub fn expire_token(&self, token: &str) {
        self.shared.tokens.expire(token);
    }

    /// Adds a workspace the user is a member of and returns its id. Unlike Create Group
    /// (`POST /groups`), the name is not checked: a test may add two of the same name.
    pub fn add_group(&self, name: &str) -> String {
        self.shared
            .lock()
            .add_group(name.to_owned(), true)
            .id
            .clone()
    }

    /// Adds a workspace the user is **not** a member of and returns its id, as a workspace
    /// of someone else in the organization: it is not listed by `GET /groups`, every call
    /// under `/groups/{id}/...` (and Get / Delete Group) answers 404
    /// `PowerBIEntityNotFound` as for an unknown id, and its name is taken (Create Group
    /// with the same name is refused). The test helpers ([`add_dataset`](Self::add_dataset),
    /// [`add_report`](Self::add_report), [`add_dashboard`](Self::add_dashboard),
    /// [`datasets`](Self::datasets), ...) can still put content in it and read it.
    pub fn add_hidden_group(&self, name: &str) -> String {
        self.shared
            .lock()
            .add_group(name.to_owned(), false)
            .id
            .clone()
    }

    /// The workspaces as `GET /groups` lists them (those the user is a member of), in order
    /// of creation.
    pub fn groups(&self) -> Vec<Value> {
        self.shared
            .lock()
            .groups
            .iter()
            .filter(|g| g.member)
            .map(Group::to_json)
            .collect()
    }

    /// Adds the demo content [`ServiceConfig::seed`] starts with and returns the ids of its
    /// three workspaces, `Sales`, `Finance` and `Operations`, in that order:
    ///
    /// - each workspace holds a push dataset (`addRowsAPIEnabled: true`) with one table, its
    ///   columns and a few rows (`Sales Live`/`Orders`, `Budget Tracking`/`Transactions`,
    ///   `Sensor Readings`/`Readings`), a non-push dataset (`addRowsAPIEnabled: false`,
    ///   refreshable, with one table and a few rows that Execute Queries can query: `Sales
    ///   Model`/`Sales`, `Finance Model`/`Budget`, `Operations Model`/`Incidents`) and a
    ///   report bound to the non-push dataset (`Sales Overview`, `Profit and Loss`,
    ///   `Operations Dashboard`), and a dashboard (`Sales Pulse`, `Finance Summary`, `Site Monitor`);
    ///   `Sales` is on dedicated capacity (its report can be exported), the others shared;
    /// - My workspace holds a push dataset `Personal Tasks` (table `Tasks`), a report
    ///   `My Tasks` bound to it and a dashboard `My Day`.
    ///
    /// A workspace whose name already exists is left as it is (its id is returned), and My
    /// workspace is seeded only if it has no dataset named `Personal Tasks`, so calling this
    /// twice adds nothing the second time.
    pub fn seed_demo(&self) -> Vec<String> {
        seed::seed_demo(&self.shared)
    }

    /// Adds a report (to My workspace when `group` is `None`) and returns its id. The
    /// dataset id is not checked.
    ///
    /// # Panics
    /// If `group` names no workspace (one the user is not a member of will do).
    pub fn add_report(&self, group: Option<&str>, name: &str, dataset_id: Option<&str>) -> String {
        let mut st = self.shared.lock();
        let group = st
            .resolve_any_group(group)
            .unwrap_or_else(|_| panic!("add_report: no workspace {group:?}"));
        let id = util::new_id();
        st.reports.push(Report {
            id: id.clone(),
            group,
            name: name.to_owned(),
            dataset_id: dataset_id.map(str::to_owned),
            paginated: false,
        });
        id
    }

    /// Adds a dashboard (to My workspace when `group` is `None`) and returns its id, as
    /// `GET /dashboards` (or `GET /groups/{groupId}/dashboards`) then lists it. Names may
    /// repeat.
    ///
    /// # Panics
    /// If `group` names no workspace (one the user is not a member of will do).
    pub fn add_dashboard(&self, group: Option<&str>, name: &str) -> String {
        let mut st = self.shared.lock();
        let group = st
            .resolve_any_group(group)
            .unwrap_or_else(|_| panic!("add_dashboard: no workspace {group:?}"));
        st.add_dashboard(group, name.to_owned()).id.clone()
    }

    /// Adds a dataset and returns its id. `tables` is `[{name, columns:[{name, dataType}]}]`,
    /// checked as Create Dataset checks it (an empty array or `null` gives no tables). A
    /// non-push dataset (`push: false`) is refreshable, has no rows API, and its tables are
    /// not listed (404), as Power BI does.
    ///
    /// # Panics
    /// If `group` names no workspace (one the user is not a member of will do) or `tables`
    /// is invalid.
    pub fn add_dataset(
        &self,
        group: Option<&str>,
        name: &str,
        push: bool,
        tables: Value,
    ) -> String {
        let empty = tables.is_null() || tables.as_array().is_some_and(Vec::is_empty);
        let tables: Vec<Table> = if empty {
            Vec::new()
        } else {
            validate::tables(&tables, "tables")
                .unwrap_or_else(|details| panic!("add_dataset: invalid tables: {details:?}"))
                .into_iter()
                .map(Table::from)
                .collect()
        };
        let mut st = self.shared.lock();
        let group = st
            .resolve_any_group(group)
            .unwrap_or_else(|_| panic!("add_dataset: no workspace {group:?}"));
        st.add_dataset(
            group,
            name.to_owned(),
            push,
            "None".to_owned(),
            self.shared.config.configured_by.clone(),
            tables,
        )
        .id
        .clone()
    }

    /// The datasets of a scope as `GET /datasets` lists them (empty for an unknown group; a
    /// workspace the user is not a member of is listed all the same).
    pub fn datasets(&self, group: Option<&str>) -> Vec<Value> {
        let st = self.shared.lock();
        let Ok(group) = st.resolve_any_group(group) else {
            return Vec::new();
        };
        st.datasets
            .iter()
            .filter(|d| d.group == group)
            .map(state::Dataset::to_json)
            .collect()
    }

    /// The reports of a scope as `GET /reports` lists them (empty for an unknown group; a
    /// workspace the user is not a member of is listed all the same).
    pub fn reports(&self, group: Option<&str>) -> Vec<Value> {
        let st = self.shared.lock();
        let Ok(group) = st.resolve_any_group(group) else {
            return Vec::new();
        };
        st.reports
            .iter()
            .filter(|r| r.group == group)
            .map(Report::to_json)
            .collect()
    }

    /// The dashboards of a scope as `GET /dashboards` lists them, in order of creation
    /// (empty for an unknown group; a workspace the user is not a member of is listed all
    /// the same).
    pub fn dashboards(&self, group: Option<&str>) -> Vec<Value> {
        let st = self.shared.lock();
        let Ok(group) = st.resolve_any_group(group) else {
            return Vec::new();
        };
        st.dashboards
            .iter()
            .filter(|d| d.group == group)
            .map(Dashboard::to_json)
            .collect()
    }

    /// The imports of a scope as `GET /imports` lists them (empty for an unknown group; a
    /// workspace the user is not a member of is listed all the same).
    pub fn imports(&self, group: Option<&str>) -> Vec<Value> {
        let st = self.shared.lock();
        let Ok(group) = st.resolve_any_group(group) else {
            return Vec::new();
        };
        st.imports
            .iter()
            .filter(|i| i.group == group)
            .map(|i| api::import_json(&st, i))
            .collect()
    }

    fn with_table<T>(&self, dataset_id: &str, table: &str, f: impl Fn(&Table) -> T) -> Option<T> {
        let st = self.shared.lock();
        st.datasets
            .iter()
            .filter(|d| same_id(&d.id, dataset_id))
            .flat_map(|d| d.tables.iter())
            .find(|t| t.name == table)
            .map(f)
    }

    /// The rows of a table, in the order they were pushed; searches every workspace.
    pub fn table_rows(&self, dataset_id: &str, table: &str) -> Option<Vec<Value>> {
        self.with_table(dataset_id, table, |t| t.rows.clone())
    }

    /// One column of a table's rows (`Null` where a row lacks it), in the order they were
    /// pushed; searches every workspace. Cheaper than [`table_rows`](Self::table_rows) when
    /// a check needs only the ids of a large table (the soak reads them after every failed
    /// push).
    pub fn table_column(&self, dataset_id: &str, table: &str, column: &str) -> Option<Vec<Value>> {
        self.with_table(dataset_id, table, |t| {
            t.rows
                .iter()
                .map(|row| row.get(column).cloned().unwrap_or(Value::Null))
                .collect()
        })
    }

    /// The columns of a table (canonical data types); searches every workspace.
    pub fn table_columns(&self, dataset_id: &str, table: &str) -> Option<Vec<Value>> {
        self.with_table(dataset_id, table, Table::columns)
    }

    /// Puts a workspace on dedicated (Premium, Embedded or Fabric) capacity, or back on
    /// shared capacity. On dedicated capacity `GET /groups` shows `isOnDedicatedCapacity:
    /// true` and a `capacityId`, reports can be exported to files, refresh requests may use
    /// the enhanced-refresh properties, and refreshes have no daily limit.
    ///
    /// # Panics
    /// If `group_id` names no workspace (one the user is not a member of will do).
    pub fn set_dedicated_capacity(&self, group_id: &str, dedicated: bool) {
        let mut st = self.shared.lock();
        let group = st
            .groups
            .iter_mut()
            .find(|g| same_id(&g.id, group_id))
            .unwrap_or_else(|| panic!("set_dedicated_capacity: no workspace {group_id}"));
        match (dedicated, &group.capacity_id) {
            (true, None) => group.capacity_id = Some(util::new_id()),
            (false, Some(_)) => group.capacity_id = None,
            _ => {}
        }
    }

    /// Makes the refreshes of a dataset end `Failed`, with `serviceExceptionJson`
    /// `{"errorCode": error_code, "errorDescription": ...}` (e.g.
    /// `ModelRefreshFailed_CredentialsNotSpecified`), from now until
    /// [`clear_refresh_failures`](Self::clear_refresh_failures). The mark is read when a
    /// refresh ends, so it also applies to one already running. The dataset need not exist
    /// yet.
    pub fn fail_refreshes(&self, dataset_id: &str, error_code: &str) {
        self.shared
            .lock()
            .refresh_failures
            .insert(dataset_id.to_ascii_lowercase(), error_code.to_owned());
    }

    /// Lets the refreshes of a dataset end `Completed` again.
    pub fn clear_refresh_failures(&self, dataset_id: &str) {
        self.shared
            .lock()
            .refresh_failures
            .remove(&dataset_id.to_ascii_lowercase());
    }

    /// The refresh history of a dataset, newest first, as Get Refresh History answers it;
    /// searches every workspace (empty for an unknown dataset). Unlike the API, this does
    /// not count as a read that has seen a running refresh.
    pub fn refreshes(&self, dataset_id: &str) -> Vec<Value> {
        let st = self.shared.lock();
        st.datasets
            .iter()
            .find(|d| same_id(&d.id, dataset_id))
            .map(|d| refresh::history(&d.refreshes))
            .unwrap_or_default()
    }

    /// Makes the export jobs of a report end `Failed` (after `Running`), from now until
    /// [`clear_export_failures`](Self::clear_export_failures); jobs already running are
    /// affected too.
    pub fn fail_exports(&self, report_id: &str) {
        self.shared
            .lock()
            .export_failures
            .insert(report_id.to_ascii_lowercase());
    }

    /// Lets the export jobs of a report succeed again.
    pub fn clear_export_failures(&self, report_id: &str) {
        self.shared
            .lock()
            .export_failures
            .remove(&report_id.to_ascii_lowercase());
    }

    /// Injects a fault (see [`Fault`]); faults apply in the order injected.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// The injected faults not yet used up, in the order they apply (each with the uses it
    /// has left). A long-running injector reads it to keep the queue short and to tell the
    /// faults that hit a request from those that never did.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.shared.lock().faults.clone()
    }

    /// Removes every fault not yet used up.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Every request received since the start or the last [`clear_requests`], in order of
    /// arrival (API calls, unknown routes, faulted ones), up to
    /// [`ServiceConfig::max_recorded_requests`] of the latest. A request still being handled
    /// (e.g. under an injected delay) shows status 0 until it is answered.
    ///
    /// [`clear_requests`]: ServiceHandle::clear_requests
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Empties the request log, and that of [`token_requests`](Self::token_requests).
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
        self.shared.login().token_requests.clear();
    }
}

impl Drop for ServiceHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The URL clients use: an unspecified bind address is reached through loopback.
fn base_url_of(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_send_and_sync() {
        // Tests and the CLI share one handle between threads.
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ServiceHandle>();
        assert_send_sync::<TokenStore>();
    }

    #[test]
    fn base_url_names_loopback_for_unspecified_addresses() {
        let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080));
        assert_eq!(base_url_of(any), "http://127.0.0.1:8080");
        let v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 1));
        assert_eq!(base_url_of(v6), "http://[::1]:1");
    }
}
