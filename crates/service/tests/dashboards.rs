//! Get Dashboards (My workspace) and Get Dashboards In Group: the list, its shape against
//! Swagger's `Dashboards`, the scope, workspaces the user cannot see, Delete Group.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Result;
use common::{Env, entity_not_found, status_json};
use serde_json::{Map, Value, json};

fn display_names(list: &Value) -> Vec<String> {
    list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["displayName"].as_str().map(str::to_owned))
        .collect()
}

/// Microsoft's description: `POWERBI_SWAGGER`, else `shared/powerbi-api/swagger.json` beside
/// an ancestor of this crate (as `swagger_check::locate` finds it); `None` when absent.
fn swagger() -> Option<&'static Value> {
    static SWAGGER: OnceLock<Option<Value>> = OnceLock::new();
    SWAGGER
        .get_or_init(|| {
            let from_env = std::env::var_os("POWERBI_SWAGGER")
                .map(PathBuf::from)
                .filter(|p| p.is_file());
            let path = from_env.or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .ancestors()
                    .map(|d| d.join("shared").join("powerbi-api").join("swagger.json"))
                    .find(|p| p.is_file())
            })?;
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("swagger.json: {e}")))
        })
        .as_ref()
}

/// Validates `value` against a Swagger 2.0 schema, strictly: `$ref`, `allOf`, `type`,
/// `format: uuid`, `enum`, `required`, `items`, and (unlike JSON Schema's default) no
/// property the schema does not declare, so that the emulator answers only what Microsoft
/// documents.
fn check_schema(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/definitions/");
        return check_schema(doc, &doc["definitions"][name], value, at, errors);
    }
    // `allOf` merges the properties and required lists of its parts.
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut parts = vec![schema.clone()];
    while let Some(part) = parts.pop() {
        if let Some(r) = part["$ref"].as_str() {
            parts.push(doc["definitions"][r.trim_start_matches("#/definitions/")].clone());
            continue;
        }
        if let Some(all) = part["allOf"].as_array() {
            parts.extend(all.iter().cloned());
        }
        if let Some(p) = part["properties"].as_object() {
            properties.extend(p.clone());
        }
        if let Some(r) = part["required"].as_array() {
            required.extend(r.iter().cloned());
        }
    }
    let ty = schema["type"]
        .as_str()
        .or((!properties.is_empty()).then_some("object"));
    let type_ok = match ty {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!("{at}: expected {ty:?}, got {value}"));
        return;
    }
    if schema["format"] == "uuid" {
        let s = value.as_str().unwrap_or_default();
        if uuid::Uuid::parse_str(s).is_err() || s.len() != 36 {
            errors.push(format!("{at}: not a uuid: {s}"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check_schema(doc, items, item, &format!("{at}[{i}]"), errors);
        }
    }
    if let Some(object) = value.as_object() {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{at}: required property {name} missing"));
            }
        }
        for (key, v) in object {
            match properties.get(key) {
                Some(s) => check_schema(doc, s, v, &format!("{at}.{key}"), errors),
                None => errors.push(format!("{at}: property {key} is not in the schema")),
            }
        }
    }
}

/// A list answer of Get Dashboards (In Group), checked against Swagger's `Dashboards` when
/// the description is there, and by hand always. `@odata.context` is checked apart: Swagger
/// spells it `odata.context`, the live service (and the emulator) `@odata.context`.
fn assert_dashboards_shape(env: &Env, list: &Value, group: Option<&str>) {
    let scope = match group {
        None => format!("{}/v1.0/myorg", env.svc.base_url()),
        Some(g) => format!("{}/v1.0/myorg/groups/{g}", env.svc.base_url()),
    };
    assert_eq!(
        list["@odata.context"],
        format!("{scope}/$metadata#dashboards")
    );
    assert!(list.get("@odata.nextLink").is_none(), "{list}");
    let mut rest = list.clone();
    rest.as_object_mut()
        .map(|m| m.remove("@odata.context"))
        .expect("an object");
    match swagger() {
        Some(doc) => {
            let mut errors = Vec::new();
            check_schema(
                doc,
                &json!({"$ref": "#/definitions/Dashboards"}),
                &rest,
                "answer",
                &mut errors,
            );
            assert!(errors.is_empty(), "{errors:#?} in {list}");
        }
        None => println!("swagger check skipped: swagger.json not found"),
    }
    for d in list["value"].as_array().expect("value is an array") {
        let keys: Vec<&str> = d
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            ["id", "displayName", "isReadOnly", "webUrl", "embedUrl"],
            "{d}"
        );
        let id = d["id"].as_str().unwrap_or_default();
        assert_eq!((id.len(), id.matches('-').count()), (36, 4), "{d}");
        assert_eq!(d["isReadOnly"], false);
        let embed = match group {
            None => format!("https://app.powerbi.com/dashboardEmbed?dashboardId={id}"),
            Some(g) => {
                format!("https://app.powerbi.com/dashboardEmbed?dashboardId={id}&groupId={g}")
            }
        };
        assert_eq!(d["embedUrl"], embed);
        let web = format!(
            "https://app.powerbi.com/groups/{}/dashboards/{id}",
            group.unwrap_or("me")
        );
        assert_eq!(d["webUrl"], web);
    }
}

#[test]
fn the_schema_check_catches_what_swagger_does_not_allow() {
    let Some(doc) = swagger() else {
        println!("skipped: swagger.json not found");
        return;
    };
    let schema = json!({"$ref": "#/definitions/Dashboards"});
    let id = "69ffaa6c-b36d-4d01-96f5-1ed67c64d4af";
    let mut errors = Vec::new();
    check_schema(
        doc,
        &schema,
        &json!({"value": [{"id": id, "displayName": "SalesMarketing", "isReadOnly": false}]}),
        "ok",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:?}");
    for bad in [
        json!({"value": [{"displayName": "No id"}]}),
        json!({"value": [{"id": "not-a-guid"}]}),
        json!({"value": [{"id": id, "name": "name is a report's"}]}),
        json!({"value": [{"id": id, "isReadOnly": "false"}]}),
        json!({"value": {"id": id}}),
    ] {
        let mut errors = Vec::new();
        check_schema(doc, &schema, &bad, "bad", &mut errors);
        assert!(!errors.is_empty(), "{bad} passed");
    }
}

#[test]
fn dashboards_are_listed_in_my_workspace() -> Result<()> {
    let env = Env::new()?;
    // Empty at first.
    let (status, list) = status_json(env.get("/dashboards")?)?;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["value"], json!([]));
    assert_dashboards_shape(&env, &list, None);

    let first = env.svc.add_dashboard(None, "SalesMarketing");
    let second = env.svc.add_dashboard(None, "Été 2024 / #1");
    // The same name twice is allowed, as Power BI allows it.
    let third = env.svc.add_dashboard(None, "SalesMarketing");
    // A workspace's dashboard is not My workspace's.
    let gid = env.svc.add_group("W");
    env.svc.add_dashboard(Some(&gid), "Elsewhere");

    let (status, list) = status_json(env.get("/dashboards")?)?;
    assert_eq!(status, 200, "{list}");
    assert_dashboards_shape(&env, &list, None);
    assert_eq!(
        display_names(&list),
        ["SalesMarketing", "Été 2024 / #1", "SalesMarketing"]
    );
    let ids: Vec<&str> = list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str(), third.as_str()]);
    // The helper sees what the API answers.
    assert_eq!(
        Some(&env.svc.dashboards(None)),
        list["value"].as_array(),
        "{list}"
    );
    // No server paging: $top and $skip are not Get Dashboards parameters.
    let (status, paged) = status_json(env.get("/dashboards?$top=1&$skip=1")?)?;
    assert_eq!(status, 200);
    assert_eq!(paged["value"], list["value"]);
    Ok(())
}

#[test]
fn dashboards_are_listed_per_workspace() -> Result<()> {
    let env = Env::new()?;
    let sales = env.svc.add_group("Sales");
    let empty = env.svc.add_group("Empty");
    let d1 = env.svc.add_dashboard(Some(&sales), "Pulse");
    let d2 = env.svc.add_dashboard(Some(&sales), "Targets");
    env.svc.add_dashboard(None, "Mine");

    let (status, list) = status_json(env.get(&format!("/groups/{sales}/dashboards"))?)?;
    assert_eq!(status, 200, "{list}");
    assert_dashboards_shape(&env, &list, Some(&sales));
    assert_eq!(display_names(&list), ["Pulse", "Targets"]);
    assert_eq!(list["value"][0]["id"], d1.as_str());
    assert_eq!(list["value"][1]["id"], d2.as_str());
    assert_eq!(
        Some(&env.svc.dashboards(Some(&sales))),
        list["value"].as_array()
    );

    // The workspace id in upper case names the same workspace; the answer names the
    // canonical id.
    let (status, upper) =
        status_json(env.get(&format!("/groups/{}/dashboards", sales.to_uppercase()))?)?;
    assert_eq!(status, 200);
    assert_eq!(upper, list);

    // A workspace without dashboards.
    let (status, none) = status_json(env.get(&format!("/groups/{empty}/dashboards"))?)?;
    assert_eq!(status, 200);
    assert_eq!(none["value"], json!([]));
    assert_dashboards_shape(&env, &none, Some(&empty));
    assert!(env.svc.dashboards(Some(&empty)).is_empty());

    // Deleting the workspace deletes its dashboards; My workspace keeps its own.
    let r = env.delete(&format!("/groups/{sales}"))?;
    assert_eq!(r.status().as_u16(), 200);
    assert!(env.svc.dashboards(Some(&sales)).is_empty());
    let (status, body) = status_json(env.get(&format!("/groups/{sales}/dashboards"))?)?;
    assert_eq!((status, body), (404, entity_not_found()));
    assert_eq!(env.svc.dashboards(None).len(), 1);
    Ok(())
}

#[test]
fn hidden_unknown_and_malformed_workspaces_have_no_dashboards() -> Result<()> {
    let env = Env::new()?;
    let hidden = env.svc.add_hidden_group("Board");
    let secret = env.svc.add_dashboard(Some(&hidden), "Secret");
    // The helper sees the whole tenant.
    assert_eq!(env.svc.dashboards(Some(&hidden))[0]["id"], secret.as_str());
    for g in [
        hidden.clone(),
        hidden.to_uppercase(),
        "0f084df7-c13d-451b-af5f-ed0c466403b2".to_owned(),
        "not-a-guid".to_owned(),
        hidden.replace('-', ""),
        // A dashboard's id is no workspace's id.
        secret.clone(),
        String::new(),
    ] {
        let (status, body) = status_json(env.get(&format!("/groups/{g}/dashboards"))?)?;
        assert_eq!((status, body), (404, entity_not_found()), "{g:?}");
    }
    // Not in My workspace's list either.
    let (_, mine) = status_json(env.get("/dashboards")?)?;
    assert_eq!(mine["value"], json!([]));
    Ok(())
}

#[test]
fn listing_needs_a_token_and_only_get() -> Result<()> {
    let env = Env::new()?;
    let gid = env.svc.add_group("W");
    for path in [
        "/dashboards".to_owned(),
        format!("/groups/{gid}/dashboards"),
    ] {
        let r = env.http.get(env.url(&path)).send()?;
        assert_eq!(r.status().as_u16(), 401, "{path}");
        // Add Dashboard is not emulated.
        let r = env.post_json(&path, &json!({"name": "New"}))?;
        assert_eq!(r.status().as_u16(), 405, "{path}");
    }
    assert!(env.svc.dashboards(None).is_empty());
    Ok(())
}

#[test]
fn the_seed_has_a_dashboard_per_workspace_and_in_my_workspace() -> Result<()> {
    let env = Env::with_config(pbi_service::ServiceConfig::seeded())?;
    let ids = env.svc.seed_demo();
    for (gid, want) in ids
        .iter()
        .zip(["Sales Pulse", "Finance Summary", "Site Monitor"])
    {
        let (status, list) = status_json(env.get(&format!("/groups/{gid}/dashboards"))?)?;
        assert_eq!(status, 200, "{list}");
        assert_dashboards_shape(&env, &list, Some(gid));
        assert_eq!(display_names(&list), [want]);
    }
    let (_, mine) = status_json(env.get("/dashboards")?)?;
    assert_dashboards_shape(&env, &mine, None);
    assert_eq!(display_names(&mine), ["My Day"]);
    // Seeding again added none.
    assert_eq!(env.svc.dashboards(None).len(), 1);
    // The helper answers an empty list for an unknown workspace.
    assert!(
        env.svc
            .dashboards(Some("0f084df7-c13d-451b-af5f-ed0c466403b2"))
            .is_empty()
    );
    Ok(())
}
