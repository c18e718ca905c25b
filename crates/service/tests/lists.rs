//! List Groups (server-side paging and filter), List Reports, Imports.

mod common;

use anyhow::{Context, Result};
use common::{Env, status_json};
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<String> {
    list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn groups_top_and_skip() -> Result<()> {
    let env = Env::new()?;
    for n in ["g0", "g1", "g2", "g3", "g4"] {
        env.svc.add_group(n);
    }
    let cases = [
        ("", vec!["g0", "g1", "g2", "g3", "g4"]),
        ("?$top=2", vec!["g0", "g1"]),
        ("?$skip=3", vec!["g3", "g4"]),
        ("?$skip=1&$top=2", vec!["g1", "g2"]),
        ("?%24top=1&%24skip=4", vec!["g4"]),
        ("?$top=0", vec![]),
        ("?$skip=9", vec![]),
    ];
    for (query, want) in cases {
        let (status, list) = status_json(env.get(&format!("/groups{query}"))?)?;
        assert_eq!(status, 200, "{query}");
        assert_eq!(names(&list), want, "{query}");
        assert!(list.get("@odata.nextLink").is_none());
    }
    let (_, list) = status_json(env.get("/groups?$top=1")?)?;
    assert_eq!(list["value"][0]["isReadOnly"], false);
    assert_eq!(list["value"][0]["id"].as_str().map(str::len), Some(36));
    assert!(
        list["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with("$metadata#groups"))
    );
    for bad in ["?$top=-1", "?$top=two", "?$skip=1.5"] {
        let (status, body) = status_json(env.get(&format!("/groups{bad}"))?)?;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("BadRequest")),
            "{bad}"
        );
    }
    Ok(())
}

#[test]
fn groups_filter() -> Result<()> {
    let env = Env::new()?;
    for n in ["sample group", "marketing group", "contoso", "O'Brien"] {
        env.svc.add_group(n);
    }
    let cases = [
        ("name eq 'contoso'", vec!["contoso"]),
        (
            "contains(name,'marketing') or name eq 'contoso'",
            vec!["marketing group", "contoso"],
        ),
        (
            "endswith(name,'group') and not startswith(name,'sample')",
            vec!["marketing group"],
        ),
        ("name eq 'o''brien'", vec!["O'Brien"]),
    ];
    for (filter, want) in cases {
        let q = common::encode_segment(filter);
        let (status, list) = status_json(env.get(&format!("/groups?$filter={q}"))?)?;
        assert_eq!(status, 200, "{filter}");
        assert_eq!(names(&list), want, "{filter}");
    }
    // Filter first, then paging.
    let q = common::encode_segment("endswith(name,'group')");
    let (_, list) = status_json(env.get(&format!("/groups?$filter={q}&$skip=1"))?)?;
    assert_eq!(names(&list), ["marketing group"]);
    // An unsupported filter is an error, never ignored.
    let q = common::encode_segment("capacityId eq 'x'");
    let (status, body) = status_json(env.get(&format!("/groups?$filter={q}"))?)?;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["details"][0]["target"], "$filter");
    Ok(())
}

#[test]
fn reports_are_listed_per_workspace() -> Result<()> {
    let env = Env::new()?;
    let gid = env.svc.add_group("W");
    let ds = env.svc.add_dataset(None, "D", false, json!(null));
    let mine = env.svc.add_report(None, "Mine", Some(&ds));
    let theirs = env.svc.add_report(Some(&gid), "Theirs", None);

    let (status, list) = status_json(env.get("/reports")?)?;
    assert_eq!(status, 200);
    assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
    let r = &list["value"][0];
    assert_eq!(
        (r["id"].as_str(), r["name"].as_str()),
        (Some(mine.as_str()), Some("Mine"))
    );
    assert_eq!(r["datasetId"], ds.as_str());
    assert!(r["embedUrl"].as_str().is_some_and(|u| u.contains(&mine)));

    let (_, list) = status_json(env.get(&format!("/groups/{gid}/reports"))?)?;
    assert_eq!(list["value"][0]["id"], theirs.as_str());
    assert!(list["value"][0].get("datasetId").is_none());
    assert!(
        list["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with(&format!("/groups/{gid}/$metadata#reports")))
    );
    Ok(())
}

fn multipart(boundary: &str, filename: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[test]
fn imports_accept_multipart_uploads() -> Result<()> {
    let env = Env::new()?;
    let boundary = "f05e5244-f876-43b9-bc87-d71598f6b32a";
    let upload = |query: &str, content_type: &str, body: Vec<u8>| {
        env.http
            .post(env.url(&format!("/imports{query}")))
            .bearer_auth(&env.token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let ct = format!("multipart/form-data; boundary={boundary}");
    let r = upload(
        "?datasetDisplayName=Sales.pbix&nameConflict=Ignore",
        &ct,
        multipart(boundary, "Sales.pbix", b"PK\x03\x04 not really a pbix"),
    )?;
    let (status, answer) = status_json(r)?;
    assert_eq!(status, 202, "{answer}");
    let import_id = answer["id"].as_str().context("import id")?.to_owned();

    let (status, list) = status_json(env.get("/imports")?)?;
    assert_eq!(status, 200);
    let import = &list["value"][0];
    assert_eq!(import["id"], import_id.as_str());
    assert_eq!(import["name"], "Sales");
    assert_eq!(import["importState"], "Succeeded");
    // The import created a dataset (not a push one) and a report.
    let datasets = env.svc.datasets(None);
    assert_eq!(datasets.len(), 1);
    assert_eq!(datasets[0]["name"], "Sales");
    assert_eq!(datasets[0]["addRowsAPIEnabled"], false);
    assert_eq!(import["datasets"][0]["id"], datasets[0]["id"]);
    assert_eq!(env.svc.reports(None).len(), 1);
    let (status, one) = status_json(env.get(&format!("/imports/{import_id}"))?)?;
    assert_eq!((status, &one["id"]), (200, &json!(import_id)));
    assert_eq!(env.svc.imports(None).len(), 1);

    // The display name is required.
    let r = upload("", &ct, multipart(boundary, "a.pbix", b"x"))?;
    assert_eq!(r.status().as_u16(), 400);
    // A JSON content type over a multipart body (a known connector bug) is refused.
    let r = upload(
        "?datasetDisplayName=a.pbix",
        "application/json",
        multipart(boundary, "a.pbix", b"x"),
    )?;
    assert_eq!(r.status().as_u16(), 415);
    // A body that does not use the declared boundary.
    let r = upload(
        "?datasetDisplayName=a.pbix",
        &ct,
        multipart("other-boundary", "a.pbix", b"x"),
    )?;
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(env.svc.imports(None).len(), 1);

    // In a workspace, with skipReport.
    let gid = env.svc.add_group("W");
    let r = env
        .http
        .post(env.url(&format!(
            "/groups/{gid}/imports?datasetDisplayName=B.pbix&skipReport=true"
        )))
        .bearer_auth(&env.token)
        .header("Content-Type", &ct)
        .body(multipart(boundary, "B.pbix", b"data"))
        .send()?;
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(env.svc.datasets(Some(&gid)).len(), 1);
    assert!(env.svc.reports(Some(&gid)).is_empty());
    assert_eq!(env.svc.imports(Some(&gid)).len(), 1);
    Ok(())
}
