//! Pickers ("data sources"): the values a form can offer for an input, listed from the
//! service for the connection and the inputs chosen so far (the WIT `choices` interface).
//!
//! | picker | lists | needs |
//! |---|---|---|
//! | `workspace` | the user's workspaces (`GET /groups`; the search goes to `$filter`, paging to `$top`/`$skip`) | |
//! | `dataset` | the datasets of the workspace | `workspace` (empty: My Workspace) |
//! | `push-dataset` | the same, only push datasets (`addRowsAPIEnabled`): those Create Rows, Delete Rows, Update Table and List Tables work on | `workspace` |
//! | `table` | the tables of the dataset | `workspace`, `dataset-id` |
//! | `report` | the reports of the workspace | `workspace` |
//!
//! Only `GET /groups` pages on the server; the other lists come whole, so the search and the
//! page are applied here, as the list actions apply Top and Page Offset. A page never holds
//! more than `top` choices; `more` says whether the service has others.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Deserialize;

use crate::actions::{Single, dataset_id, scoped_url, workspace};
use crate::error::ActionError;
use crate::exchange::Output;
use crate::http::{Method, Request as HttpRequest, Response};

pub use crate::definition::picker::{DATASET, PICKERS, PUSH_DATASET, REPORT, TABLE, WORKSPACE};

/// The most choices one page may ask for: a drop-down, not an export.
pub const MAX_TOP: u32 = 1000;

/// What a form asks of a picker (the WIT `choices-request`).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The picker's key.
    pub picker: String,
    /// The values of the action's inputs chosen so far, by input key.
    pub inputs: Vec<(String, String)>,
    /// Text to narrow the choices to those whose label contains it, ignoring the case of
    /// ASCII letters (the workspace picker leaves it to the service's `$filter`).
    pub search: Option<String>,
    /// Skip this many choices first.
    pub skip: u32,
    /// At most this many choices.
    pub top: u32,
}

impl Request {
    /// The non-empty value of the input `key`.
    fn input(&self, key: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    /// The search text, trimmed, if there is one.
    fn search(&self) -> Option<&str> {
        self.search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// One page of choices (the WIT `choices-page`): `(label, value)` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The choices, `(label, value)`.
    pub choices: Vec<(String, String)>,
    /// Whether more choices follow.
    pub more: bool,
}

/// An entry of a list answer: what the pickers read of it.
#[derive(Deserialize)]
struct Entry {
    id: Option<String>,
    name: Option<String>,
    #[serde(rename = "addRowsAPIEnabled")]
    add_rows: Option<bool>,
}

/// A list answer.
#[derive(Deserialize)]
struct List {
    value: Vec<Entry>,
}

/// Which entries a picker keeps and how it shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Label the name, value the ID.
    Named,
    /// The same, push datasets only.
    Push,
    /// Label and value the name (tables have no ID).
    NameOnly,
}

/// The exchange that lists a picker's choices, and where the page lands once it has run.
///
/// The page is handed over directly rather than as the output's JSON text: serializing and
/// reading it back cost the component some 40 KB of code for nothing.
#[derive(Debug)]
pub struct Listing {
    /// The exchange to drive; its output carries no data.
    pub exchange: Single,
    /// The page, once the exchange has succeeded.
    pub page: Rc<RefCell<Option<Page>>>,
}

/// The page a [`Listing`]'s exchange produced, once it has run.
pub fn take(page: &RefCell<Option<Page>>) -> Result<Page, ActionError> {
    page.borrow_mut()
        .take()
        .ok_or_else(|| ActionError::transport("the choices were not listed"))
}

/// Checks the request and builds the exchange that lists the choices (see [`Listing`]).
pub fn exchange(request: &Request) -> Result<Listing, ActionError> {
    if request.top == 0 || request.top > MAX_TOP {
        return Err(ActionError::invalid(
            "top",
            format!("must be between 1 and {MAX_TOP}, got {}", request.top),
        ));
    }
    let (top, skip) = (request.top as usize, request.skip as usize);
    let search = request.search().map(str::to_ascii_lowercase);
    let in_workspace = || workspace(request.input("workspace"));
    let (url, shape, workspace_id, server_paged) = match request.picker.as_str() {
        WORKSPACE => {
            // One more than asked tells whether more follow.
            let mut query = vec![("$top", (top + 1).to_string())];
            if skip > 0 {
                query.push(("$skip", skip.to_string()));
            }
            if let Some(text) = request.search() {
                query.push((
                    "$filter",
                    format!("contains(name,'{}')", text.replace('\'', "''")),
                ));
            }
            (
                scoped_url(None, &["groups"], &query),
                Shape::Named,
                None,
                true,
            )
        }
        DATASET | PUSH_DATASET => {
            let ws = in_workspace()?;
            let shape = if request.picker == PUSH_DATASET {
                Shape::Push
            } else {
                Shape::Named
            };
            (scoped_url(ws, &["datasets"], &[]), shape, ws, false)
        }
        TABLE => {
            let ws = in_workspace()?;
            let id = request.input("dataset-id").ok_or_else(|| {
                ActionError::invalid(
                    "dataset-id",
                    "is needed to list its tables: choose a dataset first",
                )
            })?;
            let id = dataset_id(id)?;
            (
                scoped_url(ws, &["datasets", id, "tables"], &[]),
                Shape::NameOnly,
                ws,
                false,
            )
        }
        REPORT => {
            let ws = in_workspace()?;
            (scoped_url(ws, &["reports"], &[]), Shape::Named, ws, false)
        }
        other => {
            return Err(ActionError::invalid(
                "picker",
                format!("is not a picker of this component: {other:?} (it has {PICKERS:?})"),
            ));
        }
    };
    let request = HttpRequest::new(Method::Get, url);
    let page = Rc::new(RefCell::new(None));
    let landed = Rc::clone(&page);
    let exchange = Single::new(request, move |response| {
        let entries = read_list(&response)?;
        let mut choices = entries.into_iter().filter_map(|e| choice(e, shape));
        let page = if server_paged {
            // The service applied the search and the page; it was asked for one more.
            let mut choices: Vec<_> = choices.collect();
            let more = choices.len() > top;
            choices.truncate(top);
            Page { choices, more }
        } else {
            let mut matching = choices
                .by_ref()
                .filter(|(label, _)| {
                    search
                        .as_ref()
                        .is_none_or(|s| label.to_ascii_lowercase().contains(s))
                })
                .skip(skip);
            let page: Vec<_> = matching.by_ref().take(top).collect();
            Page {
                choices: page,
                more: matching.next().is_some(),
            }
        };
        *landed.borrow_mut() = Some(page);
        Ok(Output {
            data: String::new(),
            http: None,
        })
    })
    .in_workspace(workspace_id);
    Ok(Listing { exchange, page })
}

/// A list answer's entries.
fn read_list(response: &Response) -> Result<Vec<Entry>, ActionError> {
    serde_json::from_slice::<List>(&response.body)
        .map(|list| list.value)
        .map_err(|_| ActionError::unexpected_body(response, "a body that is not a list"))
}

/// The choice an entry gives, if the picker keeps it.
fn choice(entry: Entry, shape: Shape) -> Option<(String, String)> {
    match shape {
        Shape::NameOnly => entry.name.map(|name| (name.clone(), name)),
        Shape::Push if entry.add_rows != Some(true) => None,
        Shape::Named | Shape::Push => {
            let id = entry.id?;
            Some((entry.name.unwrap_or_else(|| id.clone()), id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    const DATASET_ID: &str = "cfafbeb1-8037-4d0c-896e-a46fb27ff229";
    const WORKSPACE_ID: &str = "f089354e-8366-4e18-aea3-4cb4a3a50b48";

    fn request(
        picker: &str,
        inputs: &[(&str, &str)],
        search: Option<&str>,
        skip: u32,
        top: u32,
    ) -> Request {
        Request {
            picker: picker.into(),
            inputs: inputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            search: search.map(str::to_string),
            skip,
            top,
        }
    }

    fn run(request: &Request, answer: &str) -> (Page, Vec<String>) {
        let mut t = Scripted::new([Scripted::answer(200, answer)]);
        let mut listing = exchange(request).unwrap();
        drive(&mut listing.exchange, &mut t).unwrap();
        let urls = t.sent.iter().map(|(r, _)| r.url.clone()).collect();
        (take(&listing.page).unwrap(), urls)
    }

    const DATASETS: &str = r#"{"value":[
        {"id":"a","name":"Sales Live","addRowsAPIEnabled":true},
        {"id":"b","name":"Sales Model","addRowsAPIEnabled":false},
        {"id":"c","name":"Stock","addRowsAPIEnabled":true},
        {"id":"d","name":"Sales Archive","addRowsAPIEnabled":true}]}"#;

    #[test]
    fn push_datasets_only_searched_and_paged() {
        let (page, urls) = run(
            &request(
                PUSH_DATASET,
                &[("workspace", WORKSPACE_ID)],
                Some("sALes"),
                0,
                1,
            ),
            DATASETS,
        );
        assert_eq!(page.choices, [("Sales Live".to_string(), "a".to_string())]);
        assert!(page.more, "Sales Archive follows");
        assert!(
            urls[0].ends_with(&format!("/groups/{WORKSPACE_ID}/datasets")),
            "{urls:?}"
        );
        let (page, _) = run(&request(PUSH_DATASET, &[], Some("sales"), 1, 5), DATASETS);
        assert_eq!(
            page.choices,
            [("Sales Archive".to_string(), "d".to_string())]
        );
        assert!(!page.more);
        let (all, _) = run(&request(DATASET, &[], None, 0, 10), DATASETS);
        assert_eq!(all.choices.len(), 4);
    }

    #[test]
    fn workspaces_page_and_search_on_the_server() {
        let r = request(WORKSPACE, &[], Some("O'Neil"), 4, 2);
        let (page, urls) = run(
            &r,
            r#"{"value":[{"id":"1","name":"x"},{"id":"2","name":"y"},{"id":"3","name":"z"}]}"#,
        );
        assert_eq!(page.choices.len(), 2, "never more than asked");
        assert!(page.more);
        assert!(urls[0].contains("$top=3"), "{urls:?}");
        assert!(urls[0].contains("$skip=4"), "{urls:?}");
        assert!(
            urls[0].contains("contains%28name%2C%27O%27%27Neil%27%29"),
            "{urls:?}"
        );
    }

    #[test]
    fn tables_need_a_dataset() {
        let e = exchange(&request(TABLE, &[("workspace", "")], None, 0, 5)).unwrap_err();
        assert_eq!(e.input.as_deref(), Some("dataset-id"));
        let (page, urls) = run(
            &request(TABLE, &[("dataset-id", DATASET_ID)], None, 0, 5),
            r#"{"value":[{"name":"Orders"},{"name":"Lines"}]}"#,
        );
        assert_eq!(
            page.choices[0],
            ("Orders".to_string(), "Orders".to_string())
        );
        assert!(urls[0].ends_with(&format!("/datasets/{DATASET_ID}/tables")));
    }

    #[test]
    fn bad_requests_send_nothing() {
        for (r, input) in [
            (request("nope", &[], None, 0, 5), "picker"),
            (request(REPORT, &[], None, 0, 0), "top"),
            (
                request(REPORT, &[("workspace", "Sales")], None, 0, 5),
                "workspace",
            ),
            (
                request(TABLE, &[("dataset-id", "x")], None, 0, 5),
                "dataset-id",
            ),
        ] {
            let e = exchange(&r).unwrap_err();
            assert_eq!(e.input.as_deref(), Some(input), "{r:?}");
        }
    }

    #[test]
    fn empty_lists_are_empty_pages() {
        let (page, _) = run(&request(REPORT, &[], None, 0, 5), r#"{"value":[]}"#);
        assert_eq!(page, Page::default());
    }
}
