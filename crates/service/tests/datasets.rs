//! Create Dataset, List Datasets, List Tables, Update Table, names in paths.

mod common;

use anyhow::{Context, Result};
use common::{Env, encode_segment, entity_not_found, rows, status_json};
use serde_json::{Value, json};

fn product_dataset() -> Value {
    json!({
        "name": "SalesMarketing",
        "defaultMode": "Push",
        "tables": [{"name": "Product", "columns": [
            {"name": "ProductID", "dataType": "Int64"},
            {"name": "Name", "dataType": "string"},
            {"name": "IsCompete", "dataType": "bool"},
            {"name": "ManufacturedOn", "dataType": "DateTime"},
            {"name": "Sales", "dataType": "Int64", "formatString": "Currency"}
        ]}]
    })
}

#[test]
fn create_dataset_answers_201_with_the_dataset() -> Result<()> {
    let env = Env::new()?;
    let r = env.post_json(
        "/datasets?defaultRetentionPolicy=basicFIFO",
        &product_dataset(),
    )?;
    let (status, ds) = status_json(r)?;
    assert_eq!(status, 201, "{ds}");
    let id = ds["id"].as_str().context("id")?;
    assert_eq!(id.len(), 36);
    assert_eq!(id.matches('-').count(), 4);
    assert_eq!(ds["name"], "SalesMarketing");
    assert_eq!(ds["addRowsAPIEnabled"], true);
    assert_eq!(ds["isRefreshable"], false);
    assert_eq!(ds["configuredBy"], "emulator@contoso.com");
    assert_eq!(ds["defaultRetentionPolicy"], "basicFIFO");

    // The types are stored in canonical spelling.
    let cols = env.svc.table_columns(id, "Product").context("table")?;
    let types: Vec<&str> = cols.iter().filter_map(|c| c["dataType"].as_str()).collect();
    assert_eq!(types, ["Int64", "String", "Boolean", "DateTime", "Int64"]);
    assert_eq!(cols[4]["formatString"], "Currency");

    // Listed by GET /datasets, in the envelope.
    let (status, list) = status_json(env.get("/datasets")?)?;
    assert_eq!(status, 200);
    let context = list["@odata.context"].as_str().context("context")?;
    assert_eq!(
        context,
        format!("{}/v1.0/myorg/$metadata#datasets", env.svc.base_url())
    );
    assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["value"][0]["id"], id);
    assert_eq!(list["value"][0]["isRefreshable"], false);
    assert_eq!(
        env.svc.datasets(None),
        list["value"].as_array().cloned().unwrap_or_default()
    );

    // Without the query parameter the policy is None.
    let (_, ds) = status_json(env.post_json("/datasets", &product_dataset())?)?;
    assert_eq!(ds["defaultRetentionPolicy"], "None");
    Ok(())
}

fn assert_bad_request(r: reqwest::blocking::Response, target: &str) -> Result<()> {
    let (status, body) = status_json(r)?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "BadRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let targets: Vec<&str> = body["error"]["details"]
        .as_array()
        .context("details")?
        .iter()
        .filter_map(|d| d["target"].as_str())
        .collect();
    assert!(targets.contains(&target), "{target} not in {targets:?}");
    Ok(())
}

#[test]
fn create_dataset_rejects_unknown_or_miscased_properties() -> Result<()> {
    let env = Env::new()?;
    let mut body = product_dataset();
    body["Name"] = body["name"].take();
    body.as_object_mut().context("object")?.remove("name");
    assert_bad_request(env.post_json("/datasets", &body)?, "dataset.Name")?;

    let mut body = product_dataset();
    body["tables"][0]["columns"][0] = json!({"name": "X", "datatype": "Int64"});
    assert_bad_request(
        env.post_json("/datasets", &body)?,
        "dataset.tables[0].columns[0].datatype",
    )?;

    let mut body = product_dataset();
    body["tables"][0]["Columns"] = json!([]);
    assert_bad_request(
        env.post_json("/datasets", &body)?,
        "dataset.tables[0].Columns",
    )?;

    assert!(
        env.svc.datasets(None).is_empty(),
        "a rejected dataset was created"
    );
    Ok(())
}

#[test]
fn create_dataset_validates_types_limits_and_names() -> Result<()> {
    let env = Env::new()?;
    let mut body = product_dataset();
    body["tables"][0]["columns"][1]["dataType"] = json!("Text");
    assert_bad_request(
        env.post_json("/datasets", &body)?,
        "dataset.tables[0].columns[1].dataType",
    )?;

    let column = |i: usize| json!({"name": format!("C{i}"), "dataType": "String"});
    let table = |i: usize, cols: usize| json!({"name": format!("T{i}"), "columns": (0..cols).map(column).collect::<Vec<_>>()});
    let many_tables =
        json!({"name": "x", "tables": (0..76).map(|i| table(i, 1)).collect::<Vec<_>>()});
    assert_bad_request(env.post_json("/datasets", &many_tables)?, "dataset.tables")?;
    let many_columns = json!({"name": "x", "tables": [table(0, 76)]});
    assert_bad_request(
        env.post_json("/datasets", &many_columns)?,
        "dataset.tables[0].columns",
    )?;
    // The limits themselves are fine.
    let at_limit =
        json!({"name": "x", "tables": (0..75).map(|i| table(i, 75)).collect::<Vec<_>>()});
    assert_eq!(
        env.post_json("/datasets", &at_limit)?.status().as_u16(),
        201
    );

    let empty_name = json!({"name": "", "tables": [table(0, 1)]});
    assert_bad_request(env.post_json("/datasets", &empty_name)?, "dataset.name")?;
    let empty_table = json!({"name": "x", "tables": [{"name": "", "columns": [column(0)]}]});
    assert_bad_request(
        env.post_json("/datasets", &empty_table)?,
        "dataset.tables[0].name",
    )?;
    let empty_column = json!({"name": "x", "tables": [{"name": "T", "columns": [{"name": "", "dataType": "String"}]}]});
    assert_bad_request(
        env.post_json("/datasets", &empty_column)?,
        "dataset.tables[0].columns[0].name",
    )?;

    let r = env.post_json(
        "/datasets?defaultRetentionPolicy=forever",
        &product_dataset(),
    )?;
    assert_bad_request(r, "defaultRetentionPolicy")?;

    // Not declared as JSON: 415.
    let r = env
        .http
        .post(env.url("/datasets"))
        .bearer_auth(&env.token)
        .header("Content-Type", "text/plain")
        .body(product_dataset().to_string())
        .send()?;
    assert_eq!(r.status().as_u16(), 415);
    // Declared as JSON but not JSON: 400.
    let r = env
        .http
        .post(env.url("/datasets"))
        .bearer_auth(&env.token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()?;
    assert_bad_request(r, "dataset")?;
    Ok(())
}

#[test]
fn workspaces_scope_datasets() -> Result<()> {
    let env = Env::new()?;
    let gid = env.svc.add_group("Sales");
    let id = env.create_dataset(&format!("/groups/{gid}"), &product_dataset())?;

    let (status, list) = status_json(env.get(&format!("/groups/{gid}/datasets"))?)?;
    assert_eq!(status, 200);
    assert_eq!(list["value"][0]["id"], id.as_str());
    assert!(
        list["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with(&format!("/groups/{gid}/$metadata#datasets")))
    );
    // Not in My workspace, and not reachable through it.
    assert_eq!(env.svc.datasets(None), Vec::<Value>::new());
    assert_eq!(env.svc.datasets(Some(&gid)).len(), 1);
    let (status, body) = status_json(env.get(&format!("/datasets/{id}/tables"))?)?;
    assert_eq!((status, body), (404, entity_not_found()));
    // An unknown workspace is 404.
    let (status, body) =
        status_json(env.get("/groups/00000000-0000-0000-0000-000000000000/datasets")?)?;
    assert_eq!((status, body), (404, entity_not_found()));
    // Group ids compare ignoring case.
    let upper = gid.to_uppercase();
    let r = env.get(&format!("/groups/{upper}/datasets/{id}/tables"))?;
    assert_eq!(r.status().as_u16(), 200);
    Ok(())
}

#[test]
fn list_tables_of_push_and_non_push_datasets() -> Result<()> {
    let env = Env::new()?;
    let id = env.create_dataset("", &product_dataset())?;
    let (status, list) = status_json(env.get(&format!("/datasets/{id}/tables"))?)?;
    assert_eq!(status, 200);
    assert_eq!(list["value"], json!([{"name": "Product"}]));
    assert!(
        list["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with("/v1.0/myorg/$metadata#tables"))
    );

    let seeded = env.svc.add_dataset(None, "Imported", false, json!([]));
    let listed = env.svc.datasets(None);
    let imported = listed
        .iter()
        .find(|d| d["id"] == seeded.as_str())
        .context("seeded")?;
    assert_eq!(imported["addRowsAPIEnabled"], false);
    assert_eq!(imported["isRefreshable"], true);
    let (status, body) = status_json(env.get(&format!("/datasets/{seeded}/tables"))?)?;
    assert_eq!((status, body), (404, entity_not_found()));
    Ok(())
}

#[test]
fn list_tables_can_include_columns() -> Result<()> {
    let env = Env::with_config(pbi_service::ServiceConfig {
        list_tables_with_columns: true,
        ..Default::default()
    })?;
    let id = env.create_dataset("", &product_dataset())?;
    let (_, list) = status_json(env.get(&format!("/datasets/{id}/tables"))?)?;
    assert_eq!(
        list["value"][0]["columns"][2],
        json!({"name": "IsCompete", "dataType": "Boolean"})
    );
    Ok(())
}

#[test]
fn update_table_replaces_the_schema_and_keeps_rows() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    let r = env.post_json(
        &format!("/datasets/{id}/tables/T/rows"),
        &json!({"rows": rows(0, 2)}),
    )?;
    assert_eq!(r.status().as_u16(), 200);

    let new_table = json!({"name": "T", "columns": [
        {"name": "Id", "dataType": "Int64"},
        {"name": "Name", "dataType": "String"},
        {"name": "Added", "dataType": "double"}
    ]});
    let (status, body) =
        status_json(env.put_json(&format!("/datasets/{id}/tables/T"), &new_table)?)?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "T");
    assert_eq!(
        body["columns"][2],
        json!({"name": "Added", "dataType": "Double"})
    );
    let cols = env.svc.table_columns(&id, "T").context("table")?;
    assert_eq!(cols.len(), 3);
    assert_eq!(env.svc.table_rows(&id, "T").map(|r| r.len()), Some(2));

    // Same property checks as Create Dataset.
    let bad = json!({"name": "T", "columns": [{"Name": "Id", "dataType": "Int64"}]});
    assert_bad_request(
        env.put_json(&format!("/datasets/{id}/tables/T"), &bad)?,
        "requestMessage.columns[0].Name",
    )?;
    // The body names the table of the URL.
    let renamed = json!({"name": "U", "columns": [{"name": "Id", "dataType": "Int64"}]});
    assert_bad_request(
        env.put_json(&format!("/datasets/{id}/tables/T"), &renamed)?,
        "requestMessage.name",
    )?;
    assert_eq!(env.svc.table_columns(&id, "T").map(|c| c.len()), Some(3));
    // Unknown table.
    let (status, body) =
        status_json(env.put_json(&format!("/datasets/{id}/tables/t"), &new_table)?)?;
    assert_eq!((status, body), (404, entity_not_found()));
    Ok(())
}

#[test]
fn percent_encoded_table_names() -> Result<()> {
    let env = Env::new()?;
    let name = "Sales #1 @x^y~z";
    let id = env.simple_dataset(name)?;
    let segment = encode_segment(name);
    assert!(segment.contains("%23") && segment.contains("%20"));
    env.svc.clear_requests();
    let r = env.post_json(
        &format!("/datasets/{id}/tables/{segment}/rows"),
        &json!({"rows": rows(0, 3)}),
    )?;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(env.svc.table_rows(&id, name), Some(rows(0, 3)));
    // The log keeps the path as it arrived.
    let log = env.svc.requests();
    assert!(
        log[0].path.ends_with(&format!("/tables/{segment}/rows")),
        "{}",
        log[0].path
    );

    // Space encoded, the rest raw where a URL allows it.
    let r = env.post_json(
        &format!("/datasets/{id}/tables/Sales%20%231%20@x%5Ey~z/rows"),
        &json!({"rows": rows(3, 1)}),
    )?;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(env.svc.table_rows(&id, name).map(|r| r.len()), Some(4));
    Ok(())
}

#[test]
fn table_names_are_case_sensitive() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("Product")?;
    let path = format!("/datasets/{id}/tables/product/rows");
    let (status, body) = status_json(env.post_json(&path, &json!({"rows": rows(0, 1)}))?)?;
    assert_eq!((status, body), (404, entity_not_found()));
    let (status, body) = status_json(env.delete(&path)?)?;
    assert_eq!((status, body), (404, entity_not_found()));
    // Dataset ids are GUIDs and compare ignoring case.
    let upper = id.to_uppercase();
    let r = env.post_json(
        &format!("/datasets/{upper}/tables/Product/rows"),
        &json!({"rows": []}),
    )?;
    assert_eq!(r.status().as_u16(), 200);
    // Unknown dataset.
    let (status, body) =
        status_json(env.get("/datasets/11111111-2222-3333-4444-555555555555/tables")?)?;
    assert_eq!((status, body), (404, entity_not_found()));
    Ok(())
}

#[test]
fn get_and_delete_dataset() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    let report = env.svc.add_report(None, "R", Some(&id));
    let other = env.svc.add_report(None, "Other", None);
    let (status, ds) = status_json(env.get(&format!("/datasets/{id}"))?)?;
    assert_eq!((status, ds["id"].as_str()), (200, Some(id.as_str())));
    assert_eq!(
        env.delete(&format!("/datasets/{id}"))?.status().as_u16(),
        200
    );
    assert!(env.svc.datasets(None).is_empty());
    let ids: Vec<Value> = env
        .svc
        .reports(None)
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![json!(other)],
        "the bound report {report} should go"
    );
    assert_eq!(env.get(&format!("/datasets/{id}"))?.status().as_u16(), 404);
    Ok(())
}
