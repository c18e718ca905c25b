//! Execute Queries (`POST .../datasets/{datasetId}/executeQueries`): a DAX query over the
//! dataset's tables and stored rows (see `dax.rs` for the subset), with Microsoft's result
//! limits and rate limit.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use crate::api::{ApiResult, AppState, Params, json_body};
use crate::dax::{self, ModelTable, TableVal};
use crate::errors::{ApiError, json_response};
use crate::state::rate_limit;
use crate::validate;

/// The Analysis Services error code sent with every DAX error (the code of a syntax error in
/// the live service's answers; the emulator does not tell error kinds apart by code).
const AS_ERROR_CODE: &str = "3238002695";
/// The code of the errors placed in a 200 answer (unverified: Microsoft documents the
/// messages only).
const RESULT_ERROR_CODE: &str = "DatasetExecuteQueriesError";

/// The rows of a result table within the limits, and the error when some were left out.
fn limited_rows(
    table: &TableVal,
    include_nulls: bool,
    config: &crate::ServiceConfig,
) -> (Vec<Value>, Option<String>) {
    let columns = table.cols.len();
    let mut rows = Vec::new();
    let (mut values, mut bytes) = (0usize, 0usize);
    let total = table.rows.len();
    for (i, row) in table.json_rows(include_nulls).enumerate() {
        if i >= config.max_query_rows {
            return (
                rows,
                Some(format!(
                    "More than {} rows in a query result",
                    config.max_query_rows
                )),
            );
        }
        if values + columns > config.max_query_values {
            return (
                rows,
                Some(format!(
                    "More than {} values in a query result",
                    config.max_query_values
                )),
            );
        }
        values += columns;
        bytes += Value::Object(row.clone()).to_string().len();
        rows.push(Value::Object(row));
        // Microsoft: "Once 15MB is exceeded, the current row will be completed but no
        // additional rows will be written."
        if bytes > config.max_query_bytes && i + 1 < total {
            return (
                rows,
                Some(format!(
                    "More than {} bytes in a query result",
                    config.max_query_bytes
                )),
            );
        }
    }
    (rows, None)
}

fn result_error(message: String) -> Value {
    json!({"code": RESULT_ERROR_CODE, "message": message})
}

/// Execute Queries (`Datasets_ExecuteQueries[InGroup]`).
pub(crate) async fn execute_queries(
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
    st.dataset_mut(&group, p.get("datasetId"))?;
    // Microsoft: "120 query requests per minute per user, regardless of the dataset"; the
    // emulator has one user.
    if let Err(secs) = rate_limit(&mut st.queries, config.queries_per_minute, now) {
        return Err(ApiError::throttled(
            secs,
            format!(
                "More than {} Execute Queries requests in a minute. Retry after {secs} seconds.",
                config.queries_per_minute
            ),
        ));
    }
    let spec = validate::execute_queries(&parsed?).map_err(ApiError::bad_request)?;
    let dataset = st.dataset_mut(&group, p.get("datasetId"))?;
    let model: Vec<ModelTable<'_>> = dataset
        .tables
        .iter()
        .map(|t| ModelTable {
            name: &t.name,
            columns: t
                .columns()
                .iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect(),
            rows: &t.rows,
        })
        .collect();
    let tables =
        dax::run(&spec.query, &model).map_err(|e| ApiError::dax(e.text(), AS_ERROR_CODE))?;
    drop(model);
    drop(st);

    let first = &tables[0];
    let (rows, error) = limited_rows(first, spec.include_nulls, config);
    let mut table = Map::new();
    table.insert("rows".to_owned(), Value::Array(rows));
    if let Some(message) = error {
        table.insert("error".to_owned(), result_error(message));
    }
    let mut result = json!({"tables": [Value::Object(table)]});
    if tables.len() > 1 {
        result["error"] = result_error("More than one result table in a query".to_owned());
    }
    Ok(json_response(StatusCode::OK, &json!({"results": [result]})))
}
