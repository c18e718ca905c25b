//! Plain-text tables: `pbi run --output table` (a list's `value` array) and `pbi actions`.

use serde_json::Value;

/// The most characters a cell shows.
const MAX_CELL: usize = 48;

/// A list output (`{"value": [...]}` or a bare array of objects) as a table of the
/// objects' scalar fields, in the order they first appear; `None` when it is no such list.
pub fn render(data: &Value) -> Option<String> {
    let items = data
        .get("value")
        .and_then(Value::as_array)
        .or(data.as_array())?;
    let mut columns: Vec<&str> = Vec::new();
    for item in items {
        let object = item.as_object()?;
        for (key, value) in object {
            let scalar = !matches!(value, Value::Array(_) | Value::Object(_));
            if scalar && !columns.contains(&key.as_str()) {
                columns.push(key);
            }
        }
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|column| match item.get(*column) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(text)) => text.clone(),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    let header: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    let mut text = grid(&header, &rows);
    text.push_str(&format!(
        "({} row{})\n",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    ));
    Some(text)
}

/// `header` and `rows` as aligned columns with a rule under the header; cells longer than
/// [`MAX_CELL`] are cut with `…`.
pub fn grid(header: &[String], rows: &[Vec<String>]) -> String {
    let cut = |cell: &str| -> String {
        // One line per row: line breaks inside a cell would break the columns.
        let cell = cell.replace(['\n', '\r'], " ");
        if cell.chars().count() > MAX_CELL {
            let kept: String = cell.chars().take(MAX_CELL - 1).collect();
            format!("{kept}…")
        } else {
            cell
        }
    };
    let header: Vec<String> = header.iter().map(|h| cut(h)).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| cut(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (at, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(at) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = line(&header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    text.push_str(&line(&rule));
    for row in &rows {
        text.push_str(&line(row));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_list_becomes_columns_of_its_scalar_fields() {
        let data = json!({"value": [
            {"id": "1", "name": "Sales", "isReadOnly": false, "tags": ["x"]},
            {"id": "2", "name": "Finance", "extra": 3}
        ]});
        let text = render(&data).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id  name     isReadOnly  extra");
        assert_eq!(lines[1], "--  -------  ----------  -----");
        assert_eq!(lines[2], "1   Sales    false");
        assert_eq!(lines[3], "2   Finance              3");
        assert_eq!(lines[4], "(2 rows)");
        assert!(!text.contains("tags"));
    }

    #[test]
    fn only_lists_of_objects_are_tables() {
        assert!(render(&json!({"id": "1"})).is_none());
        assert!(render(&json!({"value": [1, 2]})).is_none());
        assert!(render(&json!([])).is_some());
    }
}
