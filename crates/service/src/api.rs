//! The Power BI REST operations, as an axum router.
//!
//! Every operation is served under `/v1.0/myorg` (My workspace) and under
//! `/v1.0/myorg/groups/{groupId}` (a workspace). Authentication happens before routing (see
//! `server.rs`), so handlers only deal with the operation itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use serde_json::{Value, json};

use crate::errors::{ApiError, json_response};
use crate::multipart;
use crate::state::{
    HourlyLimit, Import, Report, Shared, State as Tenant, Table, hourly_limit, rate_limit, same_id,
};
use crate::util::{is_json_media_type, media_type, new_id, now_iso8601, query_pairs, query_param};
use crate::validate;
use crate::{export, filter, query, refresh, state};

pub(crate) type AppState = Arc<Shared>;
pub(crate) type ApiResult = Result<Response, ApiError>;

/// The router of every API operation, with JSON 404/405 answers for anything else.
pub(crate) fn router(shared: AppState) -> Router {
    let scoped: Vec<(&str, MethodRouter<AppState>)> = vec![
        ("/datasets", get(list_datasets).post(create_dataset)),
        (
            "/datasets/{datasetId}",
            get(get_dataset).delete(delete_dataset),
        ),
        ("/datasets/{datasetId}/tables", get(list_tables)),
        ("/datasets/{datasetId}/tables/{tableName}", put(put_table)),
        (
            "/datasets/{datasetId}/tables/{tableName}/rows",
            post(post_rows).delete(delete_rows),
        ),
        (
            "/datasets/{datasetId}/refreshes",
            get(refresh::list_refreshes).post(refresh::post_refresh),
        ),
        (
            "/datasets/{datasetId}/refreshes/{refreshId}",
            get(refresh::get_refresh_details),
        ),
        (
            "/datasets/{datasetId}/executeQueries",
            post(query::execute_queries),
        ),
        ("/reports", get(list_reports)),
        ("/reports/{reportId}/ExportTo", post(export::export_to)),
        (
            "/reports/{reportId}/exports/{exportId}",
            get(export::export_status),
        ),
        (
            "/reports/{reportId}/exports/{exportId}/file",
            get(export::export_file),
        ),
        ("/dashboards", get(list_dashboards)),
        ("/imports", get(list_imports).post(post_import)),
        ("/imports/{importId}", get(get_import)),
    ];
    let mut router = Router::new()
        .route("/v1.0/myorg/groups", get(list_groups).post(create_group))
        .route(
            "/v1.0/myorg/groups/{groupId}",
            get(get_group).delete(delete_group),
        );
    for (suffix, methods) in scoped {
        router = router
            .route(&format!("/v1.0/myorg{suffix}"), methods.clone())
            .route(&format!("/v1.0/myorg/groups/{{groupId}}{suffix}"), methods);
    }
    router
        // The Microsoft login endpoints share the server (and its 404/405 answers).
        .merge(crate::login::routes())
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        // The server already read the whole body under its own limit.
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

/// The decoded path parameters, for routes with or without any.
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn group(&self) -> Option<&str> {
        self.0.get("groupId").map(String::as_str)
    }

    pub(crate) fn get(&self, key: &str) -> &str {
        self.0.get(key).map_or("", String::as_str)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<HashMap<String, String>>::from_request_parts(parts, state).await {
            Ok(Path(map)) => Ok(Params(map)),
            // The routes without parameters (e.g. `/v1.0/myorg/datasets`).
            Err(PathRejection::MissingPathParams(_)) => Ok(Params(HashMap::new())),
            Err(PathRejection::FailedToDeserializePathParams(e))
                if matches!(e.kind(), ErrorKind::WrongNumberOfParameters { got: 0, .. }) =>
            {
                Ok(Params(HashMap::new()))
            }
            // Chiefly a segment that decodes to invalid UTF-8.
            Err(e) => Err(ApiError::bad("path", e.body_text())),
        }
    }
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::no_route(uri.path())
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::method_not_allowed(method.as_str())
}

/// Parses a JSON body declared as JSON: 415 for another media type, 400 for bad JSON.
pub(crate) fn json_body(headers: &HeaderMap, body: &[u8], target: &str) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(is_json_media_type) {
        return Err(ApiError::unsupported_media_type(
            "application/json",
            content_type,
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad(target, format!("The request body is not valid JSON: {e}")))
}

fn ok_empty() -> Response {
    StatusCode::OK.into_response()
}

// ---- datasets ----

async fn list_datasets(State(s): State<AppState>, p: Params) -> ApiResult {
    let st = s.lock();
    let group = st.resolve_group(p.group())?;
    let value = st
        .datasets
        .iter()
        .filter(|d| d.group == group)
        .map(state::Dataset::to_json)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &s.envelope(group.as_deref(), "datasets", value),
    ))
}

async fn create_dataset(
    State(s): State<AppState>,
    p: Params,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    s.lock().resolve_group(p.group())?;
    let pairs = query_pairs(query.as_deref());
    let retention = match query_param(&pairs, "defaultRetentionPolicy") {
        None => "None",
        // Enum query values bind ignoring case; the canonical spelling is stored.
        Some(v) if v.eq_ignore_ascii_case("None") => "None",
        Some(v) if v.eq_ignore_ascii_case("basicFIFO") => "basicFIFO",
        Some(v) => {
            return Err(ApiError::bad(
                "defaultRetentionPolicy",
                format!("'{v}' is not a retention policy (None, basicFIFO)."),
            ));
        }
    };
    let body = json_body(&headers, &body, "dataset")?;
    let spec = validate::create_dataset(&body).map_err(ApiError::bad_request)?;
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let dataset = st.add_dataset(
        group,
        spec.name,
        true,
        retention.to_owned(),
        s.config.configured_by.clone(),
        spec.tables.into_iter().map(Table::from).collect(),
    );
    Ok(json_response(
        StatusCode::CREATED,
        &dataset.to_created_json(),
    ))
}

async fn get_dataset(State(s): State<AppState>, p: Params) -> ApiResult {
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let d = st.dataset_mut(&group, p.get("datasetId"))?;
    Ok(json_response(StatusCode::OK, &d.to_json()))
}

async fn delete_dataset(State(s): State<AppState>, p: Params) -> ApiResult {
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let id = st.dataset_mut(&group, p.get("datasetId"))?.id.clone();
    st.datasets.retain(|d| d.id != id);
    // Power BI deletes the reports bound to a deleted dataset.
    st.reports
        .retain(|r| r.dataset_id.as_deref().is_none_or(|d| !same_id(d, &id)));
    Ok(ok_empty())
}

// ---- tables and rows ----

async fn list_tables(State(s): State<AppState>, p: Params) -> ApiResult {
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let d = st.push_dataset_mut(&group, p.get("datasetId"))?;
    let value = d
        .tables
        .iter()
        .map(|t| {
            if s.config.list_tables_with_columns {
                Value::Object(t.schema.clone())
            } else {
                json!({"name": t.name})
            }
        })
        .collect();
    drop(st);
    Ok(json_response(
        StatusCode::OK,
        &s.envelope(group.as_deref(), "tables", value),
    ))
}

async fn put_table(
    State(s): State<AppState>,
    p: Params,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    // Parsed before locking; its errors are reported only after the 404 checks.
    let parsed = json_body(&headers, &body, "requestMessage");
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let table_name = p.get("tableName");
    let table = st
        .push_dataset_mut(&group, p.get("datasetId"))?
        .table_mut(table_name)?;
    let spec = validate::table(&parsed?, "requestMessage").map_err(ApiError::bad_request)?;
    if spec.name != table_name {
        return Err(ApiError::bad(
            "requestMessage.name",
            format!(
                "The table name in the body ('{}') must be the table name in the URL ('{table_name}').",
                spec.name
            ),
        ));
    }
    // The schema is replaced; rows already pushed are kept as they are.
    table.schema = spec.schema;
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(table.schema.clone()),
    ))
}

async fn post_rows(
    State(s): State<AppState>,
    p: Params,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let now = Instant::now();
    let parsed = json_body(&headers, &body, "requestMessage");
    let config = &s.config;
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let dataset = st.push_dataset_mut(&group, p.get("datasetId"))?;
    dataset.table_mut(p.get("tableName"))?;
    // The limit counts every request that reaches an existing table, as a gateway would,
    // including ones whose body is then rejected.
    if let Err(secs) = rate_limit(
        &mut dataset.rows_requests,
        config.rows_requests_per_minute,
        now,
    ) {
        return Err(ApiError::throttled(
            secs,
            format!(
                "The dataset received more than {} Post Rows requests in a minute. Retry after {secs} seconds.",
                config.rows_requests_per_minute
            ),
        ));
    }
    let rows =
        validate::rows(parsed?, config.max_rows_per_request).map_err(ApiError::bad_request)?;
    let fifo = dataset.retention == "basicFIFO";
    let table_rows = dataset.table_mut(p.get("tableName"))?.rows.len();
    // With both hourly limits off (the bench) nothing is counted.
    if config.rows_per_hour > 0 || config.large_table_requests_per_hour > 0 {
        if let Err((secs, which)) =
            hourly_limit(&mut dataset.rows_hour, config, rows.len(), table_rows, now)
        {
            let message = match which {
                HourlyLimit::Rows => format!(
                    "The dataset would receive more than {} rows in an hour. Retry after {secs} seconds.",
                    config.rows_per_hour
                ),
                HourlyLimit::LargeTableRequests => format!(
                    "A table with {} rows or more accepts at most {} Post Rows requests an hour. Retry after {secs} seconds.",
                    config.large_table_rows, config.large_table_requests_per_hour
                ),
            };
            return Err(ApiError::throttled(secs, message));
        }
        dataset.rows_hour.push_back((now, rows.len()));
    }
    let table = dataset.table_mut(p.get("tableName"))?;
    table.rows.extend(rows);
    if fifo && table.rows.len() > config.fifo_max_rows {
        let excess = table.rows.len() - config.fifo_max_rows;
        table.rows.drain(..excess);
    }
    Ok(ok_empty())
}

async fn delete_rows(State(s): State<AppState>, p: Params) -> ApiResult {
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    st.push_dataset_mut(&group, p.get("datasetId"))?
        .table_mut(p.get("tableName"))?
        .rows
        .clear();
    Ok(ok_empty())
}

// ---- groups, reports and dashboards ----

/// Reads `$top` / `$skip`: a non-negative integer.
fn paging_param(pairs: &[(String, String)], name: &str) -> Result<Option<usize>, ApiError> {
    query_param(pairs, name)
        .map(|v| {
            v.trim().parse::<usize>().map_err(|_| {
                ApiError::bad(
                    name,
                    format!("{name} must be a non-negative integer, not '{v}'."),
                )
            })
        })
        .transpose()
}

async fn list_groups(State(s): State<AppState>, RawQuery(query): RawQuery) -> ApiResult {
    let pairs = query_pairs(query.as_deref());
    let top = paging_param(&pairs, "$top")?;
    let skip = paging_param(&pairs, "$skip")?.unwrap_or(0);
    let filter = query_param(&pairs, "$filter")
        .map(|f| {
            filter::parse(f).map_err(|e| {
                ApiError::bad(
                    "$filter",
                    format!("The $filter '{f}' is not supported: {e}."),
                )
            })
        })
        .transpose()?;
    let st = s.lock();
    let value = st
        .groups
        .iter()
        // Only the workspaces the user is a member of, as Microsoft's "a list of workspaces
        // the user has access to".
        .filter(|g| g.member)
        .filter(|g| filter.as_ref().is_none_or(|f| f.matches(&g.name)))
        .skip(skip)
        .take(top.unwrap_or(usize::MAX))
        .map(state::Group::to_json)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &s.envelope(None, "groups", value),
    ))
}

/// A single workspace as Create Group and Get Group answer it: Swagger's `Group` with the
/// `@odata.context` of an entity (as the live service sends it).
fn group_entity(s: &Shared, group: &state::Group) -> Value {
    let mut v = group.to_json();
    v["@odata.context"] = Value::String(format!("{}/$metadata#groups/$entity", s.scope_url(None)));
    v
}

async fn create_group(
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let pairs = query_pairs(query.as_deref());
    // Swagger: a boolean, "The only supported value is `true`"; `false` would ask for a
    // classic workspace, which Power BI no longer creates. Empty means absent, as ASP.NET
    // binds an optional boolean.
    match query_param(&pairs, "workspaceV2").map(str::trim) {
        None | Some("") => {}
        Some(v) if v.eq_ignore_ascii_case("true") => {}
        Some(v) if v.eq_ignore_ascii_case("false") => {
            return Err(ApiError::bad(
                "workspaceV2",
                "The only supported value of workspaceV2 is true.",
            ));
        }
        Some(v) => {
            return Err(ApiError::bad(
                "workspaceV2",
                format!("workspaceV2 must be true or false, not '{v}'."),
            ));
        }
    }
    let body = json_body(&headers, &body, "requestParameters")?;
    let name = validate::create_group(&body).map_err(ApiError::bad_request)?;
    let mut st = s.lock();
    // Names are unique in the organization: a workspace the user cannot see counts too.
    if st.group_name_taken(&name) {
        return Err(ApiError::already_exists());
    }
    let group = st.add_group(name, true).clone();
    drop(st);
    // 200, not 201: Swagger's only answer for Groups_CreateGroup.
    Ok(json_response(StatusCode::OK, &group_entity(&s, &group)))
}

async fn get_group(State(s): State<AppState>, p: Params) -> ApiResult {
    let st = s.lock();
    let group = st.member_group(p.get("groupId"))?.clone();
    drop(st);
    Ok(json_response(StatusCode::OK, &group_entity(&s, &group)))
}

async fn delete_group(State(s): State<AppState>, p: Params) -> ApiResult {
    let mut st = s.lock();
    let id = st.member_group(p.get("groupId"))?.id.clone();
    // Its datasets, reports, dashboards and imports go with it.
    st.remove_group(&id);
    Ok(ok_empty())
}

async fn list_reports(State(s): State<AppState>, p: Params) -> ApiResult {
    let st = s.lock();
    let group = st.resolve_group(p.group())?;
    let value = st
        .reports
        .iter()
        .filter(|r| r.group == group)
        .map(Report::to_json)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &s.envelope(group.as_deref(), "reports", value),
    ))
}

/// Get Dashboards (`Dashboards_GetDashboards`) and Get Dashboards In Group
/// (`Dashboards_GetDashboardsInGroup`): the whole list, no server paging.
async fn list_dashboards(State(s): State<AppState>, p: Params) -> ApiResult {
    let st = s.lock();
    let group = st.resolve_group(p.group())?;
    let value = st
        .dashboards
        .iter()
        .filter(|d| d.group == group)
        .map(state::Dashboard::to_json)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &s.envelope(group.as_deref(), "dashboards", value),
    ))
}

// ---- imports ----

const NAME_CONFLICT: &[&str] = &[
    "Ignore",
    "Abort",
    "Overwrite",
    "CreateOrOverwrite",
    "GenerateUniqueName",
];

/// An import as Get Imports lists it, with what it created (and still exists).
pub(crate) fn import_json(st: &Tenant, i: &Import) -> Value {
    let datasets: Vec<Value> = i
        .dataset_ids
        .iter()
        .filter_map(|id| st.datasets.iter().find(|d| &d.id == id))
        .map(|d| json!({"id": d.id, "name": d.name, "webUrl": d.to_json()["webUrl"]}))
        .collect();
    let reports: Vec<Value> = i
        .report_ids
        .iter()
        .filter_map(|id| st.reports.iter().find(|r| &r.id == id))
        .map(|r| {
            let j = r.to_json();
            json!({"id": r.id, "name": r.name, "webUrl": j["webUrl"], "embedUrl": j["embedUrl"]})
        })
        .collect();
    json!({
        "id": i.id,
        "importState": "Succeeded",
        "createdDateTime": i.created,
        "updatedDateTime": i.created,
        "name": i.name,
        "connectionType": "import",
        "source": "Upload",
        "datasets": datasets,
        "reports": reports,
    })
}

async fn list_imports(State(s): State<AppState>, p: Params) -> ApiResult {
    let st = s.lock();
    let group = st.resolve_group(p.group())?;
    let value = st
        .imports
        .iter()
        .filter(|i| i.group == group)
        .map(|i| import_json(&st, i))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &s.envelope(group.as_deref(), "imports", value),
    ))
}

async fn get_import(State(s): State<AppState>, p: Params) -> ApiResult {
    let st = s.lock();
    let group = st.resolve_group(p.group())?;
    let import = st
        .imports
        .iter()
        .find(|i| i.group == group && same_id(&i.id, p.get("importId")))
        .ok_or_else(ApiError::entity_not_found)?;
    Ok(json_response(StatusCode::OK, &import_json(&st, import)))
}

async fn post_import(
    State(s): State<AppState>,
    p: Params,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    s.lock().resolve_group(p.group())?;
    let pairs = query_pairs(query.as_deref());
    let display_name = query_param(&pairs, "datasetDisplayName")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad(
                "datasetDisplayName",
                "The datasetDisplayName query parameter is required.",
            )
        })?
        .to_owned();
    if let Some(v) = query_param(&pairs, "nameConflict")
        && !NAME_CONFLICT.iter().any(|c| c.eq_ignore_ascii_case(v))
    {
        return Err(ApiError::bad(
            "nameConflict",
            format!(
                "'{v}' is not a name-conflict mode ({}).",
                NAME_CONFLICT.join(", ")
            ),
        ));
    }
    let skip_report = match query_param(&pairs, "skipReport") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(ApiError::bad(
                "skipReport",
                format!("skipReport must be true or false, not '{v}'."),
            ));
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type.map(media_type).as_deref() != Some("multipart/form-data") {
        return Err(ApiError::unsupported_media_type(
            "multipart/form-data",
            content_type,
        ));
    }
    let parts = multipart::parse(content_type.unwrap_or_default(), &body).map_err(|e| {
        ApiError::bad(
            "importInfo",
            format!("The upload is not valid multipart/form-data: {e}."),
        )
    })?;
    if parts.iter().all(|part| part.len == 0) {
        return Err(ApiError::bad(
            "importInfo",
            "The upload holds no file content.",
        ));
    }

    let lower = display_name.to_ascii_lowercase();
    let base_name = [".pbix", ".xlsx", ".rdl"]
        .iter()
        .find(|ext| lower.ends_with(*ext))
        .map_or(display_name.as_str(), |ext| {
            &display_name[..display_name.len() - ext.len()]
        })
        .to_owned();
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let mut import = Import {
        id: new_id(),
        group: group.clone(),
        name: base_name.clone(),
        created: now_iso8601(),
        dataset_ids: Vec::new(),
        report_ids: Vec::new(),
    };
    // A .rdl file is a paginated report; a dataflow's model.json creates neither; anything
    // else (a .pbix) becomes an import-mode dataset with its report.
    let paginated = lower.ends_with(".rdl");
    let mut dataset_id = None;
    if !paginated && lower != "model.json" {
        let id = st
            .add_dataset(
                group.clone(),
                base_name.clone(),
                false,
                "None".to_owned(),
                s.config.configured_by.clone(),
                Vec::new(),
            )
            .id
            .clone();
        import.dataset_ids.push(id.clone());
        dataset_id = Some(id);
    }
    if paginated || (!skip_report && dataset_id.is_some()) {
        let report = Report {
            id: new_id(),
            group,
            name: base_name,
            dataset_id,
            paginated,
        };
        import.report_ids.push(report.id.clone());
        st.reports.push(report);
    }
    let id = import.id.clone();
    st.imports.push(import);
    Ok(json_response(StatusCode::ACCEPTED, &json!({"id": id})))
}
