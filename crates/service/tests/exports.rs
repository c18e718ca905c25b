//! Export To File, its status and its file: life cycle, formats, capacity, errors, scopes.

mod common;

use std::io::{Cursor, Read as _};
use std::time::Duration;

use anyhow::{Context, Result};
use common::{Env, entity_not_found, status_json};
use pbi_service::ServiceConfig;
use reqwest::blocking::Response;
use serde_json::{Value, json};

/// Jobs that move one state per status read, and `Retry-After: 0`.
fn fast() -> ServiceConfig {
    ServiceConfig {
        export_step: Duration::ZERO,
        poll_retry_after: Some(0),
        ..ServiceConfig::default()
    }
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A workspace on dedicated capacity with a Power BI report; its scope and the report id.
fn premium_report(env: &Env, name: &str) -> (String, String) {
    let gid = env.svc.add_group("Premium");
    env.svc.set_dedicated_capacity(&gid, true);
    let report = env.svc.add_report(Some(&gid), name, None);
    (format!("/groups/{gid}"), report)
}

/// Starts an export; the job.
fn start(env: &Env, scope: &str, report: &str, body: &Value) -> Result<Value> {
    let r = env.post_json(&format!("{scope}/reports/{report}/ExportTo"), body)?;
    assert_eq!(header(&r, "retry-after").as_deref(), Some("0"));
    let (status, job) = status_json(r)?;
    anyhow::ensure!(status == 202, "{status} {job}");
    Ok(job)
}

/// A status read: the HTTP status, the job, and the `Retry-After`.
fn status(env: &Env, scope: &str, report: &str, id: &str) -> Result<(u16, Value, Option<String>)> {
    let r = env.get(&format!("{scope}/reports/{report}/exports/{id}"))?;
    let retry = header(&r, "retry-after");
    let (code, job) = status_json(r)?;
    Ok((code, job, retry))
}

/// Reads the status until the job is done (at most a few reads); the final job.
fn finish(env: &Env, scope: &str, report: &str, id: &str) -> Result<Value> {
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (code, job, retry) = status(env, scope, report, id)?;
        seen.push((code, job["status"].as_str().unwrap_or_default().to_owned()));
        if code == 200 {
            assert_eq!(retry, None);
            return Ok(job);
        }
        assert_eq!(retry.as_deref(), Some("0"));
    }
    anyhow::bail!("never finished: {seen:?}")
}

fn check_pdf(bytes: &[u8], name: &str) {
    assert!(bytes.starts_with(b"%PDF-1.4\n"));
    assert!(bytes.ends_with(b"%%EOF\n"));
    let text = String::from_utf8_lossy(bytes).into_owned();
    let at = text.rfind("startxref\n").expect("startxref") + 10;
    let xref: usize = text[at..]
        .lines()
        .next()
        .expect("offset")
        .parse()
        .expect("number");
    assert!(bytes[xref..].starts_with(b"xref\n"));
    let table = String::from_utf8_lossy(&bytes[xref..]).into_owned();
    for (i, entry) in table
        .lines()
        .skip(3)
        .take_while(|l| l.ends_with(" n "))
        .enumerate()
    {
        let offset: usize = entry[..10].parse().expect("offset");
        assert!(
            bytes[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
            "object {}",
            i + 1
        );
    }
    assert!(text.contains(&format!("({name})")), "the name in the text");
}

fn check_pptx(bytes: &[u8], name: &str) -> Result<()> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.to_vec()))?;
    let mut slide = String::new();
    zip.by_name("ppt/slides/slide1.xml")?
        .read_to_string(&mut slide)?;
    assert!(slide.contains(&format!("<a:t>{name}</a:t>")), "{slide}");
    let mut types = String::new();
    zip.by_name("[Content_Types].xml")?
        .read_to_string(&mut types)?;
    assert!(types.contains("presentationml.presentation.main+xml"));
    for part in [
        "_rels/.rels",
        "ppt/presentation.xml",
        "ppt/_rels/presentation.xml.rels",
        "ppt/slideMasters/slideMaster1.xml",
        "ppt/slideLayouts/slideLayout1.xml",
        "ppt/theme/theme1.xml",
    ] {
        zip.by_name(part).with_context(|| part.to_owned())?;
    }
    Ok(())
}

fn check_png(bytes: &[u8], name: &str) -> Result<()> {
    let mut reader = png::Decoder::new(Cursor::new(bytes.to_vec())).read_info()?;
    let mut buf = vec![0; reader.output_buffer_size().context("size")?];
    let frame = reader.next_frame(&mut buf)?;
    assert!(frame.width > 0 && frame.height > 0);
    let title = reader
        .info()
        .utf8_text
        .iter()
        .find(|t| t.keyword == "Title")
        .and_then(|t| t.get_text().ok());
    assert_eq!(title.as_deref(), Some(name));
    Ok(())
}

#[test]
fn each_format_exports_a_real_file() -> Result<()> {
    let env = Env::with_config(fast())?;
    let (scope, report) = premium_report(&env, "Sales Overview");
    for (format, ext, content_type) in [
        ("PDF", ".pdf", "application/pdf"),
        (
            "PPTX",
            ".pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        ("PNG", ".png", "image/png"),
    ] {
        let job = start(&env, &scope, &report, &json!({"format": format}))?;
        assert_eq!(job["status"], "NotStarted");
        assert_eq!(job["percentComplete"], 0);
        assert_eq!(job["reportId"], report.as_str());
        assert_eq!(job["reportName"], "Sales Overview");
        assert!(job["createdDateTime"].is_string());
        assert!(job["lastActionDateTime"].is_string());
        assert!(job.get("resourceLocation").is_none());
        let id = job["id"].as_str().context("id")?;

        // The file does not exist before the job succeeded.
        let file_path = format!("{scope}/reports/{report}/exports/{id}/file");
        assert_eq!(
            status_json(env.get(&file_path)?)?,
            (404, entity_not_found())
        );

        // NotStarted, Running, Succeeded on consecutive reads.
        let (code, job, retry) = status(&env, &scope, &report, id)?;
        assert_eq!((code, job["status"].as_str()), (202, Some("NotStarted")));
        assert_eq!(retry.as_deref(), Some("0"));
        let (code, job, _) = status(&env, &scope, &report, id)?;
        assert_eq!((code, job["status"].as_str()), (202, Some("Running")));
        let percent = job["percentComplete"].as_i64().context("percent")?;
        assert!((1..100).contains(&percent), "{percent}");
        let (code, job, retry) = status(&env, &scope, &report, id)?;
        assert_eq!(
            (code, job["status"].as_str()),
            (200, Some("Succeeded")),
            "{job}"
        );
        assert_eq!(retry, None);
        assert_eq!(job["percentComplete"], 100);
        assert_eq!(job["ResourceFileExtension"], ext);
        assert!(job["expirationTime"].is_string());
        let location = job["resourceLocation"]
            .as_str()
            .context("resourceLocation")?;
        assert_eq!(
            location,
            format!("{}/v1.0/myorg{file_path}", env.svc.base_url())
        );

        let r = env.get_url(location)?;
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(header(&r, "content-type").as_deref(), Some(content_type));
        assert_eq!(
            header(&r, "content-disposition"),
            Some(format!("attachment; filename=\"Sales Overview{ext}\""))
        );
        let bytes = r.bytes()?;
        match format {
            "PDF" => check_pdf(&bytes, "Sales Overview"),
            "PPTX" => check_pptx(&bytes, "Sales Overview")?,
            _ => check_png(&bytes, "Sales Overview")?,
        }
        // Reading again is stable.
        let (code, again, _) = status(&env, &scope, &report, id)?;
        assert_eq!((code, &again), (200, &job));
    }
    Ok(())
}

#[test]
fn pages_and_settings_are_accepted() -> Result<()> {
    let env = Env::with_config(fast())?;
    let (scope, report) = premium_report(&env, "Pages");
    let job = start(
        &env,
        &scope,
        &report,
        &json!({"format": "PDF", "powerBIReportConfiguration": {
            "settings": {"locale": "en-US", "includeHiddenPages": false},
            "pages": [{"pageName": "ReportSection1"}, {"pageName": "ReportSection2", "visualName": "v1"}]
        }}),
    )?;
    let id = job["id"].as_str().context("id")?;
    finish(&env, &scope, &report, id)?;
    let bytes = env
        .get(&format!("{scope}/reports/{report}/exports/{id}/file"))?
        .bytes()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(text.contains("ReportSection1, ReportSection2"));
    Ok(())
}

#[test]
fn shared_capacity_cannot_export() -> Result<()> {
    let env = Env::with_config(fast())?;
    let shared = env.svc.add_group("Shared");
    for (scope, report) in [
        (String::new(), env.svc.add_report(None, "Mine", None)),
        (
            format!("/groups/{shared}"),
            env.svc.add_report(Some(&shared), "Theirs", None),
        ),
    ] {
        let (status, body) = status_json(env.post_json(
            &format!("{scope}/reports/{report}/ExportTo"),
            &json!({"format": "PDF"}),
        )?)?;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "FeatureNotAvailableError");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("Premium, Embedded or Fabric capacity"),
            "{message}"
        );
    }
    Ok(())
}

#[test]
fn export_requests_are_checked() -> Result<()> {
    let env = Env::with_config(fast())?;
    let (scope, report) = premium_report(&env, "Checked");
    let path = format!("{scope}/reports/{report}/ExportTo");
    for (body, target) in [
        (json!({}), "requestParameters.format"),
        (json!({"format": "pdf"}), "requestParameters.format"),
        (json!({"format": "JPEG"}), "requestParameters.format"),
        (json!({"format": "XLSX"}), "requestParameters.format"),
        (json!({"format": "CSV"}), "requestParameters.format"),
        (json!({"format": "IMAGE"}), "requestParameters.format"),
        (
            json!({"format": "PDF", "Format": "PDF"}),
            "requestParameters.Format",
        ),
        (
            json!({"format": "PDF", "powerBIReportConfiguration": []}),
            "requestParameters.powerBIReportConfiguration",
        ),
        (
            json!({"format": "PDF", "powerBIReportConfiguration": {"pages": [{"name": "p"}]}}),
            "requestParameters.powerBIReportConfiguration.pages[0].name",
        ),
        (
            json!({"format": "PDF", "powerBIReportConfiguration": {"pages": [{}]}}),
            "requestParameters.powerBIReportConfiguration.pages[0].pageName",
        ),
        (
            json!({"format": "PDF", "paginatedReportConfiguration": {}}),
            "requestParameters.paginatedReportConfiguration",
        ),
    ] {
        let (status, answer) = status_json(env.post_json(&path, &body)?)?;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "BadRequest", "{body}");
        assert_eq!(answer["error"]["details"][0]["target"], target, "{body}");
    }
    let r = env.post_raw(&path, Some("text/plain"), "{\"format\":\"PDF\"}")?;
    assert_eq!(r.status().as_u16(), 415);
    Ok(())
}

#[test]
fn marked_reports_fail_their_exports() -> Result<()> {
    let env = Env::with_config(fast())?;
    let (scope, report) = premium_report(&env, "Broken");
    env.svc.fail_exports(&report);
    let job = start(&env, &scope, &report, &json!({"format": "PPTX"}))?;
    let id = job["id"].as_str().context("id")?;
    let done = finish(&env, &scope, &report, id)?;
    assert_eq!(done["status"], "Failed");
    assert!(done.get("resourceLocation").is_none());
    let file = format!("{scope}/reports/{report}/exports/{id}/file");
    assert_eq!(status_json(env.get(&file)?)?, (404, entity_not_found()));

    env.svc.clear_export_failures(&report);
    let job = start(&env, &scope, &report, &json!({"format": "PPTX"}))?;
    let id = job["id"].as_str().context("id")?;
    assert_eq!(finish(&env, &scope, &report, id)?["status"], "Succeeded");
    Ok(())
}

#[test]
fn export_step_keeps_a_job_waiting() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        export_step: Duration::from_secs(60),
        ..fast()
    })?;
    let (scope, report) = premium_report(&env, "Slow");
    let job = start(&env, &scope, &report, &json!({"format": "PNG"}))?;
    let id = job["id"].as_str().context("id")?;
    for _ in 0..3 {
        let (code, job, _) = status(&env, &scope, &report, id)?;
        assert_eq!((code, job["status"].as_str()), (202, Some("NotStarted")));
    }
    Ok(())
}

#[test]
fn exports_are_found_in_their_scope_only() -> Result<()> {
    let env = Env::with_config(fast())?;
    let (scope, report) = premium_report(&env, "Scoped");
    let job = start(&env, &scope, &report, &json!({"format": "PDF"}))?;
    let id = job["id"].as_str().context("id")?;
    let other = env.svc.add_group("Other");
    let unknown = "00000000-0000-0000-0000-000000000000";
    for path in [
        format!("/reports/{report}/exports/{id}"),
        format!("/groups/{other}/reports/{report}/exports/{id}"),
        format!("{scope}/reports/{unknown}/exports/{id}"),
        format!("{scope}/reports/{report}/exports/nope"),
        format!("{scope}/reports/{report}/exports/nope/file"),
    ] {
        assert_eq!(
            status_json(env.get(&path)?)?,
            (404, entity_not_found()),
            "{path}"
        );
    }
    // An export of another report of the same workspace is not found under this one.
    let second = env
        .svc
        .add_report(Some(&scope["/groups/".len()..]), "Second", None);
    let path = format!("{scope}/reports/{second}/exports/{id}");
    assert_eq!(status_json(env.get(&path)?)?, (404, entity_not_found()));
    for path in [
        format!("/reports/{report}/ExportTo"),
        format!("{scope}/reports/{unknown}/ExportTo"),
    ] {
        let r = env.post_json(&path, &json!({"format": "PDF"}))?;
        assert_eq!(status_json(r)?, (404, entity_not_found()), "{path}");
    }
    // Authentication first.
    let r = env
        .http
        .get(env.url(&format!("{scope}/reports/{report}/exports/{id}")))
        .send()?;
    assert_eq!(r.status().as_u16(), 401);
    Ok(())
}

#[test]
fn names_beyond_ascii_get_an_rfc_5987_file_name() -> Result<()> {
    let env = Env::with_config(fast())?;
    let (scope, report) = premium_report(&env, "Ventes Été");
    let job = start(&env, &scope, &report, &json!({"format": "PDF"}))?;
    let id = job["id"].as_str().context("id")?;
    finish(&env, &scope, &report, id)?;
    let r = env.get(&format!("{scope}/reports/{report}/exports/{id}/file"))?;
    assert_eq!(
        header(&r, "content-disposition").as_deref(),
        Some(
            "attachment; filename=\"Ventes _t_.pdf\"; filename*=UTF-8''Ventes%20%C3%89t%C3%A9%2Epdf"
        )
    );
    Ok(())
}

#[test]
fn the_seeded_sales_report_exports() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        seed: true,
        ..fast()
    })?;
    let (_, groups) = status_json(env.get("/groups")?)?;
    for (i, allowed) in [(0, true), (1, false), (2, false)] {
        let gid = groups["value"][i]["id"].as_str().context("id")?;
        let scope = format!("/groups/{gid}");
        let (_, reports) = status_json(env.get(&format!("{scope}/reports"))?)?;
        let report = reports["value"][0]["id"].as_str().context("report")?;
        let r = env.post_json(
            &format!("{scope}/reports/{report}/ExportTo"),
            &json!({"format": "PDF"}),
        )?;
        assert_eq!(r.status().as_u16(), if allowed { 202 } else { 403 });
    }
    // My workspace is shared capacity.
    let (_, mine) = status_json(env.get("/reports")?)?;
    let report = mine["value"][0]["id"].as_str().context("report")?;
    let r = env.post_json(
        &format!("/reports/{report}/ExportTo"),
        &json!({"format": "PNG"}),
    )?;
    assert_eq!(r.status().as_u16(), 403);
    Ok(())
}
