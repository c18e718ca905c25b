//! Refresh Dataset, Get Refresh History, Get Refresh Execution Details; capacities.

mod common;

use std::time::Duration;

use anyhow::{Context, Result};
use common::{Env, entity_not_found, status_json};
use pbi_service::ServiceConfig;
use reqwest::blocking::Response;
use serde_json::{Value, json};

/// Refreshes that end on the second read, and `Retry-After: 0`.
fn fast() -> ServiceConfig {
    ServiceConfig {
        refresh_duration: Duration::ZERO,
        poll_retry_after: Some(0),
        ..ServiceConfig::default()
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && s.matches('-').count() == 4
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The status, error code and message of an error answer.
fn error(r: Response) -> Result<(u16, String, String)> {
    let (status, body) = status_json(r)?;
    Ok((
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ))
}

/// A refresh history read: its `value`, and its `Retry-After`.
fn history(env: &Env, path: &str) -> Result<(Vec<Value>, Option<String>)> {
    let r = env.get(path)?;
    let retry = header(&r, "retry-after");
    let (status, body) = status_json(r)?;
    anyhow::ensure!(status == 200, "{path}: {status} {body}");
    let value = body["value"].as_array().cloned().context("value")?;
    Ok((value, retry))
}

#[test]
fn a_refresh_runs_until_read_then_completes_in_both_scopes() -> Result<()> {
    let env = Env::with_config(fast())?;
    let gid = env.svc.add_group("Reporting");
    for (group, scope) in [
        (None, String::new()),
        (Some(gid.as_str()), format!("/groups/{gid}")),
    ] {
        let id = env.svc.add_dataset(group, "Model", false, Value::Null);
        let path = format!("{scope}/datasets/{id}/refreshes");

        // No body at all: 202, empty, and without the enhanced-refresh headers.
        let r = env.post_raw(&path, None, Vec::new())?;
        assert_eq!(r.status().as_u16(), 202);
        assert!(header(&r, "location").is_none());
        assert!(header(&r, "x-ms-request-id").is_none());
        assert_eq!(r.text()?, "");

        let r = env.get(&path)?;
        assert_eq!(header(&r, "retry-after").as_deref(), Some("0"));
        let (status, body) = status_json(r)?;
        assert_eq!(status, 200);
        let context = body["@odata.context"].as_str().context("context")?;
        assert_eq!(
            context,
            format!(
                "{}/v1.0/myorg{scope}/$metadata#refreshes",
                env.svc.base_url()
            )
        );
        let first = &body["value"][0];
        assert_eq!(body["value"].as_array().map(Vec::len), Some(1));
        assert_eq!(first["status"], "Unknown");
        assert_eq!(first["refreshType"], "ViaApi");
        assert!(first["requestId"].as_str().is_some_and(is_guid), "{first}");
        assert!(first["id"].is_u64(), "{first}");
        assert!(
            first["startTime"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert!(first.get("endTime").is_none());
        assert!(first.get("serviceExceptionJson").is_none());

        // Still running: another request is refused.
        let (status, code, message) = error(env.post_json(&path, &json!({}))?)?;
        assert_eq!((status, code.as_str()), (400, "InvalidRequest"));
        assert_eq!(
            message,
            "Invalid dataset refresh request. Another refresh request is already executing"
        );

        // The second read finds it done.
        let (value, retry) = history(&env, &path)?;
        assert_eq!(retry, None);
        assert_eq!(value[0]["status"], "Completed");
        assert_eq!(value[0]["requestId"], first["requestId"]);
        assert!(value[0]["endTime"].is_string());
        assert_eq!(value[0]["refreshAttempts"][0]["type"], "Data");
        assert_eq!(env.svc.refreshes(&id), value);

        // With notifyOption: another entry, newest first, with a larger id.
        let r = env.post_json(&path, &json!({"notifyOption": "MailOnFailure"}))?;
        assert_eq!(r.status().as_u16(), 202);
        let (value, _) = history(&env, &path)?;
        assert_eq!(value.len(), 2);
        assert_eq!(value[0]["status"], "Unknown");
        assert!(value[0]["id"].as_u64() > value[1]["id"].as_u64());
        assert_eq!(value[1]["status"], "Completed");
    }
    Ok(())
}

#[test]
fn refresh_duration_keeps_a_refresh_running() -> Result<()> {
    // The default configuration: 2 s, and Retry-After 1.
    let env = Env::new()?;
    let id = env.svc.add_dataset(None, "Model", false, Value::Null);
    let path = format!("/datasets/{id}/refreshes");
    assert_eq!(env.post_raw(&path, None, "")?.status().as_u16(), 202);
    for _ in 0..3 {
        let (value, retry) = history(&env, &path)?;
        assert_eq!(value[0]["status"], "Unknown");
        assert_eq!(retry.as_deref(), Some("1"));
    }
    // Without poll_retry_after, no header.
    let env = Env::with_config(ServiceConfig {
        poll_retry_after: None,
        ..ServiceConfig::default()
    })?;
    let id = env.svc.add_dataset(None, "Model", false, Value::Null);
    let path = format!("/datasets/{id}/refreshes");
    env.post_raw(&path, None, "")?;
    let (value, retry) = history(&env, &path)?;
    assert_eq!(
        (value[0]["status"].as_str(), retry),
        (Some("Unknown"), None)
    );
    Ok(())
}

#[test]
fn refresh_bodies_are_checked() -> Result<()> {
    let env = Env::with_config(fast())?;
    let id = env.svc.add_dataset(None, "Model", false, Value::Null);
    let path = format!("/datasets/{id}/refreshes");
    for (body, code, needle) in [
        (
            json!({"notifyOption": "Always"}),
            "BadRequest",
            "notifyOption",
        ),
        (
            json!({"notifyOption": "mailonfailure"}),
            "BadRequest",
            "notifyOption",
        ),
        (json!({"notifyOption": 1}), "BadRequest", "string"),
        (
            json!({"NotifyOption": "MailOnFailure"}),
            "BadRequest",
            "NotifyOption",
        ),
        (
            json!({"notify": true}),
            "BadRequest",
            "DatasetRefreshRequest",
        ),
        (json!([1]), "BadRequest", "object"),
        (
            json!({"type": "Full"}),
            "InvalidRequest",
            "shared capacities",
        ),
        (
            json!({"notifyOption": "NoNotification", "retryCount": 1}),
            "InvalidRequest",
            "shared capacities",
        ),
    ] {
        let (status, got, message) = error(env.post_json(&path, &body)?)?;
        assert_eq!((status, got.as_str()), (400, code), "{body}: {message}");
        assert!(message.contains(needle), "{body}: {message}");
    }
    let r = env.post_raw(&path, Some("text/plain"), "{}")?;
    assert_eq!(r.status().as_u16(), 415);
    let (status, code, _) = error(env.post_raw(&path, Some("application/json"), "{")?)?;
    assert_eq!((status, code.as_str()), (400, "BadRequest"));
    // Nothing was started by the refused requests.
    assert!(env.svc.refreshes(&id).is_empty());
    // JSON null is no body.
    let r = env.post_raw(&path, Some("application/json"), "null")?;
    assert_eq!(r.status().as_u16(), 202);
    Ok(())
}

#[test]
fn push_datasets_cannot_be_refreshed_but_have_a_history() -> Result<()> {
    let env = Env::with_config(fast())?;
    let id = env.simple_dataset("T")?;
    let path = format!("/datasets/{id}/refreshes");
    let (status, code, message) = error(env.post_raw(&path, None, "")?)?;
    assert_eq!((status, code.as_str()), (400, "InvalidRequest"));
    assert!(message.contains("push dataset"), "{message}");
    assert!(message.contains("cannot be refreshed"), "{message}");
    let (value, retry) = history(&env, &path)?;
    assert!(value.is_empty());
    assert_eq!(retry, None);
    Ok(())
}

#[test]
fn shared_capacity_allows_a_few_refreshes_a_day() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        refreshes_per_day: 2,
        ..fast()
    })?;
    let shared = env.svc.add_group("Shared");
    let dedicated = env.svc.add_group("Premium");
    env.svc.set_dedicated_capacity(&dedicated, true);
    for (gid, limited) in [(&shared, true), (&dedicated, false)] {
        let id = env.svc.add_dataset(Some(gid), "Model", false, Value::Null);
        let path = format!("/groups/{gid}/datasets/{id}/refreshes");
        for _ in 0..2 {
            assert_eq!(env.post_raw(&path, None, "")?.status().as_u16(), 202);
            history(&env, &path)?;
            history(&env, &path)?;
        }
        let r = env.post_raw(&path, None, "")?;
        if limited {
            let (status, code, message) = error(r)?;
            assert_eq!((status, code.as_str()), (400, "InvalidRequest"));
            assert!(message.contains("exceeded the daily limit"), "{message}");
            assert_eq!(env.svc.refreshes(&id).len(), 2);
        } else {
            assert_eq!(r.status().as_u16(), 202);
        }
    }
    Ok(())
}

#[test]
fn marked_datasets_fail_their_refreshes() -> Result<()> {
    let env = Env::with_config(fast())?;
    let id = env.svc.add_dataset(None, "Model", false, Value::Null);
    let path = format!("/datasets/{id}/refreshes");
    env.svc.fail_refreshes(
        &id.to_uppercase(),
        "ModelRefreshFailed_CredentialsNotSpecified",
    );
    env.post_raw(&path, None, "")?;
    history(&env, &path)?;
    let (value, _) = history(&env, &path)?;
    let failed = &value[0];
    assert_eq!(failed["status"], "Failed");
    assert!(failed["endTime"].is_string());
    let exception: Value = serde_json::from_str(
        failed["serviceExceptionJson"]
            .as_str()
            .context("serviceExceptionJson")?,
    )?;
    assert_eq!(
        exception["errorCode"],
        "ModelRefreshFailed_CredentialsNotSpecified"
    );
    assert!(exception["errorDescription"].is_string());
    assert_eq!(
        failed["refreshAttempts"][0]["serviceExceptionJson"],
        failed["serviceExceptionJson"]
    );

    env.svc.clear_refresh_failures(&id);
    env.post_raw(&path, None, "")?;
    history(&env, &path)?;
    let (value, _) = history(&env, &path)?;
    assert_eq!(value[0]["status"], "Completed");
    assert!(value[0].get("serviceExceptionJson").is_none());
    Ok(())
}

#[test]
fn enhanced_refresh_on_dedicated_capacity() -> Result<()> {
    let env = Env::with_config(fast())?;
    let gid = env.svc.add_group("Premium");
    env.svc.set_dedicated_capacity(&gid, true);
    let id = env.svc.add_dataset(Some(&gid), "Model", false, Value::Null);
    let path = format!("/groups/{gid}/datasets/{id}/refreshes");

    // Wrong shapes are 400 even here.
    for body in [
        json!({"type": "Everything"}),
        json!({"retryCount": -1}),
        json!({"objects": [{"table": "T", "column": "C"}]}),
        json!({"objects": [{"partition": "P"}]}),
        json!({"applyRefreshPolicy": "maybe"}),
    ] {
        let (status, code, _) = error(env.post_json(&path, &body)?)?;
        assert_eq!((status, code.as_str()), (400, "BadRequest"), "{body}");
    }

    // Microsoft's own example body, loosely typed.
    let r = env.post_json(
        &path,
        &json!({"type": "full", "commitMode": "transactional",
                "objects": [{"table": "Customer", "partition": "Robert"}],
                "applyRefreshPolicy": "false"}),
    )?;
    assert_eq!(r.status().as_u16(), 202);
    let request_id = header(&r, "x-ms-request-id").context("x-ms-request-id")?;
    assert!(is_guid(&request_id));
    let location = header(&r, "location").context("location")?;
    assert_eq!(
        location,
        format!(
            "{}/v1.0/myorg/groups/{gid}/datasets/{id}/refreshes/{request_id}",
            env.svc.base_url()
        )
    );

    // Execution details: 202 while running, then 200.
    let r = env.get_url(&location)?;
    assert_eq!(header(&r, "retry-after").as_deref(), Some("0"));
    let (status, details) = status_json(r)?;
    assert_eq!(status, 202, "{details}");
    assert_eq!(details["status"], "Unknown");
    assert_eq!(details["type"], "Full");
    assert_eq!(details["commitMode"], "Transactional");
    assert_eq!(details["objects"][0]["table"], "Customer");
    let (status, details) = status_json(env.get_url(&location)?)?;
    assert_eq!(status, 200, "{details}");
    assert_eq!(details["status"], "Completed");
    assert_eq!(details["objects"][0]["status"], "Completed");
    let (value, _) = history(&env, &path)?;
    assert_eq!(value[0]["refreshType"], "ViaEnhancedApi");
    assert_eq!(value[0]["requestId"], request_id.as_str());

    // notifyOption alone on dedicated capacity: a plain refresh, no headers.
    let r = env.post_json(&path, &json!({"notifyOption": "NoNotification"}))?;
    assert_eq!(r.status().as_u16(), 202);
    assert!(header(&r, "location").is_none());
    let (value, _) = history(&env, &path)?;
    let plain = value[0]["requestId"].as_str().context("requestId")?;
    // A plain refresh has no execution details.
    let r = env.get(&format!("{path}/{plain}"))?;
    assert_eq!(status_json(r)?, (404, entity_not_found()));

    // Back on shared capacity, enhanced refresh is refused.
    history(&env, &path)?;
    env.svc.set_dedicated_capacity(&gid, false);
    let (status, code, _) = error(env.post_json(&path, &json!({"type": "Full"}))?)?;
    assert_eq!((status, code.as_str()), (400, "InvalidRequest"));
    Ok(())
}

#[test]
fn history_top_and_length() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        refreshes_per_day: 0,
        ..fast()
    })?;
    let id = env.svc.add_dataset(None, "Model", false, Value::Null);
    let path = format!("/datasets/{id}/refreshes");
    for _ in 0..61 {
        assert_eq!(env.post_raw(&path, None, "")?.status().as_u16(), 202);
        history(&env, &format!("{path}?$top=1"))?;
        history(&env, &format!("{path}?$top=1"))?;
    }
    let (value, _) = history(&env, &path)?;
    assert_eq!(value.len(), 60);
    let (value, _) = history(&env, &format!("{path}?%24top=3"))?;
    assert_eq!(value.len(), 3);
    for bad in ["0", "-1", "x", ""] {
        let (status, code, _) = error(env.get(&format!("{path}?$top={bad}"))?)?;
        assert_eq!((status, code.as_str()), (400, "BadRequest"), "$top={bad}");
    }
    Ok(())
}

#[test]
fn refresh_routes_find_datasets_in_their_scope_only() -> Result<()> {
    let env = Env::with_config(fast())?;
    let gid = env.svc.add_group("A");
    let other = env.svc.add_group("B");
    let id = env.svc.add_dataset(Some(&gid), "Model", false, Value::Null);
    for path in [
        format!("/datasets/{id}/refreshes"),
        format!("/groups/{other}/datasets/{id}/refreshes"),
        format!("/groups/{gid}/datasets/00000000-0000-0000-0000-000000000000/refreshes"),
        format!("/groups/00000000-0000-0000-0000-000000000000/datasets/{id}/refreshes"),
    ] {
        assert_eq!(
            status_json(env.get(&path)?)?,
            (404, entity_not_found()),
            "{path}"
        );
        let r = env.post_raw(&path, None, "")?;
        assert_eq!(status_json(r)?, (404, entity_not_found()), "{path}");
    }
    // Ids compare ignoring case; authentication comes first.
    let path = format!("/groups/{gid}/datasets/{}/refreshes", id.to_uppercase());
    assert_eq!(env.post_raw(&path, None, "")?.status().as_u16(), 202);
    let r = env.http.get(env.url(&path)).send()?;
    assert_eq!(r.status().as_u16(), 401);
    let log = env.svc.requests();
    let last = log.last().context("logged")?;
    assert_eq!((last.method.as_str(), last.status), ("GET", 401));
    Ok(())
}

#[test]
fn dedicated_capacity_shows_in_the_group() -> Result<()> {
    let env = Env::new()?;
    let gid = env.svc.add_group("Premium");
    env.svc.set_dedicated_capacity(&gid, true);
    let (_, group) = status_json(env.get(&format!("/groups/{gid}"))?)?;
    assert_eq!(group["isOnDedicatedCapacity"], true);
    assert!(group["capacityId"].as_str().is_some_and(is_guid), "{group}");
    env.svc.set_dedicated_capacity(&gid, false);
    let (_, list) = status_json(env.get("/groups")?)?;
    assert_eq!(list["value"][0]["isOnDedicatedCapacity"], false);
    assert!(list["value"][0].get("capacityId").is_none());
    Ok(())
}

#[test]
fn the_seed_puts_sales_on_dedicated_capacity() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        seed: true,
        ..fast()
    })?;
    let (_, list) = status_json(env.get("/groups")?)?;
    let capacity: Vec<(&str, bool)> = list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            (
                g["name"].as_str().unwrap_or_default(),
                g["isOnDedicatedCapacity"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        capacity,
        [("Sales", true), ("Finance", false), ("Operations", false)]
    );
    // The seeded models stay refreshable.
    let gid = list["value"][1]["id"].as_str().context("id")?;
    let (_, datasets) = status_json(env.get(&format!("/groups/{gid}/datasets"))?)?;
    let model = &datasets["value"][1];
    assert_eq!(model["name"], "Finance Model");
    let path = format!(
        "/groups/{gid}/datasets/{}/refreshes",
        model["id"].as_str().context("id")?
    );
    assert_eq!(env.post_raw(&path, None, "")?.status().as_u16(), 202);
    Ok(())
}
