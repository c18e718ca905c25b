//! Post Rows, Delete Rows, limits and retention.

mod common;

use anyhow::{Context, Result};
use common::{Env, rows, status_json};
use pbi_service::ServiceConfig;
use serde_json::json;

#[test]
fn rows_are_stored_in_order() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    let path = format!("/datasets/{id}/tables/T/rows");
    let r = env.post_json(&path, &json!({"rows": rows(0, 3)}))?;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text()?, "", "Post Rows answers an empty body");
    env.post_json(&path, &json!({"rows": rows(3, 2)}))?;
    assert_eq!(env.svc.table_rows(&id, "T"), Some(rows(0, 5)));
    assert_eq!(env.svc.table_rows(&id, "t"), None);
    let column: Vec<_> = rows(0, 5).iter().map(|r| r["Id"].clone()).collect();
    assert_eq!(env.svc.table_column(&id, "T", "Id"), Some(column));
    assert_eq!(
        env.svc.table_column(&id, "T", "Nope"),
        Some(vec![serde_json::Value::Null; 5])
    );
    assert_eq!(env.svc.table_column(&id, "t", "Id"), None);
    Ok(())
}

#[test]
fn a_bare_array_is_400() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    let path = format!("/datasets/{id}/tables/T/rows");
    let (status, body) = status_json(env.post_json(&path, &json!(rows(0, 2)))?)?;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "BadRequest");
    assert_eq!(body["error"]["details"][0]["target"], "requestMessage");
    // Other malformed bodies.
    for bad in [
        json!({}),
        json!({"Rows": rows(0, 1)}),
        json!({"rows": [1, 2]}),
        json!({"rows": {}}),
    ] {
        let r = env.post_json(&path, &bad)?;
        assert_eq!(r.status().as_u16(), 400, "{bad}");
    }
    assert_eq!(env.svc.table_rows(&id, "T"), Some(vec![]));
    Ok(())
}

#[test]
fn more_than_10000_rows_is_400() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    let path = format!("/datasets/{id}/tables/T/rows");
    let (status, body) = status_json(env.post_json(&path, &json!({"rows": rows(0, 10_001)}))?)?;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("10000")),
        "{body}"
    );
    assert_eq!(env.svc.table_rows(&id, "T").map(|r| r.len()), Some(0));
    let r = env.post_json(&path, &json!({"rows": rows(0, 10_000)}))?;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(env.svc.table_rows(&id, "T").map(|r| r.len()), Some(10_000));
    Ok(())
}

#[test]
fn row_values_are_checked() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    let path = format!("/datasets/{id}/tables/T/rows");
    let long = "x".repeat(4001);
    for bad in [
        json!({"Name": long}),
        json!({"Id": i64::MAX}),
        json!({"Name": ["a"]}),
    ] {
        let r = env.post_json(&path, &json!({"rows": [bad]}))?;
        assert_eq!(r.status().as_u16(), 400);
    }
    let ok = json!({"Name": "x".repeat(4000), "Id": null});
    assert_eq!(
        env.post_json(&path, &json!({"rows": [ok]}))?
            .status()
            .as_u16(),
        200
    );
    Ok(())
}

#[test]
fn rate_limit_gives_429_with_retry_after() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        rows_requests_per_minute: 3,
        ..ServiceConfig::default()
    })?;
    let id = env.simple_dataset("T")?;
    let other = env.simple_dataset("T")?;
    let path = format!("/datasets/{id}/tables/T/rows");
    for i in 0..3 {
        let r = env.post_json(&path, &json!({"rows": rows(i, 1)}))?;
        assert_eq!(r.status().as_u16(), 200, "request {i}");
    }
    let (retry, _) = throttled(env.post_json(&path, &json!({"rows": rows(3, 1)}))?)?;
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(env.svc.table_rows(&id, "T").map(|r| r.len()), Some(3));
    // The limit is per dataset.
    let r = env.post_json(
        &format!("/datasets/{other}/tables/T/rows"),
        &json!({"rows": rows(0, 1)}),
    )?;
    assert_eq!(r.status().as_u16(), 200);
    // Delete Rows is not a Post Rows request.
    assert_eq!(env.delete(&path)?.status().as_u16(), 200);
    Ok(())
}

/// The `Retry-After` of a 429 answer, and the answer's error message.
fn throttled(r: reqwest::blocking::Response) -> Result<(u64, String)> {
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .context("Retry-After")?
        .to_str()?
        .parse()?;
    let (_, body) = status_json(r)?;
    assert_eq!(body["error"]["code"], "TooManyRequests");
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((retry, message))
}

#[test]
fn rows_per_hour_are_limited_per_dataset() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        rows_per_hour: 10,
        ..ServiceConfig::default()
    })?;
    let id = env.simple_dataset("T")?;
    let other = env.simple_dataset("T")?;
    let path = format!("/datasets/{id}/tables/T/rows");
    assert_eq!(
        env.post_json(&path, &json!({"rows": rows(0, 6)}))?
            .status()
            .as_u16(),
        200
    );
    // 6 + 5 > 10: refused whole, nothing stored, until the first request leaves the hour.
    let (retry, message) = throttled(env.post_json(&path, &json!({"rows": rows(6, 5)}))?)?;
    assert!((3590..=3600).contains(&retry), "Retry-After {retry}");
    assert!(message.contains("10 rows in an hour"), "{message}");
    assert_eq!(env.svc.table_rows(&id, "T").map(|r| r.len()), Some(6));
    // What still fits is accepted.
    assert_eq!(
        env.post_json(&path, &json!({"rows": rows(6, 4)}))?
            .status()
            .as_u16(),
        200
    );
    assert_eq!(env.svc.table_rows(&id, "T").map(|r| r.len()), Some(10));
    // A request larger than the whole limit can never fit: it waits the whole hour.
    let other_path = format!("/datasets/{other}/tables/T/rows");
    let (retry, _) = throttled(env.post_json(&other_path, &json!({"rows": rows(0, 11)}))?)?;
    assert_eq!(retry, 3600);
    // The limit is per dataset.
    assert_eq!(
        env.post_json(&other_path, &json!({"rows": rows(0, 10)}))?
            .status()
            .as_u16(),
        200
    );
    Ok(())
}

#[test]
fn a_large_table_takes_fewer_requests_an_hour() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        large_table_rows: 5,
        large_table_requests_per_hour: 2,
        ..ServiceConfig::default()
    })?;
    let tables = json!({"name": "L", "tables": [
        {"name": "Big", "columns": [{"name": "Id", "dataType": "Int64"}, {"name": "Name", "dataType": "String"}]},
        {"name": "Small", "columns": [{"name": "Id", "dataType": "Int64"}, {"name": "Name", "dataType": "String"}]}]});
    let id = env.create_dataset("", &tables)?;
    let big = format!("/datasets/{id}/tables/Big/rows");
    let small = format!("/datasets/{id}/tables/Small/rows");
    // Small until this request: not limited yet. Then large, with one request in the hour.
    assert_eq!(
        env.post_json(&big, &json!({"rows": rows(0, 5)}))?
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        env.post_json(&big, &json!({"rows": rows(5, 1)}))?
            .status()
            .as_u16(),
        200
    );
    let (retry, message) = throttled(env.post_json(&big, &json!({"rows": rows(6, 1)}))?)?;
    assert!((3590..=3600).contains(&retry), "Retry-After {retry}");
    assert!(
        message.contains("at most 2 Post Rows requests an hour"),
        "{message}"
    );
    assert_eq!(env.svc.table_rows(&id, "Big").map(|r| r.len()), Some(6));
    // A small table of the same dataset is not held back.
    assert_eq!(
        env.post_json(&small, &json!({"rows": rows(0, 1)}))?
            .status()
            .as_u16(),
        200
    );
    Ok(())
}

#[test]
fn delete_rows_clears_the_table() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    let path = format!("/datasets/{id}/tables/T/rows");
    env.post_json(&path, &json!({"rows": rows(0, 4)}))?;
    assert_eq!(env.svc.table_rows(&id, "T").map(|r| r.len()), Some(4));
    let r = env.delete(&path)?;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(env.svc.table_rows(&id, "T"), Some(vec![]));
    // The schema stays.
    assert_eq!(env.svc.table_columns(&id, "T").map(|c| c.len()), Some(2));
    Ok(())
}

#[test]
fn basic_fifo_keeps_the_newest_rows() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        fifo_max_rows: 3,
        ..ServiceConfig::default()
    })?;
    let table = json!({"name": "F", "tables": [{"name": "T", "columns": [
        {"name": "Id", "dataType": "Int64"}, {"name": "Name", "dataType": "String"}]}]});
    let fifo = {
        let r = env.post_json("/datasets?defaultRetentionPolicy=basicFIFO", &table)?;
        status_json(r)?.1["id"].as_str().context("id")?.to_owned()
    };
    let none = env.create_dataset("", &table)?;
    for id in [&fifo, &none] {
        env.post_json(
            &format!("/datasets/{id}/tables/T/rows"),
            &json!({"rows": rows(0, 5)}),
        )?;
    }
    assert_eq!(env.svc.table_rows(&fifo, "T"), Some(rows(2, 3)));
    assert_eq!(env.svc.table_rows(&none, "T"), Some(rows(0, 5)));
    Ok(())
}

#[test]
fn rows_in_a_workspace() -> Result<()> {
    let env = Env::new()?;
    let gid = env.svc.add_group("W");
    let id = env.create_dataset(
        &format!("/groups/{gid}"),
        &json!({"name": "G", "tables": [{"name": "T", "columns": [{"name": "Id", "dataType": "Int64"}]}]}),
    )?;
    let r = env.post_json(
        &format!("/groups/{gid}/datasets/{id}/tables/T/rows"),
        &json!({"rows": [{"Id": 1}]}),
    )?;
    assert_eq!(r.status().as_u16(), 200);
    // table_rows searches every workspace.
    assert_eq!(env.svc.table_rows(&id, "T"), Some(vec![json!({"Id": 1})]));
    // Through My workspace the dataset is not found.
    let r = env.post_json(
        &format!("/datasets/{id}/tables/T/rows"),
        &json!({"rows": [{"Id": 2}]}),
    )?;
    assert_eq!(r.status().as_u16(), 404);
    Ok(())
}
