//! Requests a Power BI connector sends, checked against Microsoft's real description
//! (`shared/powerbi-api/swagger.json`, found by `locate`; never copied into the repository).

use std::path::Path;
use std::sync::OnceLock;

use swagger_check::{Matched, Swagger, locate};

/// The description, parsed once for all tests (it is 1.5 MB); `None` when absent.
fn swagger() -> Option<&'static Swagger> {
    static SWAGGER: OnceLock<Option<Swagger>> = OnceLock::new();
    SWAGGER
        .get_or_init(|| {
            let path = locate(Path::new(env!("CARGO_MANIFEST_DIR")))?;
            Some(Swagger::load(&path).unwrap_or_else(|e| panic!("{e}")))
        })
        .as_ref()
}

/// Returns the description, or prints the skip notice and returns `None`.
macro_rules! swagger_or_skip {
    () => {
        match swagger() {
            Some(s) => s,
            None => {
                println!("skipped: swagger.json not found");
                return;
            }
        }
    };
}

const JSON: Option<&str> = Some("application/json; charset=utf-8");
const DATASET: &str = r#"{"name":"Sales","defaultMode":"Push","tables":[{"name":"Product","columns":[{"name":"ProductID","dataType":"Int64"}]}]}"#;
const TABLE: &str = r#"{"name":"T","columns":[{"name":"Id","dataType":"Int64"},{"name":"When","dataType":"DateTime","formatString":"yyyy-MM-dd"}]}"#;
const ROWS: &str = r#"{"rows":[{"a":1}]}"#;
const DS: &str = "cfafbeb1-8037-4d0c-896e-a46fb27ff229";
const GROUP: &str = "f089354e-8366-4e18-aea3-4cb4a3a50b48";

fn ok(s: &Swagger, method: &str, path: &str, body: &str) -> Matched {
    let ct = (!body.is_empty()).then_some(JSON).flatten();
    s.validate(method, path, ct, body.as_bytes())
        .unwrap_or_else(|e| panic!("{method} {path} should validate: {e:#?}"))
}

fn errs(s: &Swagger, method: &str, path: &str, body: &str) -> Vec<String> {
    let ct = (!body.is_empty()).then_some(JSON).flatten();
    match s.validate(method, path, ct, body.as_bytes()) {
        Ok(m) => panic!("{method} {path} {body} should fail, matched {m:?}"),
        Err(e) => e,
    }
}

fn assert_error(errors: &[String], needles: &[&str]) {
    assert!(
        errors.iter().any(|e| needles.iter().all(|n| e.contains(n))),
        "no error containing {needles:?} in {errors:#?}"
    );
}

#[test]
fn connector_requests_in_my_workspace_validate() {
    let s = swagger_or_skip!();
    let cases = [
        (
            "POST",
            "/v1.0/myorg/datasets".to_string(),
            DATASET,
            "Datasets_PostDataset",
        ),
        (
            "POST",
            "/v1.0/myorg/datasets?defaultRetentionPolicy=basicFIFO".to_string(),
            DATASET,
            "Datasets_PostDataset",
        ),
        (
            "POST",
            format!("/v1.0/myorg/datasets/{DS}/tables/My%20Table/rows"),
            ROWS,
            "Datasets_PostRows",
        ),
        (
            "DELETE",
            format!("/v1.0/myorg/datasets/{DS}/tables/My%20Table/rows"),
            "",
            "Datasets_DeleteRows",
        ),
        (
            "PUT",
            format!("/v1.0/myorg/datasets/{DS}/tables/T"),
            TABLE,
            "Datasets_PutTable",
        ),
        (
            "GET",
            "/v1.0/myorg/groups?$top=10&$skip=5".to_string(),
            "",
            "Groups_GetGroups",
        ),
        (
            "GET",
            "/v1.0/myorg/groups?%24top=10&%24skip=5".to_string(),
            "",
            "Groups_GetGroups",
        ),
        (
            "GET",
            "/v1.0/myorg/groups?%24filter=contains(name%2C%27sales%27)".to_string(),
            "",
            "Groups_GetGroups",
        ),
        (
            "GET",
            "/v1.0/myorg/datasets".to_string(),
            "",
            "Datasets_GetDatasets",
        ),
        (
            "GET",
            "/v1.0/myorg/reports".to_string(),
            "",
            "Reports_GetReports",
        ),
        (
            "GET",
            format!("/v1.0/myorg/datasets/{DS}/tables"),
            "",
            "Datasets_GetTables",
        ),
        (
            "GET",
            "/v1.0/myorg/imports".to_string(),
            "",
            "Imports_GetImports",
        ),
    ];
    for (method, path, body, op) in cases {
        assert_eq!(
            ok(s, method, &path, body).operation_id,
            op,
            "{method} {path}"
        );
    }
}

#[test]
fn connector_requests_in_a_workspace_validate() {
    let s = swagger_or_skip!();
    let g = format!("/v1.0/myorg/groups/{GROUP}");
    let cases = [
        (
            "POST",
            format!("{g}/datasets"),
            DATASET,
            "Datasets_PostDatasetInGroup",
        ),
        (
            "POST",
            format!("{g}/datasets/{DS}/tables/Product/rows"),
            ROWS,
            "Datasets_PostRowsInGroup",
        ),
        (
            "DELETE",
            format!("{g}/datasets/{DS}/tables/Product/rows"),
            "",
            "Datasets_DeleteRowsInGroup",
        ),
        (
            "PUT",
            format!("{g}/datasets/{DS}/tables/T"),
            TABLE,
            "Datasets_PutTableInGroup",
        ),
        (
            "GET",
            format!("{g}/datasets"),
            "",
            "Datasets_GetDatasetsInGroup",
        ),
        (
            "GET",
            format!("{g}/reports"),
            "",
            "Reports_GetReportsInGroup",
        ),
        (
            "GET",
            format!("{g}/datasets/{DS}/tables"),
            "",
            "Datasets_GetTablesInGroup",
        ),
        (
            "GET",
            format!("{g}/imports"),
            "",
            "Imports_GetImportsInGroup",
        ),
    ];
    for (method, path, body, op) in cases {
        let m = ok(s, method, &path, body);
        assert_eq!(m.operation_id, op, "{method} {path}");
        assert!(
            m.path_template.starts_with("/v1.0/myorg/groups/{groupId}/"),
            "{m:?}"
        );
    }
}

#[test]
fn table_names_with_special_characters_are_decoded() {
    let s = swagger_or_skip!();
    // Space, #, @, ^ and ~ are legal in table names and must be percent-encoded in paths.
    let m = ok(
        s,
        "DELETE",
        &format!("/v1.0/myorg/datasets/{DS}/tables/Q1%20%23%40%5E~/rows"),
        "",
    );
    assert_eq!(
        m.path_template,
        "/v1.0/myorg/datasets/{datasetId}/tables/{tableName}/rows"
    );
}

#[test]
fn a_bare_array_rows_body_fails() {
    let s = swagger_or_skip!();
    let e = errs(
        s,
        "POST",
        &format!("/v1.0/myorg/datasets/{DS}/tables/T/rows"),
        r#"[{"a":1}]"#,
    );
    assert_error(
        &e,
        &["Datasets_PostRows", "body: expected object, got array"],
    );
}

#[test]
fn wrongly_cased_properties_fail() {
    let s = swagger_or_skip!();
    let e = errs(
        s,
        "POST",
        "/v1.0/myorg/datasets",
        r#"{"Name":"Sales","tables":[]}"#,
    );
    assert_error(&e, &["body at /Name", "did you mean \"name\""]);
    let e = errs(
        s,
        "PUT",
        &format!("/v1.0/myorg/datasets/{DS}/tables/T"),
        r#"{"name":"T","columns":[{"name":"a","DataType":"Int64"}]}"#,
    );
    assert_error(
        &e,
        &["body at /columns/0/DataType", "did you mean \"dataType\""],
    );
    let e = errs(
        s,
        "POST",
        &format!("/v1.0/myorg/datasets/{DS}/tables/T/rows"),
        r#"{"Rows":[]}"#,
    );
    assert_error(&e, &["body at /Rows"]);
}

#[test]
fn invalid_dataset_definitions_fail() {
    let s = swagger_or_skip!();
    let e = errs(
        s,
        "POST",
        "/v1.0/myorg/datasets",
        r#"{"name":"S","defaultMode":"push","tables":[]}"#,
    );
    assert_error(&e, &["body at /defaultMode", "\"Push\""]);
    let e = errs(s, "POST", "/v1.0/myorg/datasets", r#"{"name":"S"}"#);
    assert_error(&e, &["missing required property \"tables\""]);
    let e = errs(
        s,
        "POST",
        "/v1.0/myorg/datasets",
        r#"{"name":"S","tables":[{"name":"T","columns":[{"name":"c"}]}]}"#,
    );
    assert_error(
        &e,
        &[
            "body at /tables/0/columns/0",
            "missing required property \"dataType\"",
        ],
    );
    let e = errs(
        s,
        "POST",
        "/v1.0/myorg/datasets?defaultRetentionPolicy=fifo",
        DATASET,
    );
    assert_error(
        &e,
        &["query parameter \"defaultRetentionPolicy\"", "basicFIFO"],
    );
    assert_error(
        &errs(s, "POST", "/v1.0/myorg/datasets", ""),
        &["missing request body", "\"dataset\""],
    );
}

#[test]
fn table_names_are_pattern_checked() {
    let s = swagger_or_skip!();
    // Microsoft's Table.name pattern leaves out '.', '/', '!', '$', '%', '&' and others.
    let body = r#"{"name":"S","tables":[{"name":"Sales.2024","columns":[]}]}"#;
    let e = errs(s, "POST", "/v1.0/myorg/datasets", body);
    assert_error(&e, &["body at /tables/0/name", "pattern"]);
    ok(
        s,
        "POST",
        "/v1.0/myorg/datasets",
        r#"{"name":"S","tables":[{"name":"Sales 2024 #1","columns":[]}]}"#,
    );
}

#[test]
fn paging_parameters_exist_only_where_declared() {
    let s = swagger_or_skip!();
    let e = errs(s, "GET", "/v1.0/myorg/datasets?%24skipToken=abc", "");
    assert_error(&e, &["unknown query parameter \"$skipToken\""]);
    let e = errs(s, "GET", "/v1.0/myorg/groups?$skipToken=abc", "");
    assert_error(&e, &["\"$skipToken\"", "declared: $filter, $top, $skip"]);
    // No server paging on reports or datasets.
    assert_error(
        &errs(s, "GET", "/v1.0/myorg/reports?$top=5", ""),
        &["\"$top\""],
    );
    assert_error(
        &errs(s, "GET", "/v1.0/myorg/groups?$top=-", ""),
        &["\"$top\"", "integer"],
    );
}

#[test]
fn unknown_paths_and_methods_fail() {
    let s = swagger_or_skip!();
    assert_error(
        &errs(s, "GET", "/v1.0/myorg/nothing", ""),
        &["\"/v1.0/myorg/nothing\"", "no path template"],
    );
    assert_error(
        &errs(s, "GET", "/v1.0/myorg/Datasets", ""),
        &["no path template"],
    );
    // Without the /v1.0/myorg prefix nothing matches: the templates carry it.
    assert_error(&errs(s, "GET", "/datasets", ""), &["no path template"]);
    assert_error(
        &errs(s, "PUT", "/v1.0/myorg/datasets", ""),
        &["method PUT", "GET, POST"],
    );
    let e = errs(
        s,
        "GET",
        &format!("/v1.0/myorg/datasets/{DS}/tables/T/rows"),
        "",
    );
    assert_error(&e, &["method GET", "POST, DELETE"]);
}

#[test]
fn imports_take_multipart() {
    let s = swagger_or_skip!();
    let body = b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.pbix\"\r\nContent-Type: application/octet-stream\r\n\r\nPK\r\n--b0undary--\r\n";
    for path in [
        "/v1.0/myorg/imports?datasetDisplayName=r.pbix&nameConflict=CreateOrOverwrite".to_string(),
        format!("/v1.0/myorg/groups/{GROUP}/imports?datasetDisplayName=r.pbix"),
    ] {
        let m = s
            .validate(
                "POST",
                &path,
                Some("multipart/form-data; boundary=b0undary"),
                body,
            )
            .unwrap_or_else(|e| panic!("{path}: {e:#?}"));
        assert!(m.operation_id.starts_with("Imports_PostImport"), "{m:?}");
        // A raw request that forces JSON over the multipart body is caught.
        let e = s.validate("POST", &path, JSON, body).unwrap_err();
        assert_error(&e, &["not valid JSON"]);
    }
    // `datasetDisplayName` is a required query parameter of the import.
    let e = s
        .validate(
            "POST",
            "/v1.0/myorg/imports",
            Some("multipart/form-data; boundary=b0undary"),
            body,
        )
        .unwrap_err();
    assert_error(
        &e,
        &["missing required query parameter \"datasetDisplayName\""],
    );
    let e = s
        .validate(
            "POST",
            "/v1.0/myorg/imports?datasetDisplayName=r.pbix",
            Some("multipart/form-data"),
            body,
        )
        .unwrap_err();
    assert_error(&e, &["no boundary"]);
}

#[test]
fn quirks_of_microsofts_description_callers_meet() {
    let s = swagger_or_skip!();
    // Column.dataType has no enum: Microsoft's own loose spellings ("bool") pass.
    ok(
        s,
        "POST",
        "/v1.0/myorg/datasets",
        r#"{"name":"S","tables":[{"name":"T","columns":[{"name":"a","dataType":"bool"}]}]}"#,
    );
    // PostRowsRequest does not require `rows`: an empty object passes.
    ok(
        s,
        "POST",
        &format!("/v1.0/myorg/datasets/{DS}/tables/T/rows"),
        "{}",
    );
    // Refresh takes an optional body: none at all is fine.
    ok(
        s,
        "POST",
        &format!("/v1.0/myorg/datasets/{DS}/refreshes"),
        "",
    );
    // Operations without a body parameter reject a body, even `{}`.
    let e = errs(
        s,
        "POST",
        &format!("/v1.0/myorg/groups/{GROUP}/datasets/{DS}/Default.TakeOver"),
        "{}",
    );
    assert_error(&e, &["declares no body parameter"]);
    // RefreshSchedule declares `NotifyOption` in PascalCase, while Microsoft's own example
    // sends `notifyOption`: the camelCase spelling is reported.
    let e = errs(
        s,
        "PATCH",
        &format!("/v1.0/myorg/datasets/{DS}/refreshSchedule"),
        r#"{"value":{"notifyOption":"MailOnFailure"}}"#,
    );
    assert_error(
        &e,
        &[
            "body at /value/notifyOption",
            "did you mean \"NotifyOption\"",
        ],
    );
    // OData-style key segments are templates too.
    let m = ok(
        s,
        "GET",
        &format!("/v1.0/myorg/groups/{GROUP}/scorecards({DS})"),
        "",
    );
    assert_eq!(
        m.path_template,
        "/v1.0/myorg/groups/{groupId}/scorecards({scorecardId})"
    );
}
