//! Column definitions and names, checked before anything is sent.
//!
//! Input is lenient (any case of `dataType` and of its value, the `bool` spelling of
//! Microsoft's own examples); output is strict: property names and type names are sent in
//! the exact spelling the API accepts, because it rejects unknown or wrongly cased ones.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::definition::TextRule;
use crate::error::ActionError;

/// The most columns a push table holds.
pub const MAX_COLUMNS: usize = 75;
/// The longest table name.
pub const MAX_TABLE_NAME: usize = 100;

/// The six column data types of push datasets.
pub const DATA_TYPES: [&str; 6] = [
    "Int64", "Double", "Boolean", "DateTime", "String", "Decimal",
];

/// Optional column properties the API accepts, in its spelling.
const OPTIONAL: [&str; 5] = [
    "formatString",
    "sortByColumn",
    "dataCategory",
    "isHidden",
    "summarizeBy",
];

/// A checked column, serialized as the API expects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    /// The column name.
    pub name: String,
    /// One of [`DATA_TYPES`].
    #[serde(rename = "dataType")]
    pub data_type: &'static str,
    /// Optional properties, keys in the API's spelling.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A checked table: name and columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// The table name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<Column>,
}

/// The canonical spelling of a data type given in any case.
pub fn canonical_type(name: &str) -> Option<&'static str> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("bool") {
        return Some("Boolean");
    }
    DATA_TYPES
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(name))
}

/// The characters [`table_name_char`] refuses, as a regular expression's class body: below
/// `~`, everything but tab, LF, CR, space, `#`, `-`, digits, `@`, letters, `^` and `_`.
macro_rules! not_in_table_names {
    () => {
        r#"\x00-\x08\x0B\x0C\x0E-\x1F!"$-,./:-?\[-\]`{-}"#
    };
}

/// The `pattern` of a Table Name input ([`table_name`], with [`MAX_TABLE_NAME`] as its
/// `max-length`): allowed characters only, at least one of them not white space.
pub const TABLE_NAME_PATTERN: &str = concat!(
    "^[^",
    not_in_table_names!(),
    "]*[^",
    not_in_table_names!(),
    r"\s][^",
    not_in_table_names!(),
    "]*$"
);

/// The rule of a Table Name input: [`TABLE_NAME_PATTERN`], [`MAX_TABLE_NAME`] characters at
/// most.
pub const TABLE_NAME_RULE: TextRule = TextRule {
    pattern: TABLE_NAME_PATTERN,
    max_length: Some(MAX_TABLE_NAME as u32),
};

/// Whether a character may stand in a table name: the pattern of `Table.name` in
/// Microsoft's API description (tab, LF, CR, space, `#`, `-`, digits, `@`, letters, `^`,
/// `_`, `~` and everything from U+007F on).
fn table_name_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' ' | '#' | '-' | '0'..='9' | '@'..='Z' | '^' | '_' | 'a'..='z')
        || c >= '~'
}

/// Checks a table name: 1 to 100 characters of the API's allowed set.
pub fn table_name(input: &str, value: &str) -> Result<String, ActionError> {
    if value.trim().is_empty() {
        return Err(ActionError::invalid(input, "must not be empty"));
    }
    let count = value.chars().count();
    if count > MAX_TABLE_NAME {
        return Err(ActionError::invalid(
            input,
            format!("must be at most {MAX_TABLE_NAME} characters, got {count}"),
        ));
    }
    if let Some(bad) = value.chars().find(|c| !table_name_char(*c)) {
        return Err(ActionError::invalid(
            input,
            format!(
                "must not contain {bad:?}: Power BI table names allow letters, digits, spaces and # - @ ^ _ ~"
            ),
        ));
    }
    Ok(value.to_string())
}

/// Parses and checks a JSON array of column definitions.
pub fn parse(input: &str, text: &str) -> Result<Vec<Column>, ActionError> {
    let value: Value = serde_json::from_slice(text.as_bytes())
        .map_err(|e| ActionError::invalid(input, format!("is not valid JSON ({e})")))?;
    let Value::Array(items) = value else {
        return Err(ActionError::invalid(
            input,
            "must be a JSON array of {\"name\", \"dataType\"} objects",
        ));
    };
    if items.is_empty() {
        return Err(ActionError::invalid(
            input,
            "must define at least one column",
        ));
    }
    if items.len() > MAX_COLUMNS {
        return Err(ActionError::invalid(
            input,
            format!(
                "a push table holds at most {MAX_COLUMNS} columns, got {}",
                items.len()
            ),
        ));
    }
    let mut columns: Vec<Column> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(ActionError::invalid(
                input,
                format!("column {i} must be an object"),
            ));
        };
        let mut name = None;
        let mut data_type = None;
        let mut extra = Map::new();
        for (key, value) in fields {
            if key.eq_ignore_ascii_case("name") {
                name = Some(value);
            } else if key.eq_ignore_ascii_case("dataType") {
                data_type = Some(value);
            } else if let Some(known) = OPTIONAL.iter().find(|k| k.eq_ignore_ascii_case(&key)) {
                extra.insert(known.to_string(), value);
            } else {
                return Err(ActionError::invalid(
                    input,
                    format!(
                        "column {i} has an unknown property {key:?} (allowed: name, dataType, {})",
                        OPTIONAL.join(", ")
                    ),
                ));
            }
        }
        let name = match name {
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            _ => {
                return Err(ActionError::invalid(
                    input,
                    format!("column {i} needs a non-empty \"name\""),
                ));
            }
        };
        if name
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(ActionError::invalid(
                input,
                format!("column {name:?} has a control character in its name"),
            ));
        }
        if columns.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
            return Err(ActionError::invalid(
                input,
                format!("column name {name:?} is used twice"),
            ));
        }
        let data_type = match data_type {
            Some(Value::String(t)) => canonical_type(&t).ok_or_else(|| {
                ActionError::invalid(
                    input,
                    format!(
                        "column {name:?} has dataType {t:?}; use one of {}",
                        DATA_TYPES.join(", ")
                    ),
                )
            })?,
            _ => {
                return Err(ActionError::invalid(
                    input,
                    format!(
                        "column {name:?} needs a \"dataType\" ({})",
                        DATA_TYPES.join(", ")
                    ),
                ));
            }
        };
        columns.push(Column {
            name,
            data_type,
            extra,
        });
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_in_any_case_become_canonical() {
        let cols = parse(
            "columns",
            r#"[{"name":"a","datatype":"int64"},{"NAME":"b","dataType":"bool","FormatString":"0.0"}]"#,
        )
        .unwrap();
        assert_eq!(cols[0].data_type, "Int64");
        assert_eq!(cols[1].data_type, "Boolean");
        assert_eq!(
            serde_json::to_string(&cols[1]).unwrap(),
            r#"{"name":"b","dataType":"Boolean","formatString":"0.0"}"#
        );
    }

    #[test]
    fn bad_columns_name_the_input() {
        let cases = [
            ("", "not valid JSON"),
            ("{}", "JSON array"),
            ("[]", "at least one"),
            (r#"[{"dataType":"String"}]"#, "non-empty \"name\""),
            (r#"[{"name":"a","dataType":"Text"}]"#, "use one of"),
            (r#"[{"name":"a"}]"#, "needs a \"dataType\""),
            (
                r#"[{"name":"a","dataType":"String"},{"name":"A","dataType":"String"}]"#,
                "used twice",
            ),
            (
                r#"[{"name":"a","dataType":"String","color":"red"}]"#,
                "unknown property",
            ),
            ("[1]", "must be an object"),
        ];
        for (text, expected) in cases {
            let e = parse("columns", text).unwrap_err();
            assert_eq!(e.input.as_deref(), Some("columns"), "{text}");
            assert!(e.message.contains(expected), "{text}: {}", e.message);
        }
        let many: Vec<_> = (0..76)
            .map(|i| format!(r#"{{"name":"c{i}","dataType":"String"}}"#))
            .collect();
        let e = parse("columns", &format!("[{}]", many.join(","))).unwrap_err();
        assert!(e.message.contains("at most 75"));
    }

    #[test]
    fn table_names() {
        assert!(table_name("table-name", "Sales #1 @x^~_-").is_ok());
        assert!(table_name("table-name", "Größe").is_ok());
        assert!(
            table_name("table-name", "a.b")
                .unwrap_err()
                .message
                .contains("'.'")
        );
        assert!(table_name("table-name", "a/b").is_err());
        assert!(table_name("table-name", " ").is_err());
        assert!(table_name("table-name", &"x".repeat(101)).is_err());
        assert!(table_name("table-name", &"x".repeat(100)).is_ok());
    }
}
