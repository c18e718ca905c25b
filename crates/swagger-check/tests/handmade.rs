//! Each validation rule, against a small hand-made Swagger 2.0 document.

use serde_json::{Value, json};
use swagger_check::{Matched, Swagger};

fn doc() -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "test", "version": "1"},
        "consumes": [],
        "paths": {
            "/v1.0/myorg/datasets": {
                "get": {"operationId": "ListDatasets", "parameters": []},
                "post": {
                    "operationId": "PostDataset",
                    "consumes": ["application/json"],
                    "parameters": [
                        {"name": "dataset", "in": "body", "required": true,
                         "schema": {"$ref": "#/definitions/CreateDataset"}},
                        {"name": "defaultRetentionPolicy", "in": "query", "required": false,
                         "type": "string", "enum": ["None", "basicFIFO"]}
                    ]
                }
            },
            "/v1.0/myorg/datasets/{datasetId}": {
                "get": {"operationId": "GetDataset", "parameters": [
                    {"name": "datasetId", "in": "path", "required": true, "type": "string"}
                ]},
                "delete": {"operationId": "DeleteDataset", "parameters": []}
            },
            "/v1.0/myorg/datasets/upstream": {
                "get": {"operationId": "GetUpstream", "parameters": []}
            },
            "/v1.0/myorg/datasets/{datasetId}/tables/{tableName}/rows": {
                "post": {
                    "operationId": "PostRows",
                    "parameters": [
                        {"name": "datasetId", "in": "path", "required": true, "type": "string"},
                        {"name": "tableName", "in": "path", "required": true, "type": "string"},
                        {"name": "requestMessage", "in": "body", "required": true,
                         "schema": {"$ref": "#/definitions/PostRows"}}
                    ]
                },
                "delete": {"operationId": "DeleteRows", "parameters": []}
            },
            "/v1.0/myorg/groups": {
                "get": {
                    "operationId": "ListGroups",
                    "parameters": [
                        {"name": "$filter", "in": "query", "required": false, "type": "string"},
                        {"name": "$top", "in": "query", "required": false, "type": "integer",
                         "format": "int32", "minimum": 1},
                        {"name": "$skip", "in": "query", "required": false, "type": "integer"}
                    ]
                }
            },
            "/v1.0/myorg/groups/{groupId}/things": {
                "parameters": [
                    {"$ref": "#/parameters/GroupId"},
                    {"name": "mode", "in": "query", "required": true, "type": "string"}
                ],
                "get": {
                    "operationId": "ListThings",
                    "parameters": [
                        {"name": "verbose", "in": "query", "required": false, "type": "boolean"},
                        // Overrides the path-level `mode`: optional here.
                        {"name": "mode", "in": "query", "required": false, "type": "string"}
                    ]
                },
                "post": {
                    "operationId": "PostThing",
                    "parameters": [
                        {"name": "thing", "in": "body", "required": false,
                         "schema": {"$ref": "#/definitions/Thing"}}
                    ]
                }
            },
            "/v1.0/myorg/groups/{groupId}/scorecards({scorecardId})": {
                "get": {"operationId": "GetScorecard", "parameters": [
                    {"$ref": "#/parameters/GroupId"},
                    {"name": "scorecardId", "in": "path", "required": true, "type": "string"}
                ]}
            },
            "/v1.0/myorg/imports": {
                "post": {
                    "operationId": "PostImport",
                    "consumes": ["application/json", "multipart/form-data"],
                    "parameters": [
                        {"name": "datasetDisplayName", "in": "query", "required": true, "type": "string"},
                        {"name": "importInfo", "in": "body", "required": true,
                         "schema": {"$ref": "#/definitions/ImportInfo"}}
                    ]
                }
            },
            "/v1.0/myorg/upload": {
                "post": {
                    "operationId": "Upload",
                    "consumes": ["application/octet-stream"],
                    "parameters": [
                        {"name": "file", "in": "body", "required": true, "schema": {"type": "string"}}
                    ]
                }
            },
            "/v1.0/myorg/refreshUserPermissions": {
                "post": {"operationId": "Refresh", "parameters": []}
            }
        },
        "parameters": {
            "GroupId": {"name": "groupId", "in": "path", "required": true, "type": "string"}
        },
        "definitions": {
            "CreateDataset": {
                "required": ["name", "tables"],
                "properties": {
                    "name": {"type": "string", "maxLength": 20},
                    "defaultMode": {"type": "string", "enum": ["Push", "Streaming"]},
                    "tables": {"type": "array", "items": {"$ref": "#/definitions/Table"}}
                }
            },
            "Table": {
                "required": ["name", "columns"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[\\x20\\x30-\\x39\\x41-\\x5A\\x61-\\x7A]{1,10}$"},
                    "columns": {"type": "array", "items": {"$ref": "#/definitions/Column"}}
                }
            },
            "Column": {
                "required": ["name", "dataType"],
                "properties": {
                    "name": {"type": "string"},
                    "dataType": {"type": "string"},
                    "isHidden": {"type": "boolean"},
                    "ordinal": {"type": "integer", "format": "int32"},
                    "weight": {"type": "number"}
                }
            },
            "PostRows": {
                "properties": {
                    "rows": {"type": "array", "items": {"type": "object"}}
                }
            },
            "Base": {
                "properties": {
                    "id": {"type": "string", "readOnly": true},
                    "kind": {"type": "string"}
                },
                "required": ["kind", "id"]
            },
            "Thing": {
                "allOf": [
                    {"$ref": "#/definitions/Base"},
                    {"properties": {
                        "label": {"type": "string"},
                        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                        "extra": {"type": "object", "additionalProperties": true,
                                  "properties": {"known": {"type": "integer"}}},
                        "closed": {"type": "object", "additionalProperties": false},
                        "anything": {"type": "object"},
                        "untyped": {}
                    }}
                ]
            },
            "ImportInfo": {
                "properties": {"filePath": {"type": "string"}}
            }
        }
    })
}

fn swagger() -> Swagger {
    Swagger::from_value(doc()).expect("valid test document")
}

fn ok(method: &str, path: &str, body: &str) -> Matched {
    let ct = (!body.is_empty()).then_some("application/json");
    match swagger().validate(method, path, ct, body.as_bytes()) {
        Ok(m) => m,
        Err(errors) => panic!("{method} {path} should validate: {errors:#?}"),
    }
}

fn errs(method: &str, path: &str, body: &str) -> Vec<String> {
    let ct = (!body.is_empty()).then_some("application/json");
    match swagger().validate(method, path, ct, body.as_bytes()) {
        Ok(m) => panic!("{method} {path} {body} should fail, matched {m:?}"),
        Err(errors) => errors,
    }
}

/// Asserts that some error contains every one of `needles`.
fn assert_error(errors: &[String], needles: &[&str]) {
    assert!(
        errors.iter().any(|e| needles.iter().all(|n| e.contains(n))),
        "no error containing {needles:?} in {errors:#?}"
    );
}

// ---- loading ----

#[test]
fn from_value_rejects_non_swagger_and_dangling_refs() {
    let err = Swagger::from_value(json!({"openapi": "3.0.0", "paths": {}})).unwrap_err();
    assert!(err.contains("Swagger 2.0"), "{err}");
    let err = Swagger::from_value(json!({"swagger": "2.0"})).unwrap_err();
    assert!(err.contains("paths"), "{err}");
    let mut bad = doc();
    bad["definitions"]["Table"]["properties"]["columns"]["items"]["$ref"] =
        json!("#/definitions/Nope");
    let err = Swagger::from_value(bad).unwrap_err();
    assert!(err.contains("#/definitions/Nope"), "{err}");
    let bad = json!({"swagger": "2.0", "paths": {"/a/{b": {}}});
    assert!(Swagger::from_value(bad).unwrap_err().contains("braces"));
}

#[test]
fn load_reports_missing_files() {
    let err = Swagger::load(std::path::Path::new("/nonexistent/swagger.json")).unwrap_err();
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn base_path_is_prefixed() {
    let d = json!({"swagger": "2.0", "basePath": "/api/", "paths": {"/items": {"get": {"operationId": "Items"}}}});
    let s = Swagger::from_value(d).unwrap();
    let m = s.validate("GET", "/api/items", None, b"").unwrap();
    assert_eq!(m.path_template, "/api/items");
    assert!(s.validate("GET", "/items", None, b"").is_err());
}

// ---- paths ----

#[test]
fn matches_templates_and_reports_them() {
    let m = ok("DELETE", "/v1.0/myorg/datasets/abc/tables/Product/rows", "");
    assert_eq!(m.operation_id, "DeleteRows");
    assert_eq!(
        m.path_template,
        "/v1.0/myorg/datasets/{datasetId}/tables/{tableName}/rows"
    );
}

#[test]
fn path_segments_are_percent_decoded_before_matching() {
    // An encoded slash stays inside its segment: still one table name.
    let m = ok(
        "DELETE",
        "/v1.0/myorg/datasets/abc/tables/My%20Table%2F%23x/rows",
        "",
    );
    assert_eq!(m.operation_id, "DeleteRows");
    // Encoded literal segments match their decoded form.
    assert_eq!(
        ok("GET", "/v1.0/myorg/%64atasets", "").operation_id,
        "ListDatasets"
    );
    let e = errs("GET", "/v1.0/myorg/datasets/%FF", "");
    assert_error(&e, &["not UTF-8"]);
}

#[test]
fn literal_segments_are_case_sensitive() {
    let e = errs("GET", "/v1.0/myorg/Datasets", "");
    assert_error(&e, &["/v1.0/myorg/Datasets", "matches no path template"]);
}

#[test]
fn unknown_paths_and_empty_segments_fail() {
    assert_error(
        &errs("GET", "/v1.0/myorg/nothing", ""),
        &["\"/v1.0/myorg/nothing\""],
    );
    // A parameter never matches an empty segment.
    assert_error(
        &errs("DELETE", "/v1.0/myorg/datasets//tables/T/rows", ""),
        &["matches no path template"],
    );
    assert_error(
        &errs("GET", "/v1.0/myorg/datasets/", ""),
        &["matches no path template"],
    );
    assert_error(
        &errs("GET", "v1.0/myorg/datasets", ""),
        &["does not start with '/'"],
    );
}

#[test]
fn most_literal_template_wins() {
    assert_eq!(
        ok("GET", "/v1.0/myorg/datasets/upstream", "").operation_id,
        "GetUpstream"
    );
    assert_eq!(
        ok("GET", "/v1.0/myorg/datasets/other", "").operation_id,
        "GetDataset"
    );
}

#[test]
fn odata_key_segments_match() {
    let m = ok("GET", "/v1.0/myorg/groups/g1/scorecards(abc-123)", "");
    assert_eq!(m.operation_id, "GetScorecard");
    assert_eq!(
        m.path_template,
        "/v1.0/myorg/groups/{groupId}/scorecards({scorecardId})"
    );
    assert!(
        swagger()
            .validate("GET", "/v1.0/myorg/groups/g1/scorecards()", None, b"")
            .is_err()
    );
}

// ---- methods ----

#[test]
fn method_names_compare_case_insensitively() {
    assert_eq!(
        ok("get", "/v1.0/myorg/datasets", "").operation_id,
        "ListDatasets"
    );
}

#[test]
fn undefined_methods_fail_and_list_the_defined_ones() {
    let e = errs("PATCH", "/v1.0/myorg/datasets", "");
    assert_error(&e, &["method PATCH", "GET, POST"]);
    let e = errs("BREW", "/v1.0/myorg/datasets", "");
    assert_error(&e, &["method BREW"]);
}

#[test]
fn a_literal_route_without_the_method_falls_back_to_a_parameterised_one() {
    // `/datasets/upstream` defines only GET; `/datasets/{datasetId}` defines DELETE.
    assert_eq!(
        ok("DELETE", "/v1.0/myorg/datasets/upstream", "").operation_id,
        "DeleteDataset"
    );
    // When no candidate has the method, the most specific template is named.
    let e = errs("POST", "/v1.0/myorg/datasets/upstream", "");
    assert_error(
        &e,
        &[
            "method POST",
            "template /v1.0/myorg/datasets/upstream;",
            "defined: GET",
        ],
    );
}

// ---- query ----

#[test]
fn encoded_query_names_are_decoded() {
    let m = ok("GET", "/v1.0/myorg/groups?%24top=10&$skip=5", "");
    assert_eq!(m.operation_id, "ListGroups");
    ok(
        "GET",
        "/v1.0/myorg/groups?%24filter=contains(name%2C%27a%27)+or+name+eq+%27b%27",
        "",
    );
}

#[test]
fn unknown_query_parameters_fail() {
    let e = errs("GET", "/v1.0/myorg/datasets?%24skipToken=abc", "");
    assert_error(
        &e,
        &[
            "unknown query parameter \"$skipToken\"",
            "declares no query parameters",
        ],
    );
    let e = errs("GET", "/v1.0/myorg/groups?$Top=1", "");
    assert_error(&e, &["\"$Top\"", "did you mean \"$top\""]);
    let e = errs("GET", "/v1.0/myorg/groups?$count=true", "");
    assert_error(&e, &["\"$count\"", "$filter, $top, $skip"]);
}

#[test]
fn query_values_are_typed() {
    assert_error(
        &errs("GET", "/v1.0/myorg/groups?$top=ten", ""),
        &["\"$top\"", "expected an integer"],
    );
    assert_error(
        &errs("GET", "/v1.0/myorg/groups?$top=0", ""),
        &["\"$top\"", "minimum"],
    );
    assert_error(
        &errs("GET", "/v1.0/myorg/groups?$top=3000000000", ""),
        &["\"$top\"", "int32"],
    );
    assert_error(
        &errs("GET", "/v1.0/myorg/groups?$top", ""),
        &["\"$top\"", "expected an integer"],
    );
    ok("GET", "/v1.0/myorg/groups/g/things?verbose=true", "");
    assert_error(
        &errs("GET", "/v1.0/myorg/groups/g/things?verbose=yes", ""),
        &["\"verbose\"", "true or false"],
    );
    ok(
        "POST",
        "/v1.0/myorg/datasets?defaultRetentionPolicy=basicFIFO",
        r#"{"name":"a","tables":[]}"#,
    );
    let e = errs(
        "POST",
        "/v1.0/myorg/datasets?defaultRetentionPolicy=fifo",
        r#"{"name":"a","tables":[]}"#,
    );
    assert_error(
        &e,
        &["\"defaultRetentionPolicy\"", "allowed values", "basicFIFO"],
    );
}

#[test]
fn repeated_query_parameters_fail() {
    assert_error(
        &errs("GET", "/v1.0/myorg/groups?$top=1&%24top=2", ""),
        &["\"$top\"", "more than once"],
    );
}

#[test]
fn required_query_parameters_and_path_level_overrides() {
    // Path-level `mode` is required, but the GET overrides it as optional.
    ok("GET", "/v1.0/myorg/groups/g/things", "");
    // POST inherits the required path-level `mode`.
    let e = errs("POST", "/v1.0/myorg/groups/g/things", "");
    assert_error(&e, &["missing required query parameter \"mode\""]);
    let m = ok("POST", "/v1.0/myorg/groups/g/things?mode=a+b", "");
    assert_eq!(m.operation_id, "PostThing");
}

// ---- body ----

const DATASET: &str = r#"{"name":"Sales","defaultMode":"Push","tables":[{"name":"Product","columns":[{"name":"ProductID","dataType":"Int64"}]}]}"#;

#[test]
fn a_valid_body_validates() {
    assert_eq!(
        ok("POST", "/v1.0/myorg/datasets", DATASET).operation_id,
        "PostDataset"
    );
    // No content type with a JSON body: taken as JSON.
    let m = swagger().validate("POST", "/v1.0/myorg/datasets", None, DATASET.as_bytes());
    assert_eq!(m.unwrap().operation_id, "PostDataset");
    // Parameters after the media type are fine.
    let ct = Some("application/json; charset=utf-8");
    assert!(
        swagger()
            .validate("POST", "/v1.0/myorg/datasets", ct, DATASET.as_bytes())
            .is_ok()
    );
}

#[test]
fn missing_required_body_fails() {
    assert_error(
        &errs("POST", "/v1.0/myorg/datasets", ""),
        &["missing request body", "\"dataset\""],
    );
    // An optional body may be left out.
    ok("POST", "/v1.0/myorg/groups/g/things?mode=x", "");
}

#[test]
fn rows_body_must_be_an_object_not_a_bare_array() {
    let path = "/v1.0/myorg/datasets/d/tables/T/rows";
    ok("POST", path, r#"{"rows":[{"a":1,"b":"x","c":null}]}"#);
    let e = errs("POST", path, r#"[{"a":1}]"#);
    assert_error(&e, &["body: expected object, got array of 1 items"]);
    let e = errs("POST", path, r#"{"rows":[1]}"#);
    assert_error(&e, &["body at /rows/0", "expected object"]);
}

#[test]
fn property_names_are_case_sensitive() {
    let e = errs(
        "POST",
        "/v1.0/myorg/datasets",
        r#"{"Name":"Sales","tables":[]}"#,
    );
    assert_error(
        &e,
        &[
            "body at /Name",
            "unknown property \"Name\"",
            "did you mean \"name\"",
        ],
    );
    assert_error(
        &e,
        &[
            "body",
            "missing required property \"name\"",
            "found \"Name\"",
        ],
    );
}

#[test]
fn unknown_properties_fail_with_the_declared_list() {
    let body = r#"{"name":"S","tables":[{"name":"T","columns":[{"name":"c","dataType":"Int64","format":"x"}]}]}"#;
    let e = errs("POST", "/v1.0/myorg/datasets", body);
    assert_error(
        &e,
        &[
            "body at /tables/0/columns/0/format",
            "declared: name, dataType",
        ],
    );
}

#[test]
fn nested_required_types_enums_and_lengths() {
    let body = r#"{"name":"S","defaultMode":"push","tables":[{"name":"T","columns":[{"name":"c"},{"name":"d","dataType":5,"isHidden":"no","ordinal":1.5,"weight":0.5}]}]}"#;
    let e = errs("POST", "/v1.0/myorg/datasets", body);
    assert_error(
        &e,
        &[
            "body at /defaultMode",
            "\"push\" is not one of the allowed values",
        ],
    );
    assert_error(
        &e,
        &[
            "body at /tables/0/columns/0",
            "missing required property \"dataType\"",
        ],
    );
    assert_error(
        &e,
        &[
            "body at /tables/0/columns/1/dataType",
            "expected string, got number 5",
        ],
    );
    assert_error(
        &e,
        &["body at /tables/0/columns/1/isHidden", "expected boolean"],
    );
    assert_error(
        &e,
        &[
            "body at /tables/0/columns/1/ordinal",
            "expected integer, got number 1.5",
        ],
    );
    assert!(
        !e.iter().any(|x| x.contains("/weight")),
        "a float is a number: {e:#?}"
    );
    let e = errs(
        "POST",
        "/v1.0/myorg/datasets",
        r#"{"name":"123456789012345678901","tables":[]}"#,
    );
    assert_error(&e, &["body at /name", "maxLength 20"]);
    let e = errs(
        "POST",
        "/v1.0/myorg/datasets",
        r#"{"name":"S","tables":{}}"#,
    );
    assert_error(&e, &["body at /tables", "expected array, got object"]);
}

#[test]
fn integer_formats_are_range_checked() {
    let body = r#"{"name":"S","tables":[{"name":"T","columns":[{"name":"c","dataType":"x","ordinal":2147483648}]}]}"#;
    let e = errs("POST", "/v1.0/myorg/datasets", body);
    assert_error(&e, &["/ordinal", "int32"]);
}

#[test]
fn patterns_are_checked() {
    let body = r#"{"name":"S","tables":[{"name":"Sales.2024","columns":[]}]}"#;
    let e = errs("POST", "/v1.0/myorg/datasets", body);
    assert_error(
        &e,
        &["body at /tables/0/name", "does not match the pattern"],
    );
}

#[test]
fn null_fails_a_typed_schema() {
    let e = errs(
        "POST",
        "/v1.0/myorg/datasets",
        r#"{"name":null,"tables":[]}"#,
    );
    assert_error(&e, &["body at /name", "expected string, got null"]);
}

#[test]
fn all_of_merges_properties_and_required() {
    let path = "/v1.0/myorg/groups/g/things?mode=m";
    // `id` is readOnly in the description, but that does not forbid sending it.
    let m = ok(
        "POST",
        path,
        r#"{"id":"1","kind":"k","label":"l","tags":{"a":"b"},"extra":{"known":1,"free":[1]},"closed":{},"anything":{"x":{"y":1}},"untyped":[null]}"#,
    );
    assert_eq!(m.operation_id, "PostThing");
    let e = errs("POST", path, r#"{"label":"l"}"#);
    assert_error(&e, &["missing required property \"kind\""]);
    // `id` is required but readOnly: requests need not (and should not) send it.
    assert!(!e.iter().any(|x| x.contains("\"id\"")), "{e:#?}");
    let e = errs("POST", path, r#"{"kind":"k","Label":"l"}"#);
    assert_error(&e, &["body at /Label", "unknown property"]);
    assert_eq!(e.len(), 1, "allOf members must not repeat errors: {e:#?}");
}

#[test]
fn additional_properties_are_honoured() {
    let path = "/v1.0/myorg/groups/g/things?mode=m";
    let e = errs("POST", path, r#"{"kind":"k","tags":{"a":1}}"#);
    assert_error(&e, &["body at /tags/a", "expected string"]);
    let e = errs("POST", path, r#"{"kind":"k","closed":{"a":1}}"#);
    assert_error(&e, &["body at /closed/a", "unknown property"]);
    let e = errs("POST", path, r#"{"kind":"k","extra":{"known":"1"}}"#);
    assert_error(&e, &["body at /extra/known", "expected integer"]);
}

#[test]
fn json_pointers_escape_special_characters() {
    let e = errs(
        "POST",
        "/v1.0/myorg/groups/g/things?mode=m",
        r#"{"kind":"k","a/b~c":1}"#,
    );
    assert_error(&e, &["body at /a~1b~0c"]);
}

#[test]
fn invalid_json_fails() {
    assert_error(
        &errs("POST", "/v1.0/myorg/datasets", "{\"name\":"),
        &["not valid JSON"],
    );
}

#[test]
fn bodies_on_operations_without_one_fail() {
    let e = errs("POST", "/v1.0/myorg/refreshUserPermissions", "{}");
    assert_error(&e, &["Refresh", "declares no body parameter", "2-byte"]);
    // An empty body is fine.
    ok("POST", "/v1.0/myorg/refreshUserPermissions", "");
}

#[test]
fn content_types_are_checked_against_consumes() {
    let s = swagger();
    let e = s
        .validate(
            "POST",
            "/v1.0/myorg/datasets",
            Some("text/plain"),
            DATASET.as_bytes(),
        )
        .unwrap_err();
    assert_error(&e, &["content type text/plain", "application/json"]);
    assert!(
        s.validate(
            "POST",
            "/v1.0/myorg/upload",
            Some("application/octet-stream"),
            b"\x00\x01"
        )
        .is_ok()
    );
    let e = s
        .validate("POST", "/v1.0/myorg/upload", None, b"{}")
        .unwrap_err();
    assert_error(
        &e,
        &["JSON body is not accepted", "application/octet-stream"],
    );
}

// ---- multipart ----

const MULTIPART: &[u8] =
    b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pbix\"\r\n\r\nPK\x03\x04\r\n--XyZ--\r\n";

#[test]
fn multipart_bodies_are_accepted_where_consumed() {
    let s = swagger();
    let m = s
        .validate(
            "POST",
            "/v1.0/myorg/imports?datasetDisplayName=a.pbix",
            Some("multipart/form-data; boundary=XyZ"),
            MULTIPART,
        )
        .unwrap();
    assert_eq!(m.operation_id, "PostImport");
    // The same operation also takes JSON.
    let m = s.validate(
        "POST",
        "/v1.0/myorg/imports?datasetDisplayName=a.xlsx",
        Some("application/json"),
        br#"{"filePath":"/x.xlsx"}"#,
    );
    assert!(m.is_ok(), "{m:?}");
}

#[test]
fn multipart_needs_a_boundary_and_a_consuming_operation() {
    let s = swagger();
    let path = "/v1.0/myorg/imports?datasetDisplayName=a.pbix";
    let e = s
        .validate("POST", path, Some("multipart/form-data"), MULTIPART)
        .unwrap_err();
    assert_error(&e, &["no boundary"]);
    let e = s
        .validate(
            "POST",
            path,
            Some("multipart/form-data; boundary=Other"),
            MULTIPART,
        )
        .unwrap_err();
    assert_error(&e, &["--Other"]);
    // A JSON-only operation rejects multipart.
    let e = s
        .validate(
            "POST",
            "/v1.0/myorg/datasets",
            Some("multipart/form-data; boundary=XyZ"),
            MULTIPART,
        )
        .unwrap_err();
    assert_error(&e, &["multipart/form-data is not accepted"]);
    // Forcing JSON over a multipart body fails too.
    let e = s
        .validate("POST", path, Some("application/json"), MULTIPART)
        .unwrap_err();
    assert_error(&e, &["not valid JSON"]);
}

#[test]
fn errors_name_the_operation() {
    let e = errs("GET", "/v1.0/myorg/groups?$top=x", "");
    assert!(
        e[0].starts_with("ListGroups (GET /v1.0/myorg/groups): "),
        "{e:#?}"
    );
}
