//! Conversions between JSON and component-model values, guided by the component's types.
//!
//! Nothing here knows a particular component: JSON is turned into a [`Val`] by reading the
//! target [`Type`] (so a connector's inputs can be given as plain JSON), and any [`Val`] is
//! turned back into JSON by field and case names.

use serde_json::{Map, Number, Value};
use std::fmt;
use wasmtime::component::{Type, Val};

/// Why a JSON value could not become a component value of the wanted type.
///
/// The message names where the value was (a field path such as `headers[1]`) and what was
/// expected, but never the value itself: it may be a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// The path of the offending value: record fields and list indexes, outermost first.
    pub path: Vec<String>,
    /// What was wrong.
    pub message: String,
}

impl ConvertError {
    /// The outermost path segment: for an input record, the input key at fault.
    pub fn top_key(&self) -> Option<&str> {
        self.path.first().map(String::as_str)
    }

    fn new(path: &[String], message: impl Into<String>) -> Self {
        Self {
            path: path.to_vec(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}` {}", render_path(&self.path), self.message)
        }
    }
}

impl std::error::Error for ConvertError {}

fn render_path(path: &[String]) -> String {
    let mut out = String::new();
    for segment in path {
        if segment.starts_with('[') || out.is_empty() {
            out.push_str(segment);
        } else {
            out.push('.');
            out.push_str(segment);
        }
    }
    out
}

/// Turns a component value into JSON.
///
/// Records become objects keyed by their WIT field names (in declaration order), options
/// `null` or the value, lists and tuples arrays, enums their case name, variants
/// `{"case": payload}` (payload `null` when the case has none), results `{"ok": ..}` or
/// `{"err": ..}`, and flags an array of the set names. Non-finite floats and resources, which
/// JSON cannot carry, become `null`.
pub fn val_to_json(val: &Val) -> Value {
    match val {
        Val::Bool(b) => Value::Bool(*b),
        Val::S8(n) => Value::from(*n),
        Val::U8(n) => Value::from(*n),
        Val::S16(n) => Value::from(*n),
        Val::U16(n) => Value::from(*n),
        Val::S32(n) => Value::from(*n),
        Val::U32(n) => Value::from(*n),
        Val::S64(n) => Value::from(*n),
        Val::U64(n) => Value::from(*n),
        Val::Float32(n) => float(f64::from(*n)),
        Val::Float64(n) => float(*n),
        Val::Char(c) => Value::String(c.to_string()),
        Val::String(s) => Value::String(s.clone()),
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            Value::Array(items.iter().map(val_to_json).collect())
        }
        Val::Map(entries) => {
            if entries.iter().all(|(k, _)| matches!(k, Val::String(_))) {
                let mut object = Map::new();
                for (key, value) in entries {
                    if let Val::String(key) = key {
                        object.insert(key.clone(), val_to_json(value));
                    }
                }
                Value::Object(object)
            } else {
                Value::Array(
                    entries
                        .iter()
                        .map(|(k, v)| Value::Array(vec![val_to_json(k), val_to_json(v)]))
                        .collect(),
                )
            }
        }
        Val::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), val_to_json(value)))
                .collect(),
        ),
        Val::Variant(case, payload) => {
            let mut object = Map::new();
            object.insert(case.clone(), optional(payload.as_deref()));
            Value::Object(object)
        }
        Val::Enum(case) => Value::String(case.clone()),
        Val::Option(inner) => optional(inner.as_deref()),
        Val::Result(result) => {
            let (key, payload) = match result {
                Ok(payload) => ("ok", payload),
                Err(payload) => ("err", payload),
            };
            let mut object = Map::new();
            object.insert(key.to_string(), optional(payload.as_deref()));
            Value::Object(object)
        }
        Val::Flags(names) => Value::Array(names.iter().cloned().map(Value::String).collect()),
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => Value::Null,
    }
}

fn optional(val: Option<&Val>) -> Value {
    val.map_or(Value::Null, val_to_json)
}

fn float(n: f64) -> Value {
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// Turns JSON into a component value of type `ty`; `None` means the value is absent.
///
/// The conversion is lenient where a form or a command line gives text:
/// - `string` takes a JSON string as is, and any other JSON value as its JSON text (so a
///   JSON-text input may be given as a real array or object);
/// - `option<T>` is none for an absent value, `null` or `""`;
/// - `bool` takes `true`/`false` or the strings `"true"`/`"false"`;
/// - integers and floats take numbers or numeric strings, whole and in range for integers;
/// - `list<u8>` takes a string (its UTF-8 bytes) or an array of byte numbers;
/// - `list<tuple<K, V>>` takes an object `{k: v}`, an array of `[k, v]` pairs or an array of
///   `{"key": k, "value": v}` objects;
/// - records take objects keyed by the WIT field names (unknown keys are errors); lists,
///   tuples and records may also be given as a string holding that JSON.
///
/// An absent or `null` value becomes the type's empty value (`""`, `0`, `false`, empty
/// list, none, a record of empty values) where one exists, and an error otherwise.
pub fn json_to_val(value: Option<&Value>, ty: &Type) -> Result<Val, ConvertError> {
    convert(value.cloned(), ty, &mut Vec::new())
}

/// [`json_to_val`] taking the JSON by value: its strings move into the component value
/// instead of being copied (a large input, such as a million rows of JSON text, is not
/// duplicated on its way to the guest).
pub fn json_into_val(value: Option<Value>, ty: &Type) -> Result<Val, ConvertError> {
    convert(value, ty, &mut Vec::new())
}

fn convert(value: Option<Value>, ty: &Type, path: &mut Vec<String>) -> Result<Val, ConvertError> {
    let value = value.filter(|v| !v.is_null());
    if let Type::Option(inner) = ty {
        return match value {
            None => Ok(Val::Option(None)),
            Some(Value::String(s)) if s.is_empty() => Ok(Val::Option(None)),
            Some(v) => Ok(Val::Option(Some(Box::new(convert(
                Some(v),
                &inner.ty(),
                path,
            )?)))),
        };
    }
    let Some(value) = value else {
        return empty_value(ty, path);
    };
    match ty {
        Type::Bool => to_bool(&value)
            .map(Val::Bool)
            .ok_or_else(|| ConvertError::new(path, "must be true or false")),
        Type::S8 => int(&value, path, "s8").map(Val::S8),
        Type::U8 => int(&value, path, "u8").map(Val::U8),
        Type::S16 => int(&value, path, "s16").map(Val::S16),
        Type::U16 => int(&value, path, "u16").map(Val::U16),
        Type::S32 => int(&value, path, "s32").map(Val::S32),
        Type::U32 => int(&value, path, "u32").map(Val::U32),
        Type::S64 => int(&value, path, "s64").map(Val::S64),
        Type::U64 => int(&value, path, "u64").map(Val::U64),
        // Narrowing to f32 is what a float32 parameter means.
        Type::Float32 => to_float(&value, path).map(|n| Val::Float32(n as f32)),
        Type::Float64 => to_float(&value, path).map(Val::Float64),
        Type::Char => {
            let mut chars = value.as_str().map(str::chars);
            match chars.as_mut().map(|c| (c.next(), c.next())) {
                Some((Some(c), None)) => Ok(Val::Char(c)),
                _ => Err(ConvertError::new(path, "must be a single character")),
            }
        }
        Type::String => Ok(Val::String(match value {
            Value::String(s) => s,
            other => other.to_string(),
        })),
        Type::List(list) => {
            let element = list.ty();
            if element == Type::U8 {
                return bytes(value, path).map(|b| Val::List(b.into_iter().map(Val::U8).collect()));
            }
            match value {
                Value::Array(items) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| indexed(path, i, |path| convert(Some(item), &element, path)))
                    .collect::<Result<_, _>>()
                    .map(Val::List),
                Value::Object(object) if is_pair(&element) => object
                    .into_iter()
                    .map(|(key, value)| pair_from_entry(key, value, &element, path))
                    .collect::<Result<_, _>>()
                    .map(Val::List),
                Value::String(s) if s.trim().is_empty() => Ok(Val::List(Vec::new())),
                Value::String(s) => reparse(&s, ty, path, "must be a list (a JSON array)"),
                _ => Err(ConvertError::new(path, "must be a list (a JSON array)")),
            }
        }
        Type::FixedLengthList(list) => {
            let element = list.ty();
            match value {
                Value::Array(items) if items.len() == list.len() as usize => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| indexed(path, i, |path| convert(Some(item), &element, path)))
                    .collect::<Result<_, _>>()
                    .map(Val::FixedLengthList),
                _ => Err(ConvertError::new(
                    path,
                    format!("must be an array of {} items", list.len()),
                )),
            }
        }
        Type::Map(map) => {
            let (key_ty, value_ty) = (map.key(), map.value());
            match value {
                Value::Object(object) => object
                    .into_iter()
                    .map(|(key, value)| {
                        let k = convert(Some(Value::String(key.clone())), &key_ty, path)?;
                        path.push(key);
                        let v = convert(Some(value), &value_ty, path);
                        path.pop();
                        Ok((k, v?))
                    })
                    .collect::<Result<_, _>>()
                    .map(Val::Map),
                Value::String(s) => reparse(&s, ty, path, "must be a map (a JSON object)"),
                _ => Err(ConvertError::new(path, "must be a map (a JSON object)")),
            }
        }
        Type::Record(record) => match value {
            Value::Object(mut object) => {
                let fields: Vec<_> = record
                    .fields()
                    .map(|f| (f.name.to_string(), f.ty))
                    .collect();
                if let Some(unknown) = object.keys().find(|k| !fields.iter().any(|(n, _)| n == *k))
                {
                    path.push(unknown.clone());
                    let error = ConvertError::new(path, "is not a known field");
                    path.pop();
                    return Err(error);
                }
                let mut out = Vec::with_capacity(fields.len());
                for (name, field_ty) in fields {
                    path.push(name.clone());
                    let converted = convert(object.remove(&name), &field_ty, path);
                    path.pop();
                    out.push((name, converted?));
                }
                Ok(Val::Record(out))
            }
            Value::String(s) => reparse(&s, ty, path, "must be an object"),
            _ => Err(ConvertError::new(path, "must be an object")),
        },
        Type::Tuple(tuple) => {
            let types: Vec<Type> = tuple.types().collect();
            match value {
                Value::Array(items) if items.len() == types.len() => items
                    .into_iter()
                    .zip(&types)
                    .enumerate()
                    .map(|(i, (item, ty))| indexed(path, i, |path| convert(Some(item), ty, path)))
                    .collect::<Result<_, _>>()
                    .map(Val::Tuple),
                Value::Object(mut object) if types.len() == 2 => {
                    if object.len() != 2 {
                        return Err(ConvertError::new(path, PAIR_SHAPES));
                    }
                    let key = object.remove("key").or_else(|| object.remove("name"));
                    let value = object.remove("value");
                    if key.is_none() {
                        return Err(ConvertError::new(path, PAIR_SHAPES));
                    }
                    Ok(Val::Tuple(vec![
                        convert(key, &types[0], path)?,
                        convert(value, &types[1], path)?,
                    ]))
                }
                Value::String(s) => reparse(&s, ty, path, "must be a tuple (a JSON array)"),
                _ => Err(ConvertError::new(
                    path,
                    format!("must be an array of {} items", types.len()),
                )),
            }
        }
        Type::Enum(cases) => {
            let wanted = value.as_str().unwrap_or_default();
            cases
                .names()
                .find(|name| name.eq_ignore_ascii_case(wanted))
                .map(|name| Val::Enum(name.to_string()))
                .ok_or_else(|| {
                    let names: Vec<_> = cases.names().collect();
                    ConvertError::new(path, format!("must be one of: {}", names.join(", ")))
                })
        }
        Type::Variant(variant) => {
            let (case_name, payload) = match value {
                Value::String(s) => (s, None),
                Value::Object(object) if object.len() == 1 => {
                    let (k, v) = object.into_iter().next().expect("one entry");
                    (k, Some(v))
                }
                _ => {
                    return Err(ConvertError::new(
                        path,
                        "must be a case name or {\"case\": payload}",
                    ));
                }
            };
            let case = variant
                .cases()
                .find(|case| case.name.eq_ignore_ascii_case(&case_name))
                .ok_or_else(|| ConvertError::new(path, "names no case of the variant"))?;
            let payload = match &case.ty {
                Some(ty) => Some(Box::new(convert(payload, ty, path)?)),
                None => None,
            };
            Ok(Val::Variant(case.name.to_string(), payload))
        }
        Type::Result(result) => {
            let entry = match value {
                Value::Object(object) if object.len() == 1 => object.into_iter().next(),
                _ => None,
            };
            let Some((key, payload)) = entry else {
                return Err(ConvertError::new(
                    path,
                    "must be {\"ok\": ..} or {\"err\": ..}",
                ));
            };
            let (is_ok, ty) = match key.as_str() {
                "ok" => (true, result.ok()),
                "err" => (false, result.err()),
                _ => {
                    return Err(ConvertError::new(
                        path,
                        "must be {\"ok\": ..} or {\"err\": ..}",
                    ));
                }
            };
            let payload = match ty {
                Some(ty) => Some(Box::new(convert(Some(payload), &ty, path)?)),
                None => None,
            };
            Ok(Val::Result(if is_ok { Ok(payload) } else { Err(payload) }))
        }
        Type::Flags(flags) => {
            let names: Vec<&str> = flags.names().collect();
            let Value::Array(items) = value else {
                return Err(ConvertError::new(path, "must be an array of flag names"));
            };
            items
                .into_iter()
                .map(|item| {
                    item.as_str()
                        .and_then(|s| names.iter().find(|n| n.eq_ignore_ascii_case(s)))
                        .map(|n| n.to_string())
                        .ok_or_else(|| {
                            ConvertError::new(
                                path,
                                format!("flags must be among: {}", names.join(", ")),
                            )
                        })
                })
                .collect::<Result<_, _>>()
                .map(Val::Flags)
        }
        Type::Option(_) => unreachable!("handled above"),
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            Err(ConvertError::new(path, "has a type JSON cannot express"))
        }
    }
}

/// The value an absent input gets, where the type has an obvious empty value.
fn empty_value(ty: &Type, path: &mut Vec<String>) -> Result<Val, ConvertError> {
    Ok(match ty {
        Type::Bool => Val::Bool(false),
        Type::S8 => Val::S8(0),
        Type::U8 => Val::U8(0),
        Type::S16 => Val::S16(0),
        Type::U16 => Val::U16(0),
        Type::S32 => Val::S32(0),
        Type::U32 => Val::U32(0),
        Type::S64 => Val::S64(0),
        Type::U64 => Val::U64(0),
        Type::Float32 => Val::Float32(0.0),
        Type::Float64 => Val::Float64(0.0),
        Type::String => Val::String(String::new()),
        Type::List(_) => Val::List(Vec::new()),
        Type::Map(_) => Val::Map(Vec::new()),
        Type::Option(_) => Val::Option(None),
        Type::Flags(_) => Val::Flags(Vec::new()),
        Type::Record(record) => {
            let mut out = Vec::new();
            for field in record.fields() {
                path.push(field.name.to_string());
                let value = empty_value(&field.ty, path);
                path.pop();
                out.push((field.name.to_string(), value?));
            }
            Val::Record(out)
        }
        Type::Tuple(tuple) => Val::Tuple(
            tuple
                .types()
                .map(|ty| empty_value(&ty, path))
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(ConvertError::new(path, "is missing")),
    })
}

/// What a pair given as JSON must look like.
const PAIR_SHAPES: &str = "must be a [key, value] pair or {\"key\": .., \"value\": ..}";

fn indexed<T>(
    path: &mut Vec<String>,
    index: usize,
    f: impl FnOnce(&mut Vec<String>) -> Result<T, ConvertError>,
) -> Result<T, ConvertError> {
    path.push(format!("[{index}]"));
    let result = f(path);
    path.pop();
    result
}

/// Whether a list element type is a 2-tuple whose first item is a string: a key/value list.
fn is_pair(element: &Type) -> bool {
    match element {
        Type::Tuple(tuple) => {
            let types: Vec<Type> = tuple.types().collect();
            types.len() == 2 && types[0] == Type::String
        }
        _ => false,
    }
}

fn pair_from_entry(
    key: String,
    value: Value,
    element: &Type,
    path: &mut Vec<String>,
) -> Result<Val, ConvertError> {
    let Type::Tuple(tuple) = element else {
        unreachable!("checked by is_pair")
    };
    let value_ty = tuple.types().nth(1).expect("a pair has two types");
    path.push(key.clone());
    let value = convert(Some(value), &value_ty, path);
    path.pop();
    Ok(Val::Tuple(vec![Val::String(key), value?]))
}

/// A string given where structured JSON is expected: parse it, then convert the result.
fn reparse(
    text: &str,
    ty: &Type,
    path: &mut Vec<String>,
    expected: &str,
) -> Result<Val, ConvertError> {
    match serde_json::from_str::<Value>(text) {
        Ok(parsed @ (Value::Array(_) | Value::Object(_))) => convert(Some(parsed), ty, path),
        _ => Err(ConvertError::new(
            path,
            format!("{expected}; the text is not such JSON"),
        )),
    }
}

/// `true`/`false`, as JSON booleans or (any case) strings.
pub(crate) fn to_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A whole number from a JSON number or a numeric string; `None` if it is not one.
pub(crate) fn to_whole(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Some(i128::from(u))
            } else {
                n.as_f64().and_then(whole_float)
            }
        }
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i128>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(whole_float))
        }
        _ => None,
    }
}

fn whole_float(f: f64) -> Option<i128> {
    // Beyond ±2^63 a float is no use as an integer input anyway.
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i128)
}

fn int<T: TryFrom<i128>>(value: &Value, path: &[String], name: &str) -> Result<T, ConvertError> {
    let whole = to_whole(value).ok_or_else(|| ConvertError::new(path, "must be a whole number"))?;
    T::try_from(whole).map_err(|_| ConvertError::new(path, format!("is out of range for {name}")))
}

fn to_float(value: &Value, path: &[String]) -> Result<f64, ConvertError> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .ok_or_else(|| ConvertError::new(path, "must be a number"))
}

fn bytes(value: Value, path: &mut Vec<String>) -> Result<Vec<u8>, ConvertError> {
    match value {
        Value::String(s) => Ok(s.into_bytes()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| indexed(path, i, |path| int::<u8>(item, path, "a byte")))
            .collect(),
        _ => Err(ConvertError::new(
            path,
            "must be text or an array of byte values",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_by_value_moves_its_strings_into_the_value() {
        let text = "row ".repeat(1000);
        let buffer = text.as_ptr();
        let Ok(Val::String(moved)) = json_into_val(Some(Value::String(text)), &Type::String) else {
            panic!("a string converts to a string");
        };
        assert_eq!(moved.as_ptr(), buffer, "the string was copied");
        assert_eq!(moved.len(), 4000);
    }

    #[test]
    fn whole_numbers_from_numbers_and_strings() {
        assert_eq!(to_whole(&json!(5)), Some(5));
        assert_eq!(to_whole(&json!(5.0)), Some(5));
        assert_eq!(to_whole(&json!(" 42 ")), Some(42));
        assert_eq!(to_whole(&json!("-7")), Some(-7));
        assert_eq!(to_whole(&json!(5.5)), None);
        assert_eq!(to_whole(&json!("5.5")), None);
        assert_eq!(to_whole(&json!("ten")), None);
        assert_eq!(to_whole(&json!(true)), None);
    }

    #[test]
    fn booleans_from_json_and_text() {
        assert_eq!(to_bool(&json!(true)), Some(true));
        assert_eq!(to_bool(&json!("FALSE")), Some(false));
        assert_eq!(to_bool(&json!("yes")), None);
        assert_eq!(to_bool(&json!(1)), None);
    }

    #[test]
    fn values_to_json_by_shape() {
        let record = Val::Record(vec![
            ("name".into(), Val::String("x".into())),
            ("count".into(), Val::Option(Some(Box::new(Val::S64(3))))),
            ("none".into(), Val::Option(None)),
            ("kind".into(), Val::Enum("not-found".into())),
            (
                "pairs".into(),
                Val::List(vec![Val::Tuple(vec![
                    Val::String("k".into()),
                    Val::String("v".into()),
                ])]),
            ),
            ("flags".into(), Val::Flags(vec!["a".into(), "c".into()])),
            (
                "variant".into(),
                Val::Variant("some".into(), Some(Box::new(Val::U16(7)))),
            ),
            (
                "result".into(),
                Val::Result(Err(Some(Box::new(Val::Bool(false))))),
            ),
            ("nan".into(), Val::Float64(f64::NAN)),
            ("char".into(), Val::Char('é')),
        ]);
        assert_eq!(
            val_to_json(&record),
            json!({
                "name": "x", "count": 3, "none": null, "kind": "not-found",
                "pairs": [["k", "v"]], "flags": ["a", "c"], "variant": {"some": 7},
                "result": {"err": false}, "nan": null, "char": "é"
            })
        );
        // Field order is the record's declaration order.
        let keys: Vec<String> = val_to_json(&record)
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys.first().map(String::as_str), Some("name"));
        assert_eq!(keys.last().map(String::as_str), Some("char"));
    }

    #[test]
    fn primitive_conversions_guided_by_type() {
        assert!(matches!(
            json_to_val(Some(&json!("12")), &Type::S64),
            Ok(Val::S64(12))
        ));
        assert!(matches!(
            json_to_val(Some(&json!(12)), &Type::U16),
            Ok(Val::U16(12))
        ));
        let error = json_to_val(Some(&json!(70000)), &Type::U16).unwrap_err();
        assert!(error.message.contains("out of range"), "{error}");
        assert!(json_to_val(Some(&json!("abc")), &Type::S64).is_err());
        assert!(matches!(
            json_to_val(Some(&json!("true")), &Type::Bool),
            Ok(Val::Bool(true))
        ));
        assert!(matches!(json_to_val(None, &Type::String), Ok(Val::String(s)) if s.is_empty()));
        assert!(
            matches!(json_to_val(Some(&json!([1, {"a": 2}])), &Type::String), Ok(Val::String(s)) if s == r#"[1,{"a":2}]"#)
        );
        assert!(matches!(
            json_to_val(Some(&json!("x")), &Type::Char),
            Ok(Val::Char('x'))
        ));
        assert!(json_to_val(Some(&json!("xy")), &Type::Char).is_err());
    }

    #[test]
    fn errors_name_the_path_not_the_value() {
        let error = ConvertError {
            path: vec!["headers".into(), "[1]".into(), "value".into()],
            message: "must be text".into(),
        };
        assert_eq!(error.to_string(), "`headers[1].value` must be text");
        assert_eq!(error.top_key(), Some("headers"));
    }
}
