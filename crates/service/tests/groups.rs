//! Workspaces: Create / Get / Delete Group, workspaces the user cannot see, unknown and
//! malformed group ids, and the demo content.

mod common;

use anyhow::{Context, Result};
use common::{Env, entity_not_found, status_json};
use pbi_service::ServiceConfig;
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<String> {
    list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["name"].as_str().map(str::to_owned))
        .collect()
}

/// Creates a workspace through the API and returns its id.
fn create_group(env: &Env, name: &str) -> Result<String> {
    let (status, group) =
        status_json(env.post_json("/groups?workspaceV2=true", &json!({"name": name}))?)?;
    anyhow::ensure!(status == 200, "create group gave {status}: {group}");
    group["id"]
        .as_str()
        .map(str::to_owned)
        .context("group id missing")
}

fn error_code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

/// The Swagger `Group` properties the emulator answers, and nothing else but the context.
fn assert_group_shape(group: &Value, name: &str) {
    let keys: Vec<&str> = group
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for key in &keys {
        assert!(
            [
                "@odata.context",
                "id",
                "name",
                "isReadOnly",
                "isOnDedicatedCapacity"
            ]
            .contains(key),
            "unexpected property {key} in {group}"
        );
    }
    assert_eq!(group["name"], name);
    assert_eq!(group["isReadOnly"], false);
    assert_eq!(group["isOnDedicatedCapacity"], false);
    let id = group["id"].as_str().unwrap_or_default();
    assert_eq!(id.len(), 36, "{group}");
    assert_eq!(id.matches('-').count(), 4, "{group}");
}

#[test]
fn create_list_get_and_delete_groups() -> Result<()> {
    let env = Env::new()?;
    // With workspaceV2=true, as Microsoft's "Create a workspace example".
    let (status, group) = status_json(env.post_json(
        "/groups?workspaceV2=True",
        &json!({"name": "sample workspace"}),
    )?)?;
    assert_eq!(status, 200, "{group}");
    assert_group_shape(&group, "sample workspace");
    assert!(
        group["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with("/v1.0/myorg/$metadata#groups/$entity")),
        "{group}"
    );
    let sample = group["id"].as_str().context("id")?.to_owned();
    // Without the flag, as Microsoft's first example.
    let (status, group) = status_json(env.post_json("/groups", &json!({"name": "sample group"}))?)?;
    assert_eq!(status, 200, "{group}");
    assert_group_shape(&group, "sample group");
    let other = create_group(&env, "marketing group")?;

    let (status, list) = status_json(env.get("/groups")?)?;
    assert_eq!(status, 200);
    assert_eq!(
        names(&list),
        ["sample workspace", "sample group", "marketing group"]
    );
    assert_eq!(list["value"][0]["id"], sample.as_str());
    assert_eq!(env.svc.groups().len(), 3);

    // Filter and paging see created workspaces like any other.
    let q = common::encode_segment("endswith(name,'group')");
    let (_, list) = status_json(env.get(&format!("/groups?$filter={q}"))?)?;
    assert_eq!(names(&list), ["sample group", "marketing group"]);
    let (_, list) = status_json(env.get(&format!("/groups?$filter={q}&$top=1&$skip=1"))?)?;
    assert_eq!(names(&list), ["marketing group"]);
    let (_, list) = status_json(env.get("/groups?$skip=1&$top=1")?)?;
    assert_eq!(names(&list), ["sample group"]);

    // Get Group, the id in any case.
    let (status, got) = status_json(env.get(&format!("/groups/{}", other.to_uppercase()))?)?;
    assert_eq!(status, 200, "{got}");
    assert_group_shape(&got, "marketing group");
    assert_eq!(got["id"], other.as_str());

    // A workspace with content: deleting it deletes the content.
    let ds = env.create_dataset(
        &format!("/groups/{other}"),
        &json!({"name": "D", "tables": [{"name": "T", "columns": [{"name": "A", "dataType": "Int64"}]}]}),
    )?;
    env.svc.add_report(Some(&other), "R", Some(&ds));
    env.svc.add_dashboard(Some(&other), "B");
    let r = env.delete(&format!("/groups/{other}"))?;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text()?.is_empty());
    let (_, list) = status_json(env.get("/groups")?)?;
    assert_eq!(names(&list), ["sample workspace", "sample group"]);
    assert!(env.svc.datasets(Some(&other)).is_empty());
    assert!(env.svc.reports(Some(&other)).is_empty());
    assert!(env.svc.dashboards(Some(&other)).is_empty());
    assert!(env.svc.table_rows(&ds, "T").is_none());
    // Gone: everything under it is 404, deleting it again too.
    for (status, body) in [
        status_json(env.get(&format!("/groups/{other}"))?)?,
        status_json(env.delete(&format!("/groups/{other}"))?)?,
        status_json(env.get(&format!("/groups/{other}/datasets"))?)?,
    ] {
        assert_eq!((status, body), (404, entity_not_found()));
    }
    // The name is free again.
    create_group(&env, "marketing group")?;
    Ok(())
}

#[test]
fn create_group_refuses_bad_requests() -> Result<()> {
    let env = Env::new()?;
    let bodies = [
        (json!({}), "requestParameters.name"),
        (json!({"name": null}), "requestParameters.name"),
        (json!({"name": ""}), "requestParameters.name"),
        (json!({"name": "   "}), "requestParameters.name"),
        (json!({"name": 7}), "requestParameters.name"),
        // Property names are case-sensitive, unknown ones refused.
        (json!({"Name": "x"}), "requestParameters.Name"),
        (
            json!({"name": "x", "description": "y"}),
            "requestParameters.description",
        ),
        (json!(["x"]), "requestParameters"),
    ];
    for (body, target) in bodies {
        let (status, answer) = status_json(env.post_json("/groups", &body)?)?;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(error_code(&answer), Some("BadRequest"), "{body}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
        let targets: Vec<&str> = answer["error"]["details"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["target"].as_str())
            .collect();
        assert!(targets.contains(&target), "{body}: {answer}");
    }
    // Not JSON at all.
    let r = env
        .http
        .post(env.url("/groups"))
        .bearer_auth(&env.token)
        .header("Content-Type", "application/json")
        .body("{name")
        .send()?;
    assert_eq!(r.status().as_u16(), 400);
    let r = env
        .http
        .post(env.url("/groups"))
        .bearer_auth(&env.token)
        .header("Content-Type", "text/plain")
        .body(r#"{"name":"x"}"#)
        .send()?;
    assert_eq!(r.status().as_u16(), 415);
    // workspaceV2: a boolean whose only supported value is true.
    for query in ["?workspaceV2=false", "?workspaceV2=yes", "?workspaceV2=1"] {
        let (status, answer) =
            status_json(env.post_json(&format!("/groups{query}"), &json!({"name": "x"}))?)?;
        assert_eq!(status, 400, "{query}");
        assert_eq!(answer["error"]["details"][0]["target"], "workspaceV2");
    }
    // Nothing was created; authentication comes first.
    assert!(env.svc.groups().is_empty());
    let r = env
        .http
        .post(env.url("/groups"))
        .json(&json!({"name": "x"}))
        .send()?;
    assert_eq!(r.status().as_u16(), 401);
    assert!(env.svc.groups().is_empty());
    Ok(())
}

#[test]
fn duplicate_names_are_refused() -> Result<()> {
    let env = Env::new()?;
    create_group(&env, "Sales")?;
    let hidden = env.svc.add_hidden_group("Secret Board");
    let already = json!({"error": {"code": "PowerBIEntityAlreadyExists", "pbi.error": {
        "code": "PowerBIEntityAlreadyExists", "parameters": {}, "details": []
    }}});
    // The same name, in another case, with spaces around, and the name of a workspace the
    // user cannot see: names are unique in the organization.
    for name in ["Sales", "SALES", " sales ", "secret board"] {
        for query in ["", "?workspaceV2=true"] {
            let (status, body) =
                status_json(env.post_json(&format!("/groups{query}"), &json!({"name": name}))?)?;
            assert_eq!((status, &body), (400, &already), "{name:?}{query}");
        }
    }
    let (_, list) = status_json(env.get("/groups")?)?;
    assert_eq!(names(&list), ["Sales"]);
    // A different name is fine; the hidden workspace is still there, still hidden.
    create_group(&env, "Sales 2024")?;
    assert_eq!(env.svc.groups().len(), 2);
    let (status, _) = status_json(env.get(&format!("/groups/{hidden}"))?)?;
    assert_eq!(status, 404);
    Ok(())
}

/// The status and body of an answer; an empty body is `null` (deletes answer with none).
fn status_body(r: reqwest::blocking::Response) -> Result<(u16, Value)> {
    let status = r.status().as_u16();
    let text = r.text().context("reading the body")?;
    if text.is_empty() {
        return Ok((status, Value::Null));
    }
    let v = serde_json::from_str(&text).with_context(|| format!("not JSON ({status}): {text}"))?;
    Ok((status, v))
}

/// One call under a workspace: what it is, the status it gets in a workspace the user is a
/// member of, and the answer it got.
struct Call {
    what: String,
    member_status: u16,
    status: u16,
    body: Value,
}

/// Every workspace-scoped route a client may call, for workspace `g`, dataset `d` (a push
/// dataset with table `T`), in an order that works in a workspace the user is a member of:
/// the dataset and then the workspace are deleted last.
fn scoped_calls(env: &Env, g: &str, d: &str) -> Result<Vec<Call>> {
    let table = json!({"name": "T", "columns": [{"name": "A", "dataType": "Int64"}]});
    let dataset = json!({"name": "N", "tables": [table]});
    let rows = json!({"rows": [{"A": 1}]});
    let bad_rows = json!([{"A": 1}]);
    let calls: Vec<(String, u16, reqwest::blocking::Response)> = vec![
        (
            format!("GET /groups/{g}"),
            200,
            env.get(&format!("/groups/{g}"))?,
        ),
        (
            format!("GET /groups/{g}/datasets"),
            200,
            env.get(&format!("/groups/{g}/datasets"))?,
        ),
        (
            format!("POST /groups/{g}/datasets"),
            201,
            env.post_json(&format!("/groups/{g}/datasets"), &dataset)?,
        ),
        // A bad query and a bad body: the workspace is checked first.
        (
            format!("POST /groups/{g}/datasets?defaultRetentionPolicy=bad"),
            400,
            env.post_json(
                &format!("/groups/{g}/datasets?defaultRetentionPolicy=bad"),
                &json!({}),
            )?,
        ),
        (
            format!("GET /groups/{g}/datasets/{d}"),
            200,
            env.get(&format!("/groups/{g}/datasets/{d}"))?,
        ),
        (
            format!("GET /groups/{g}/datasets/{d}/tables"),
            200,
            env.get(&format!("/groups/{g}/datasets/{d}/tables"))?,
        ),
        (
            format!("PUT /groups/{g}/datasets/{d}/tables/T"),
            200,
            env.put_json(&format!("/groups/{g}/datasets/{d}/tables/T"), &table)?,
        ),
        (
            format!("POST /groups/{g}/datasets/{d}/tables/T/rows"),
            200,
            env.post_json(&format!("/groups/{g}/datasets/{d}/tables/T/rows"), &rows)?,
        ),
        (
            format!("POST /groups/{g}/datasets/{d}/tables/T/rows (a bare array)"),
            400,
            env.post_json(
                &format!("/groups/{g}/datasets/{d}/tables/T/rows"),
                &bad_rows,
            )?,
        ),
        (
            format!("DELETE /groups/{g}/datasets/{d}/tables/T/rows"),
            200,
            env.delete(&format!("/groups/{g}/datasets/{d}/tables/T/rows"))?,
        ),
        (
            format!("GET /groups/{g}/reports"),
            200,
            env.get(&format!("/groups/{g}/reports"))?,
        ),
        (
            format!("GET /groups/{g}/dashboards"),
            200,
            env.get(&format!("/groups/{g}/dashboards"))?,
        ),
        (
            format!("GET /groups/{g}/imports"),
            200,
            env.get(&format!("/groups/{g}/imports"))?,
        ),
        // No import has the dataset's id.
        (
            format!("GET /groups/{g}/imports/{d}"),
            404,
            env.get(&format!("/groups/{g}/imports/{d}"))?,
        ),
        (
            format!("DELETE /groups/{g}/datasets/{d}"),
            200,
            env.delete(&format!("/groups/{g}/datasets/{d}"))?,
        ),
        (
            format!("DELETE /groups/{g}"),
            200,
            env.delete(&format!("/groups/{g}"))?,
        ),
    ];
    calls
        .into_iter()
        .map(|(what, member_status, r)| {
            let (status, body) = status_body(r)?;
            Ok(Call {
                what,
                member_status,
                status,
                body,
            })
        })
        .collect()
}

#[test]
fn hidden_unknown_and_malformed_workspaces_are_not_found() -> Result<()> {
    let env = Env::new()?;
    let table = json!([{"name": "T", "columns": [{"name": "A", "dataType": "Int64"}]}]);
    // A workspace of someone else, with a push dataset and a report in it.
    let hidden = env.svc.add_hidden_group("Board");
    let ds = env
        .svc
        .add_dataset(Some(&hidden), "Secret", true, table.clone());
    env.svc
        .add_report(Some(&hidden), "Secret Report", Some(&ds));
    env.svc.add_dashboard(Some(&hidden), "Secret Dashboard");
    // A workspace of the user beside it.
    let mine = env.svc.add_group("Mine");
    let my_ds = env.svc.add_dataset(Some(&mine), "Open", true, table);

    // Not listed, whatever the filter or paging.
    for (query, want) in [
        ("", vec!["Mine"]),
        ("?$filter=name%20eq%20%27Board%27", vec![]),
        ("?$filter=name%20ne%20%27Mine%27", vec![]),
        ("?$skip=0&$top=10", vec!["Mine"]),
    ] {
        let (status, list) = status_json(env.get(&format!("/groups{query}"))?)?;
        assert_eq!(status, 200);
        assert_eq!(names(&list), want, "{query}");
    }

    let unknown = "0f084df7-c13d-451b-af5f-ed0c466403b2".to_owned();
    let malformed: Vec<String> = vec![
        "not-a-guid".to_owned(),
        "12345".to_owned(),
        "me".to_owned(),
        // Almost the hidden workspace's id: a character short, one too many, in braces,
        // without hyphens.
        hidden[..35].to_owned(),
        format!("{hidden}0"),
        format!("%7B{hidden}%7D"),
        hidden.replace('-', ""),
        // A dataset's id is no workspace's id.
        ds.clone(),
        my_ds.clone(),
    ];
    let mut groups = vec![hidden.clone(), hidden.to_uppercase(), unknown];
    groups.extend(malformed);
    for g in &groups {
        for call in scoped_calls(&env, g, &ds)? {
            assert_eq!(
                (call.status, &call.body),
                (404, &entity_not_found()),
                "{} for workspace {g}",
                call.what
            );
        }
    }
    // Nothing under the hidden workspace changed: no rows stored, nothing deleted or added.
    assert_eq!(env.svc.table_rows(&ds, "T"), Some(vec![]));
    assert_eq!(env.svc.datasets(Some(&hidden)).len(), 1);
    assert_eq!(env.svc.reports(Some(&hidden)).len(), 1);
    assert_eq!(env.svc.dashboards(Some(&hidden)).len(), 1);
    assert_eq!(env.svc.groups().len(), 1);

    // The user's own workspace answers the same calls.
    for call in scoped_calls(&env, &mine, &my_ds)? {
        assert_eq!(
            call.status, call.member_status,
            "{}: {}",
            call.what, call.body
        );
    }
    assert!(env.svc.groups().is_empty());
    assert!(env.svc.datasets(Some(&mine)).is_empty());
    Ok(())
}

#[test]
fn unusual_group_segments() -> Result<()> {
    let env = Env::new()?;
    // An empty segment, an encoded slash, white space, a NUL: no workspace has such an id.
    for g in ["", "a%2Fb", "%20", "%00"] {
        let (status, body) = status_json(env.get(&format!("/groups/{g}/datasets"))?)?;
        assert_eq!((status, body), (404, entity_not_found()), "{g:?}");
    }
    Ok(())
}

#[test]
fn seeded_service_has_demo_content() -> Result<()> {
    let env = Env::with_config(ServiceConfig::seeded())?;
    let (status, list) = status_json(env.get("/groups")?)?;
    assert_eq!(status, 200);
    assert_eq!(names(&list), ["Sales", "Finance", "Operations"]);
    let ids: Vec<String> = list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["id"].as_str().map(str::to_owned))
        .collect();
    // seed_demo again adds nothing and names the same workspaces.
    assert_eq!(env.svc.seed_demo(), ids);
    assert_eq!(env.svc.groups().len(), 3);

    let q = common::encode_segment("startswith(name,'f')");
    let (_, filtered) = status_json(env.get(&format!("/groups?$filter={q}"))?)?;
    assert_eq!(names(&filtered), ["Finance"]);

    for (gid, push_name, table, model, report, dashboard) in [
        (
            &ids[0],
            "Sales Live",
            "Orders",
            "Sales Model",
            "Sales Overview",
            "Sales Pulse",
        ),
        (
            &ids[1],
            "Budget Tracking",
            "Transactions",
            "Finance Model",
            "Profit and Loss",
            "Finance Summary",
        ),
        (
            &ids[2],
            "Sensor Readings",
            "Readings",
            "Operations Model",
            "Operations Dashboard",
            "Site Monitor",
        ),
    ] {
        let (status, datasets) = status_json(env.get(&format!("/groups/{gid}/datasets"))?)?;
        assert_eq!(status, 200);
        assert_eq!(names(&datasets), [push_name, model], "{push_name}");
        let push = &datasets["value"][0];
        let import = &datasets["value"][1];
        assert_eq!(push["addRowsAPIEnabled"], true);
        assert_eq!(push["isRefreshable"], false);
        assert_eq!(import["addRowsAPIEnabled"], false);
        assert_eq!(import["isRefreshable"], true);
        let push_id = push["id"].as_str().context("push id")?;
        let import_id = import["id"].as_str().context("model id")?;

        // The push dataset's table, with columns and a few rows; the model's tables are not
        // listed, as for any non-push dataset.
        let (status, tables) =
            status_json(env.get(&format!("/groups/{gid}/datasets/{push_id}/tables"))?)?;
        assert_eq!(status, 200);
        assert_eq!(names(&tables), [table]);
        let columns = env.svc.table_columns(push_id, table).context("columns")?;
        assert!(columns.len() >= 4, "{columns:?}");
        assert!(
            !env.svc
                .table_rows(push_id, table)
                .context("rows")?
                .is_empty()
        );
        let (status, _) =
            status_json(env.get(&format!("/groups/{gid}/datasets/{import_id}/tables"))?)?;
        assert_eq!(status, 404);

        // Rows can be pushed to the seeded table.
        let before = env.svc.table_rows(push_id, table).map_or(0, |r| r.len());
        let r = env.post_json(
            &format!("/groups/{gid}/datasets/{push_id}/tables/{table}/rows"),
            &json!({"rows": [{"Note": "pushed by a test"}]}),
        )?;
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(
            env.svc.table_rows(push_id, table).map(|r| r.len()),
            Some(before + 1)
        );

        let (status, reports) = status_json(env.get(&format!("/groups/{gid}/reports"))?)?;
        assert_eq!(status, 200);
        assert_eq!(names(&reports), [report]);
        assert_eq!(reports["value"][0]["datasetId"], import_id);

        let (status, dashboards) = status_json(env.get(&format!("/groups/{gid}/dashboards"))?)?;
        assert_eq!(status, 200);
        assert_eq!(dashboards["value"][0]["displayName"], dashboard);
        assert_eq!(dashboards["value"].as_array().map(Vec::len), Some(1));
    }

    // My workspace.
    let (_, mine) = status_json(env.get("/datasets")?)?;
    assert_eq!(names(&mine), ["Personal Tasks"]);
    assert_eq!(mine["value"][0]["addRowsAPIEnabled"], true);
    let (_, reports) = status_json(env.get("/reports")?)?;
    assert_eq!(names(&reports), ["My Tasks"]);
    assert_eq!(reports["value"][0]["datasetId"], mine["value"][0]["id"]);
    let (_, dashboards) = status_json(env.get("/dashboards")?)?;
    assert_eq!(dashboards["value"][0]["displayName"], "My Day");
    assert_eq!(dashboards["value"].as_array().map(Vec::len), Some(1));

    // Seeded names are taken like any other.
    let (status, body) = status_json(env.post_json("/groups", &json!({"name": "sales"}))?)?;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("PowerBIEntityAlreadyExists"))
    );
    Ok(())
}

#[test]
fn default_service_is_empty() -> Result<()> {
    let env = Env::new()?;
    for path in [
        "/groups",
        "/datasets",
        "/reports",
        "/dashboards",
        "/imports",
    ] {
        let (status, list) = status_json(env.get(path)?)?;
        assert_eq!(status, 200, "{path}");
        assert_eq!(list["value"], json!([]), "{path}");
    }
    Ok(())
}
