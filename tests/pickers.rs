//! The pickers end to end: the component lists the choices of an input from the local Power BI
//! service (seeded with the workspaces Sales, Finance and Operations), through the host's
//! `Connector::list_choices`, and the chosen values run the action. Every request validates
//! against Microsoft's swagger.

mod common;

use anyhow::{Context, Result, ensure};
use common::Harness;
use pbi_host::{ChoicesPage, ErrorKind};
use pbi_service::ServiceConfig;
use serde_json::{Value, json};

/// The choices of `action`'s `input`, given `inputs`; the page must hold at most `top`.
fn choices(
    h: &Harness,
    action: &str,
    input: &str,
    inputs: Value,
    search: Option<&str>,
    skip: u32,
    top: u32,
) -> Result<ChoicesPage> {
    let page = h
        .connector
        .list_choices(action, input, &h.connection(), &inputs, search, skip, top)?
        .map_err(|e| anyhow::anyhow!("{action}/{input}: {e}"))?;
    ensure!(
        page.choices.len() <= top as usize,
        "more than asked: {page:?}"
    );
    Ok(page)
}

fn labels(page: &ChoicesPage) -> Vec<&str> {
    page.choices.iter().map(|c| c.label.as_str()).collect()
}

/// The value of the choice labelled `label`.
fn value_of(page: &ChoicesPage, label: &str) -> Result<String> {
    page.choices
        .iter()
        .find(|c| c.label == label)
        .map(|c| c.value.clone())
        .with_context(|| format!("no choice {label} in {page:?}"))
}

#[test]
fn the_dependent_chain_fills_create_rows() -> Result<()> {
    let h = Harness::with_config(ServiceConfig::seeded())?;
    let workspaces = choices(&h, "create-rows", "workspace", json!({}), None, 0, 25)?;
    ensure!(
        labels(&workspaces) == ["Sales", "Finance", "Operations"],
        "{workspaces:?}"
    );
    let sales = value_of(&workspaces, "Sales")?;

    // Create Rows works on push datasets only: the model dataset is not offered.
    let datasets = choices(
        &h,
        "create-rows",
        "dataset-id",
        json!({"workspace": sales}),
        None,
        0,
        25,
    )?;
    ensure!(labels(&datasets) == ["Sales Live"], "{datasets:?}");
    let dataset = value_of(&datasets, "Sales Live")?;
    let tables = choices(
        &h,
        "create-rows",
        "table-name",
        json!({"workspace": sales, "dataset-id": dataset}),
        None,
        0,
        25,
    )?;
    ensure!(labels(&tables) == ["Orders"], "{tables:?}");
    let table = value_of(&tables, "Orders")?;

    // The chosen values run the action.
    let before = h.service.table_rows(&dataset, &table).map(|r| r.len());
    h.ok(
        "create-rows",
        json!({"workspace": sales, "dataset-id": dataset, "table-name": table,
               "rows": [{"OrderId": 99, "Region": "West", "Quantity": 1}]}),
    )?;
    let after = h.service.table_rows(&dataset, &table).map(|r| r.len());
    ensure!(
        after == before.map(|n| n + 1),
        "{before:?} -> {after:?} rows"
    );
    h.check_swagger()
}

#[test]
fn workspaces_are_searched_and_paged() -> Result<()> {
    let h = Harness::with_config(ServiceConfig::seeded())?;
    let found = choices(
        &h,
        "list-datasets",
        "workspace",
        json!({}),
        Some("fIn"),
        0,
        25,
    )?;
    ensure!(labels(&found) == ["Finance"] && !found.more, "{found:?}");
    let first = choices(&h, "list-datasets", "workspace", json!({}), None, 0, 1)?;
    ensure!(labels(&first) == ["Sales"] && first.more, "{first:?}");
    let last = choices(&h, "list-datasets", "workspace", json!({}), None, 2, 5)?;
    ensure!(labels(&last) == ["Operations"] && !last.more, "{last:?}");
    let none = choices(
        &h,
        "list-datasets",
        "workspace",
        json!({}),
        Some("nothing like it"),
        0,
        5,
    )?;
    ensure!(none.choices.is_empty() && !none.more, "{none:?}");
    h.check_swagger()
}

#[test]
fn datasets_page_locally_and_empty_workspaces_are_empty() -> Result<()> {
    let h = Harness::new()?;
    let group = h.service.add_group("Many");
    for i in 0..30 {
        h.service
            .add_dataset(Some(&group), &format!("Push {i:02}"), true, json!([]));
    }
    let inputs = json!({"workspace": group});
    let page = choices(
        &h,
        "update-table",
        "dataset-id",
        inputs.clone(),
        None,
        25,
        10,
    )?;
    ensure!(
        labels(&page) == ["Push 25", "Push 26", "Push 27", "Push 28", "Push 29"] && !page.more,
        "{page:?}"
    );
    let page = choices(
        &h,
        "update-table",
        "dataset-id",
        inputs.clone(),
        Some("push 1"),
        0,
        3,
    )?;
    ensure!(
        labels(&page) == ["Push 10", "Push 11", "Push 12"] && page.more,
        "{page:?}"
    );
    // My Workspace (no workspace chosen) is empty here.
    let mine = choices(&h, "update-table", "dataset-id", json!({}), None, 0, 10)?;
    ensure!(mine.choices.is_empty() && !mine.more, "{mine:?}");
    let empty = h.service.add_group("Empty");
    let page = choices(
        &h,
        "delete-rows",
        "dataset-id",
        json!({"workspace": empty}),
        None,
        0,
        10,
    )?;
    ensure!(page.choices.is_empty(), "{page:?}");
    h.check_swagger()
}

#[test]
fn bad_and_hidden_workspaces_and_missing_inputs() -> Result<()> {
    let h = Harness::with_config(ServiceConfig::seeded())?;
    let ask = |inputs: Value| {
        h.connector.list_choices(
            "create-rows",
            "table-name",
            &h.connection(),
            &inputs,
            None,
            0,
            10,
        )
    };
    // A table needs its dataset: nothing is sent.
    let e = ask(json!({}))
        .map(|r| r.err())?
        .context("no dataset-id was refused")?;
    ensure!(
        e.kind == ErrorKind::InvalidInput && e.input.as_deref() == Some("dataset-id"),
        "{e:?}"
    );
    let e = h
        .connector
        .list_choices(
            "create-rows",
            "dataset-id",
            &h.connection(),
            &json!({"workspace": "Sales"}),
            None,
            0,
            10,
        )?
        .err()
        .context("a workspace name was accepted as an ID")?;
    ensure!(e.input.as_deref() == Some("workspace"), "{e:?}");
    ensure!(
        h.service.requests().is_empty(),
        "{:?}",
        h.service.requests()
    );

    let hidden = h.service.add_hidden_group("Board");
    let e = h
        .connector
        .list_choices(
            "create-rows",
            "dataset-id",
            &h.connection(),
            &json!({"workspace": hidden}),
            None,
            0,
            10,
        )?
        .err()
        .context("a hidden workspace listed its datasets")?;
    ensure!(
        e.kind == ErrorKind::NotFound && e.message.contains(&hidden),
        "{e:?}"
    );
    // And the picker of workspaces does not offer it.
    let workspaces = choices(&h, "create-rows", "workspace", json!({}), None, 0, 25)?;
    ensure!(!labels(&workspaces).contains(&"Board"), "{workspaces:?}");

    // An input without a picker is the host's error.
    ensure!(
        h.connector
            .list_choices(
                "create-rows",
                "rows",
                &h.connection(),
                &json!({}),
                None,
                0,
                5
            )
            .is_err()
    );
    Ok(())
}

/// Get Dataset and Delete Dataset work on any dataset: their picker offers the model too.
#[test]
fn any_dataset_for_get_and_delete() -> Result<()> {
    let h = Harness::with_config(ServiceConfig::seeded())?;
    let workspaces = choices(
        &h,
        "get-dataset",
        "workspace",
        json!({}),
        Some("sales"),
        0,
        5,
    )?;
    let sales = value_of(&workspaces, "Sales")?;
    let all = choices(
        &h,
        "get-dataset",
        "dataset-id",
        json!({"workspace": sales}),
        None,
        0,
        25,
    )?;
    ensure!(labels(&all) == ["Sales Live", "Sales Model"], "{all:?}");
    let model = value_of(&all, "Sales Model")?;
    let out = h.ok(
        "get-dataset",
        json!({"workspace": sales, "dataset-id": model}),
    )?;
    ensure!(out["name"] == "Sales Model", "{out}");
    h.check_swagger()
}

/// Export Report to File's Report ID lists the workspace's reports, and the choice exports;
/// Refresh Dataset's Dataset ID lists every dataset, and its model dataset refreshes.
#[test]
fn reports_to_export_and_datasets_to_refresh() -> Result<()> {
    let h = Harness::with_config(ServiceConfig {
        export_step: std::time::Duration::ZERO,
        refresh_duration: std::time::Duration::ZERO,
        poll_retry_after: Some(0),
        ..ServiceConfig::seeded()
    })?;
    let workspaces = choices(
        &h,
        "export-report-to-file",
        "workspace",
        json!({}),
        None,
        0,
        5,
    )?;
    // The seeded Sales workspace is the one on dedicated capacity.
    let sales = value_of(&workspaces, "Sales")?;
    let reports = choices(
        &h,
        "export-report-to-file",
        "report-id",
        json!({"workspace": sales}),
        None,
        0,
        25,
    )?;
    ensure!(labels(&reports) == ["Sales Overview"], "{reports:?}");
    let report = value_of(&reports, "Sales Overview")?;
    let out = h.ok(
        "export-report-to-file",
        json!({"workspace": sales, "report-id": report, "format": "PNG"}),
    )?;
    ensure!(out["fileName"] == "Sales Overview.png", "{out}");

    let datasets = choices(
        &h,
        "refresh-dataset",
        "dataset-id",
        json!({"workspace": sales}),
        None,
        0,
        25,
    )?;
    let model = value_of(&datasets, "Sales Model")?;
    let out = h.ok(
        "refresh-dataset",
        json!({"workspace": sales, "dataset-id": model, "wait-for-completion": true}),
    )?;
    ensure!(out["status"] == "Completed", "{out}");
    h.check_swagger()
}
