//! Execute Queries: the DAX subset over stored rows, errors, limits, rate limit, scopes.

mod common;

use anyhow::{Context, Result};
use common::{Env, entity_not_found, status_json};
use pbi_service::ServiceConfig;
use serde_json::{Value, json};

fn orders_table() -> Value {
    json!({"name": "Sales Orders", "columns": [
        {"name": "OrderId", "dataType": "Int64"},
        {"name": "Customer", "dataType": "String"},
        {"name": "Amount", "dataType": "Double"},
        {"name": "Shipped", "dataType": "Boolean"}
    ]})
}

/// A push dataset with the `Sales Orders` table and four rows, through the API.
fn orders(env: &Env, scope: &str) -> Result<String> {
    let id = env.create_dataset(
        scope,
        &json!({"name": "Orders", "tables": [orders_table()]}),
    )?;
    let r = env.post_json(
        &format!(
            "{scope}/datasets/{id}/tables/{}/rows",
            common::encode_segment("Sales Orders")
        ),
        &json!({"rows": [
            {"OrderId": 1, "Customer": "Contoso", "Amount": 10.5, "Shipped": true},
            {"OrderId": 2, "Customer": "Fabrikam", "Amount": 99.0, "Shipped": false},
            {"OrderId": 3, "Customer": "Northwind", "Amount": 42.25},
            {"OrderId": 4, "Customer": "Contoso", "Amount": 7.0, "Shipped": true}
        ]}),
    )?;
    anyhow::ensure!(r.status().as_u16() == 200);
    Ok(id)
}

fn query_body(q: &str) -> Value {
    json!({"queries": [{"query": q}]})
}

/// Runs a query; the status and the answer.
fn run(env: &Env, scope: &str, id: &str, body: &Value) -> Result<(u16, Value)> {
    status_json(env.post_json(&format!("{scope}/datasets/{id}/executeQueries"), body)?)
}

/// The rows of a successful query.
fn rows(env: &Env, scope: &str, id: &str, q: &str) -> Result<Vec<Value>> {
    let (status, body) = run(env, scope, id, &query_body(q))?;
    anyhow::ensure!(status == 200, "{q}: {status} {body}");
    body["results"][0]["tables"][0]["rows"]
        .as_array()
        .cloned()
        .context("rows")
}

fn order_ids(rows: &[Value]) -> Vec<i64> {
    rows.iter()
        .filter_map(|r| r["Sales Orders[OrderId]"].as_i64())
        .collect()
}

#[test]
fn the_dax_subset_in_both_scopes() -> Result<()> {
    let env = Env::new()?;
    let gid = env.svc.add_group("Analytics");
    for scope in [String::new(), format!("/groups/{gid}")] {
        let id = orders(&env, &scope)?;
        let all = rows(&env, &scope, &id, "EVALUATE 'Sales Orders'")?;
        assert_eq!(
            all[0],
            json!({"Sales Orders[OrderId]": 1, "Sales Orders[Customer]": "Contoso",
                   "Sales Orders[Amount]": 10.5, "Sales Orders[Shipped]": true})
        );
        // Blank values are left out without includeNulls.
        assert_eq!(
            all[2],
            json!({"Sales Orders[OrderId]": 3, "Sales Orders[Customer]": "Northwind",
                   "Sales Orders[Amount]": 42.25})
        );
        let cases: &[(&str, &[i64])] = &[
            (
                "evaluate TOPN(2, 'Sales Orders', 'Sales Orders'[Amount])",
                &[2, 3],
            ),
            ("EVALUATE TOPN(1, 'Sales Orders', [Amount], ASC)", &[4]),
            (
                "EVALUATE FILTER('Sales Orders', [Customer] = \"contoso\")",
                &[1, 4],
            ),
            (
                "EVALUATE FILTER('Sales Orders', 'Sales Orders'[Amount] >= 10 && [Amount] < 50)",
                &[1, 3],
            ),
            (
                "EVALUATE FILTER('Sales Orders', [Shipped] = FALSE() || [OrderId] = 4)",
                &[2, 3, 4],
            ),
            (
                "EVALUATE FILTER('Sales Orders', [Shipped] = BLANK())",
                &[2, 3],
            ),
            (
                "// the biggest first\nEVALUATE 'Sales Orders' -- all of it\nORDER BY [Amount] DESC",
                &[2, 3, 1, 4],
            ),
        ];
        for (q, expected) in cases {
            assert_eq!(order_ids(&rows(&env, &scope, &id, q)?), *expected, "{q}");
        }
        let row = rows(
            &env,
            &scope,
            &id,
            "EVALUATE ROW(\"Orders\", COUNTROWS('Sales Orders'), \"Total\", SUM('Sales Orders'[Amount]), \
             \"Smallest\", MIN('Sales Orders'[Amount]), \"Largest\", MAX('Sales Orders'[Amount]), \
             \"Average\", AVERAGE('Sales Orders'[Amount]), \"Label\", \"say \"\"hi\"\"\")",
        )?;
        assert_eq!(
            row,
            [
                json!({"[Orders]": 4, "[Total]": 158.75, "[Smallest]": 7.0, "[Largest]": 99.0,
                    "[Average]": 39.6875, "[Label]": "say \"hi\""})
            ]
        );
    }
    Ok(())
}

#[test]
fn include_nulls_and_ignored_impersonation() -> Result<()> {
    let env = Env::new()?;
    let id = orders(&env, "")?;
    let (status, body) = run(
        &env,
        "",
        &id,
        &json!({"queries": [{"query": "EVALUATE FILTER('Sales Orders', [OrderId] = 3)"}],
                "serializerSettings": {"includeNulls": true},
                "impersonatedUserName": "someuser@mycompany.com"}),
    )?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"results": [{"tables": [{"rows": [
            {"Sales Orders[OrderId]": 3, "Sales Orders[Customer]": "Northwind",
             "Sales Orders[Amount]": 42.25, "Sales Orders[Shipped]": null}
        ]}]}]})
    );
    let (_, body) = run(
        &env,
        "",
        &id,
        &json!({"queries": [{"query": "EVALUATE ROW(\"x\", BLANK(), \"y\", 1)"}],
                "serializerSettings": {"includeNulls": false}}),
    )?;
    assert_eq!(body["results"][0]["tables"][0]["rows"], json!([{"[y]": 1}]));
    Ok(())
}

/// The exact error body of a DAX error.
fn dax_error(message: &str) -> Value {
    json!({"error": {"code": "DatasetExecuteQueriesError", "pbi.error": {
        "code": "DatasetExecuteQueriesError",
        "parameters": {},
        "details": [
            {"code": "DetailsMessage", "detail": {"type": 1, "value": message}},
            {"code": "AnalysisServicesErrorCode", "detail": {"type": 1, "value": "3238002695"}}
        ],
        "exceptionCulprit": 1
    }}})
}

#[test]
fn dax_errors_are_400_with_the_live_shape() -> Result<()> {
    let env = Env::new()?;
    let id = orders(&env, "")?;
    for (q, message) in [
        (
            "EVALUATE Nope",
            "Query (1, 10) Failed to resolve name 'Nope'. It is not a valid table, variable, or function name.",
        ),
        (
            "EVALUATE 'Sales Orders' x",
            "Query (1, 25) The syntax for 'x' is incorrect.",
        ),
        (
            "EVALUATE\nFILTER('Sales Orders', [Nope] > 1)",
            "Query (2, 24) Column 'Nope' cannot be found or may not be used in this expression.",
        ),
        (
            "EVALUATE ROW(\"a\", SUM('Sales Orders'[Price]))",
            "Query (1, 23) Column 'Price' in table 'Sales Orders' cannot be found or may not be used in this expression.",
        ),
        (
            "EVALUATE SUMMARIZECOLUMNS('Sales Orders'[Customer])",
            "Query (1, 10) The function 'SUMMARIZECOLUMNS' is not supported by this emulator's DAX subset.",
        ),
        (
            "SELECT * FROM Orders",
            "Query (1, 1) The syntax for 'SELECT' is incorrect.",
        ),
    ] {
        let (status, body) = run(&env, "", &id, &query_body(q))?;
        assert_eq!((status, body), (400, dax_error(message)), "{q}");
    }
    // A dataset without tables knows no table.
    let empty = env.svc.add_dataset(None, "Empty", false, Value::Null);
    let (status, body) = run(&env, "", &empty, &query_body("EVALUATE T"))?;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["pbi.error"]["details"][0]["detail"]["value"],
        "Query (1, 10) Failed to resolve name 'T'. It is not a valid table, variable, or function name."
    );
    Ok(())
}

#[test]
fn request_bodies_are_checked() -> Result<()> {
    let env = Env::new()?;
    let id = orders(&env, "")?;
    for (body, target) in [
        (json!({}), "requestMessage.queries"),
        (json!({"queries": []}), "requestMessage.queries"),
        (
            json!({"queries": [{"query": "EVALUATE 'Sales Orders'"}, {"query": "EVALUATE 'Sales Orders'"}]}),
            "requestMessage.queries",
        ),
        (json!({"queries": [{}]}), "requestMessage.queries[0].query"),
        (
            json!({"queries": [{"Query": "x"}]}),
            "requestMessage.queries[0].Query",
        ),
        (
            json!({"queries": [{"query": "EVALUATE 'Sales Orders'"}], "serializerSettings": {"includeNulls": "yes"}}),
            "requestMessage.serializerSettings.includeNulls",
        ),
        (
            json!({"queries": [{"query": "EVALUATE 'Sales Orders'"}], "serializerSettings": {"nulls": true}}),
            "requestMessage.serializerSettings.nulls",
        ),
        (
            json!({"queries": [{"query": "EVALUATE 'Sales Orders'"}], "impersonatedUserName": 5}),
            "requestMessage.impersonatedUserName",
        ),
        (
            json!({"queries": [{"query": "EVALUATE 'Sales Orders'"}], "timeout": 5}),
            "requestMessage.timeout",
        ),
    ] {
        let (status, answer) = run(&env, "", &id, &body)?;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"]["code"], "BadRequest", "{body}");
        assert_eq!(answer["error"]["details"][0]["target"], target, "{body}");
    }
    let r = env.post_raw(
        &format!("/datasets/{id}/executeQueries"),
        Some("text/plain"),
        "EVALUATE T",
    )?;
    assert_eq!(r.status().as_u16(), 415);
    Ok(())
}

#[test]
fn limits_cut_the_rows_with_an_error_in_a_200() -> Result<()> {
    let q = "EVALUATE 'Sales Orders'";
    let cases = [
        (
            ServiceConfig {
                max_query_rows: 2,
                ..ServiceConfig::default()
            },
            2,
            "More than 2 rows in a query result",
        ),
        (
            // Four columns a row: two rows fit in 10 values.
            ServiceConfig {
                max_query_values: 10,
                ..ServiceConfig::default()
            },
            2,
            "More than 10 values in a query result",
        ),
        (
            // The row that crosses the limit is completed, no more are written.
            ServiceConfig {
                max_query_bytes: 1,
                ..ServiceConfig::default()
            },
            1,
            "More than 1 bytes in a query result",
        ),
    ];
    for (config, kept, message) in cases {
        let env = Env::with_config(config)?;
        let id = orders(&env, "")?;
        let (status, body) = run(&env, "", &id, &query_body(q))?;
        assert_eq!(status, 200, "{body}");
        let table = &body["results"][0]["tables"][0];
        assert_eq!(table["rows"].as_array().map(Vec::len), Some(kept), "{body}");
        assert_eq!(table["error"]["message"], message);
        assert_eq!(table["error"]["code"], "DatasetExecuteQueriesError");
        // Exactly at the limit: no error.
        let (_, body) = run(
            &env,
            "",
            &id,
            &query_body(&format!("EVALUATE TOPN({kept}, 'Sales Orders')")),
        )?;
        assert!(
            body["results"][0]["tables"][0].get("error").is_none(),
            "{body}"
        );
    }
    Ok(())
}

#[test]
fn a_second_table_is_left_out_with_an_error() -> Result<()> {
    let env = Env::new()?;
    let id = orders(&env, "")?;
    let (status, body) = run(
        &env,
        "",
        &id,
        &query_body("EVALUATE ROW(\"n\", 1)\nEVALUATE 'Sales Orders'"),
    )?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"results": [{
            "tables": [{"rows": [{"[n]": 1}]}],
            "error": {"code": "DatasetExecuteQueriesError", "message": "More than one result table in a query"}
        }]})
    );
    Ok(())
}

#[test]
fn queries_are_rate_limited_per_user() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        queries_per_minute: 2,
        ..ServiceConfig::default()
    })?;
    let a = orders(&env, "")?;
    let b = orders(&env, "")?;
    let q = query_body("EVALUATE 'Sales Orders'");
    assert_eq!(run(&env, "", &a, &q)?.0, 200);
    // Another dataset counts against the same limit; so does a request rejected with 400.
    assert_eq!(run(&env, "", &b, &json!({}))?.0, 400);
    let r = env.post_json(&format!("/datasets/{a}/executeQueries"), &q)?;
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .context("retry-after")?;
    assert!((1..=60).contains(&retry), "{retry}");
    let (_, body) = status_json(r)?;
    assert_eq!(body["error"]["code"], "TooManyRequests");
    Ok(())
}

#[test]
fn queries_find_datasets_in_their_scope_only() -> Result<()> {
    let env = Env::new()?;
    let gid = env.svc.add_group("A");
    let id = orders(&env, &format!("/groups/{gid}"))?;
    let q = query_body("EVALUATE 'Sales Orders'");
    for scope in [
        String::new(),
        format!("/groups/{}", env.svc.add_group("B")),
        "/groups/not-a-guid".to_owned(),
    ] {
        assert_eq!(
            run(&env, &scope, &id, &q)?,
            (404, entity_not_found()),
            "{scope}"
        );
    }
    assert_eq!(
        run(&env, &format!("/groups/{gid}"), &id.to_uppercase(), &q)?.0,
        200
    );
    let r = env
        .http
        .post(env.url(&format!("/groups/{gid}/datasets/{id}/executeQueries")))
        .json(&q)
        .send()?;
    assert_eq!(r.status().as_u16(), 401);
    Ok(())
}

#[test]
fn the_seeded_models_answer_dax() -> Result<()> {
    let env = Env::with_config(ServiceConfig::seeded())?;
    let (_, groups) = status_json(env.get("/groups")?)?;
    let sales = groups["value"][0]["id"].as_str().context("id")?;
    let scope = format!("/groups/{sales}");
    let (_, datasets) = status_json(env.get(&format!("{scope}/datasets"))?)?;
    let model = &datasets["value"][1];
    assert_eq!(model["name"], "Sales Model");
    assert_eq!(model["addRowsAPIEnabled"], false);
    assert_eq!(model["isRefreshable"], true);
    let id = model["id"].as_str().context("id")?;
    let top = rows(&env, &scope, id, "EVALUATE TOPN(1, Sales, Sales[Revenue])")?;
    assert_eq!(top[0]["Sales[Product]"], "Road Bike");
    assert_eq!(top[0]["Sales[Revenue]"], 37799.58);
    // Its tables are still not listed: it is not a push dataset.
    let (status, _) = status_json(env.get(&format!("{scope}/datasets/{id}/tables"))?)?;
    assert_eq!(status, 404);
    // The push datasets answer too.
    let push = datasets["value"][0]["id"].as_str().context("id")?;
    let count = rows(&env, &scope, push, "EVALUATE ROW(\"n\", COUNTROWS(Orders))")?;
    assert_eq!(count, [json!({"[n]": 4})]);
    Ok(())
}
