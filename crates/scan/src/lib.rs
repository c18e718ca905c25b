//! The component's JSON scans on hot paths: text is checked and skipped, never built into
//! values, and what is kept points into the text.
//!
//! - [`array`] and [`wrapped`] read the Rows input of Create Rows (a JSON array of row
//!   objects, or `{"rows": [...]}`): the number of rows and, from a start row on, the byte
//!   range of each batch of at most `per_batch` rows, separators included, so that a batch's
//!   request body is one slice of the input.
//! - [`members`] and [`elements`] read a list answer's envelope and its entries as raw text,
//!   so that a page of it is copied as the API sent it.
//!
//! This is its own crate only so that it can be optimised for speed while the rest of the
//! component is optimised for size: a profile's `opt-level` applies per crate, and serde's
//! generic code is compiled in the crate that uses it. At the component's `opt-level = "z"`
//! the row scan ran at about 100 MB/s in wasmtime, here about 300 MB/s
//! (docs/performance.md, session 8). The text is read as `str` (`from_str`): it is UTF-8
//! already, and reading bytes would check each row's text again (15-25 % of the scan in
//! wasmtime). The actions own what the text means and their error messages.

use std::ops::Range;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// What a scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// How many rows the input holds.
    pub count: usize,
    /// `(first row, byte range)` of each batch from the start row on.
    pub batches: Vec<(usize, Range<usize>)>,
}

/// Scans `text`, a JSON array of objects, noting batches of `per_batch` rows from row
/// `start` on. A row that is not an object is an error naming its index;
/// serde_json's errors say the line and column.
pub fn array(text: &str, start: usize, per_batch: usize) -> Result<Scanned, serde_json::Error> {
    let seed = RowsSeed {
        base: text,
        start,
        per_batch: per_batch.max(1),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    seed.deserialize(&mut de)
        .and_then(|rows| de.end().map(|()| rows))
}

/// Scans `text`, an object `{"rows": [...]}` with no other member, like [`array`].
pub fn wrapped(text: &str, start: usize, per_batch: usize) -> Result<Scanned, serde_json::Error> {
    let seed = RowsSeed {
        base: text,
        start,
        per_batch: per_batch.max(1),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    WrappedSeed(seed)
        .deserialize(&mut de)
        .and_then(|rows| de.end().map(|()| rows))
}

/// The members of the JSON object `text`, in their order, each value as its raw JSON text.
pub fn members(text: &str) -> Result<Vec<(String, &str)>, serde_json::Error> {
    let Members(members) = serde_json::from_str(text)?;
    // `RawValue` borrows from the text the deserializer read, which is `text`.
    Ok(members.into_iter().map(|(k, v)| (k, v.get())).collect())
}

/// The elements of the JSON array `text`, in their order, each as its raw JSON text.
pub fn elements(text: &str) -> Result<Vec<&str>, serde_json::Error> {
    let list: Vec<&RawValue> = serde_json::from_str(text)?;
    Ok(list.into_iter().map(RawValue::get).collect())
}

/// An object's members, values left as raw JSON text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut members = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// Reads a JSON array of row objects, recording batch boundaries from row `start` on.
struct RowsSeed<'a> {
    base: &'a str,
    start: usize,
    per_batch: usize,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = Scanned;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Scanned, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = Scanned;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of row objects")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Scanned, S::Error> {
        let base = self.base.as_ptr() as usize;
        let mut batches: Vec<(usize, Range<usize>)> = Vec::new();
        let mut count = 0;
        while let Some(row) = seq.next_element::<&'de RawValue>()? {
            let raw = row.get();
            if !raw.starts_with('{') {
                return Err(S::Error::custom(format!(
                    "row {count} is not an object of column names and values"
                )));
            }
            if count >= self.start {
                // `raw` borrows from the text the deserializer reads, which is `base`.
                let from = raw.as_ptr() as usize - base;
                let to = from + raw.len();
                match batches.last_mut() {
                    Some((first, range)) if count - *first < self.per_batch => range.end = to,
                    _ => batches.push((count, from..to)),
                }
            }
            count += 1;
        }
        Ok(Scanned { count, batches })
    }
}

/// Reads `{"rows": [...]}` with no other member.
struct WrappedSeed<'a>(RowsSeed<'a>);

impl<'de> DeserializeSeed<'de> for WrappedSeed<'_> {
    type Value = Scanned;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Scanned, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for WrappedSeed<'_> {
    type Value = Scanned;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object {\"rows\": [...]}")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Scanned, M::Error> {
        let mut rows = None;
        let mut seed = Some(self.0);
        while let Some(key) = map.next_key::<&'de str>()? {
            match (key, seed.take()) {
                ("rows", Some(s)) => rows = Some(map.next_value_seed(s)?),
                ("rows", None) => return Err(M::Error::duplicate_field("rows")),
                (other, _) => return Err(M::Error::unknown_field(other, &["rows"])),
            }
        }
        rows.ok_or_else(|| M::Error::missing_field("rows"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_byte_ranges_of_the_text_from_the_start_row_on() {
        let text = r#" [ {"a":1} , {"a":"x]"}, {"b":[{}]},{} ] "#;
        let scanned = array(text, 1, 2).unwrap();
        assert_eq!(scanned.count, 4);
        let slices: Vec<_> = scanned
            .batches
            .iter()
            .map(|(first, range)| (*first, &text[range.clone()]))
            .collect();
        assert_eq!(slices, [(1, r#"{"a":"x]"}, {"b":[{}]}"#), (3, "{}")]);
    }

    #[test]
    fn the_wrapped_form_takes_rows_and_nothing_else() {
        let scanned = wrapped(r#"{"rows":[{"a":1},{"a":2}]}"#, 0, 10).unwrap();
        assert_eq!((scanned.count, scanned.batches.len()), (2, 1));
        let extra = wrapped(r#"{"rows":[],"x":1}"#, 0, 10).unwrap_err();
        assert!(extra.to_string().contains("unknown field `x`"), "{extra}");
        let twice = wrapped(r#"{"rows":[],"rows":[]}"#, 0, 10).unwrap_err();
        assert!(
            twice.to_string().contains("duplicate field `rows`"),
            "{twice}"
        );
        let none = wrapped("{}", 0, 10).unwrap_err();
        assert!(none.to_string().contains("missing field `rows`"), "{none}");
    }

    #[test]
    fn a_row_that_is_not_an_object_or_not_json_is_refused() {
        let not_object = array(r#"[{"a":1},[1]]"#, 0, 10).unwrap_err();
        assert!(
            not_object.to_string().contains("row 1 is not an object"),
            "{not_object}"
        );
        let bad = array(r#"[{"a":1},{"a":tru}]"#, 0, 10).unwrap_err();
        assert_eq!((bad.line(), bad.column()), (1, 18), "{bad}");
        let trailing = array("[{}] x", 0, 10).unwrap_err();
        assert!(
            trailing.to_string().contains("trailing characters"),
            "{trailing}"
        );
    }

    #[test]
    fn members_and_elements_keep_the_raw_text() {
        let text = r#"{"@odata.context":"c", "value":[ {"n":1.50} ,"x\u0041",null],"k":{}}"#;
        let found = members(text).unwrap();
        let keys: Vec<_> = found.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            keys,
            [
                ("@odata.context", r#""c""#),
                ("value", r#"[ {"n":1.50} ,"x\u0041",null]"#),
                ("k", "{}")
            ]
        );
        assert_eq!(
            elements(found[1].1).unwrap(),
            [r#"{"n":1.50}"#, r#""x\u0041""#, "null"]
        );
        assert!(members("[]").is_err());
        assert!(members(r#"{"a":1"#).is_err());
        assert!(elements("{}").is_err());
    }

    #[test]
    fn no_batch_when_the_start_row_is_past_the_last() {
        let scanned = array("[{},{}]", 2, 10).unwrap();
        assert_eq!((scanned.count, scanned.batches.len()), (2, 0));
    }
}
