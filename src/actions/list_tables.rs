//! List Tables: `GET /datasets/{id}/tables`. The API returns the whole list; Page Offset and
//! Top are applied here (see `crate::paging`).

use super::{Single, dataset_id, paged_list};
use crate::definition::LIST_TABLES;
use crate::error::ActionError;

/// The inputs (WIT `list-tables-input`).
#[derive(Debug, Clone, Default)]
pub struct ListTablesInput {
    /// Dataset ID.
    pub dataset_id: String,
    /// Top.
    pub top: Option<i64>,
    /// Page Offset.
    pub page_offset: Option<i64>,
}

/// Checks the inputs and builds the exchange.
pub fn exchange(input: &ListTablesInput) -> Result<Single, ActionError> {
    let id = dataset_id(&input.dataset_id)?;
    paged_list(
        &LIST_TABLES,
        &["datasets", id, "tables"],
        input.top,
        input.page_offset,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shape() {
        let ex = exchange(&ListTablesInput {
            dataset_id: "cfafbeb1-8037-4d0c-896e-a46fb27ff229".into(),
            top: None,
            page_offset: None,
        })
        .unwrap();
        insta::assert_json_snapshot!(super::super::snapshot(ex.request().unwrap()));
    }

    #[test]
    fn bad_id_first() {
        let e = exchange(&ListTablesInput {
            dataset_id: "x".into(),
            top: Some(0),
            page_offset: None,
        })
        .err()
        .unwrap();
        assert_eq!(e.input.as_deref(), Some("dataset-id"));
    }
}
