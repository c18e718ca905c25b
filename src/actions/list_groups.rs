//! List Groups: `GET /groups?$top&$skip`, the one list the API pages on the server.

use super::inputs::{PAGE_OFFSET, TOP};
use super::{Context, Single, json_body};
use crate::definition::Action;
use crate::error::ActionError;
use crate::http::{Method, Request, api_url};
use crate::paging::page;

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "list-groups",
    label: "List Groups",
    description: "Returns a list of workspaces the user has access to",
    inputs: &[PAGE_OFFSET, TOP],
};

action_input! {
    /// The inputs (WIT `list-groups-input`).
    #[derive(Debug, Clone, Default)]
    pub struct ListGroupsInput {
        /// Page Offset → `$skip`.
        pub page_offset: Option<i64>,
        /// Top → `$top`.
        pub top: Option<i64>,
    }
}

/// Checks the inputs and builds the request.
pub fn request(input: &ListGroupsInput) -> Result<Request, ActionError> {
    let page = page(&DEFINITION, input.top, input.page_offset)?;
    let mut query = Vec::new();
    if let Some(top) = page.top {
        query.push(("$top", top.to_string()));
    }
    if page.offset > 0 {
        query.push(("$skip", page.offset.to_string()));
    }
    Ok(Request::new(Method::Get, api_url(&["groups"], &query)))
}

/// The exchange: the output is the API's envelope as it came.
pub fn exchange(input: &ListGroupsInput, _context: &Context) -> Result<Single, ActionError> {
    Ok(Single::new(request(input)?, |r| json_body(&r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shape() {
        let r = request(&ListGroupsInput {
            page_offset: Some(20),
            top: Some(10),
        })
        .unwrap();
        insta::assert_json_snapshot!(super::super::snapshot(&r));
        let r = request(&ListGroupsInput::default()).unwrap();
        assert!(r.url.ends_with("/groups"), "{}", r.url);
    }

    #[test]
    fn negative_offset() {
        let e = request(&ListGroupsInput {
            page_offset: Some(-1),
            top: None,
        })
        .unwrap_err();
        assert_eq!(e.input.as_deref(), Some("page-offset"));
    }
}
