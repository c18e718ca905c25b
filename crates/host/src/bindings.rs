//! The typed side of the contract: `wasmtime::component::bindgen!` over the generic
//! `workflow:connector` package (`wit/deps/workflow-connector`), whose `types`, `definition`,
//! `oauth` and `choices` interfaces every connector exports. The host calls `describe`, the
//! OAuth functions and `list-choices` through these bindings and reads action errors into
//! their `ErrorKind`.
//!
//! Only each action's input record stays dynamic (a component's actions are its own); see
//! [`crate::value`].

// The generated code has no docs of its own on some items; the WIT's doc comments become
// the docs of the rest.
#![allow(missing_docs, missing_debug_implementations)]

wasmtime::component::bindgen!({
    path: "../../wit/deps/workflow-connector",
    world: "workflow:connector/base",
    // The guest runs on the connector's runtime with wasmtime's async support.
    exports: { default: async },
    additional_derives: [PartialEq],
});

pub use exports::workflow::connector::choices as choices_iface;
pub use exports::workflow::connector::definition as definition_iface;
pub use exports::workflow::connector::oauth as oauth_iface;
pub use exports::workflow::connector::types as types_iface;

/// The WIT name of an enum case from its Rust name (`KeyValueList` → `key-value-list`):
/// bindgen names Rust cases by upper-camel-casing the WIT names, so this inverts it.
pub(crate) fn wit_case_name(rust_name: &str) -> String {
    let mut out = String::with_capacity(rust_name.len() + 4);
    for (i, c) in rust_name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The WIT case name of a bindgen enum value, from its `Debug` form (`ErrorKind::NotFound`).
pub(crate) fn case_name(debug: impl std::fmt::Debug) -> String {
    let debug = format!("{debug:?}");
    let case = debug.rsplit("::").next().unwrap_or(&debug);
    wit_case_name(case)
}

/// `Serialize` and `Display` as the WIT case name, and `FromStr` from it, for the contract's
/// enums: the CLI prints them, and JSON uses the WIT's names.
macro_rules! wit_enum {
    ($($ty:path => [$($case:ident),* $(,)?]),* $(,)?) => {$(
        impl $ty {
            /// Fails to compile when the WIT gains a case this list lacks.
            #[allow(dead_code)]
            fn exhaustive(self) {
                match self { $(<$ty>::$case => {})* }
            }

            /// Every case, in the WIT's order.
            pub const ALL: &'static [$ty] = &[$(<$ty>::$case),*];

            /// The WIT case name, such as `invalid-input`.
            pub fn as_str(self) -> &'static str {
                // Computed once per case from the generated names, not written by hand.
                static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
                let names = NAMES.get_or_init(|| <$ty>::ALL.iter().map(|c| case_name(c)).collect());
                let at = <$ty>::ALL.iter().position(|c| *c == self).expect("a listed case");
                &names[at]
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                <$ty>::ALL
                    .iter()
                    .copied()
                    .find(|c| c.as_str() == s)
                    .ok_or_else(|| format!("not a case of {}: {s:?}", stringify!($ty)))
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

wit_enum! {
    types_iface::ErrorKind => [
        InvalidInput, Unauthorized, TokenExpired, Forbidden, NotFound, Throttled, Service,
        Timeout, Transport,
    ],
    definition_iface::InputType => [
        String, Password, Boolean, Integer, Code, Picklist, KeyValueList, FileList,
    ],
    oauth_iface::OauthErrorKind => [InvalidInput, AuthorizeAgain, InvalidClient, Service, Transport],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names_are_the_wit_names() {
        assert_eq!(
            types_iface::ErrorKind::TokenExpired.as_str(),
            "token-expired"
        );
        assert_eq!(
            definition_iface::InputType::KeyValueList.to_string(),
            "key-value-list"
        );
        assert_eq!(definition_iface::InputType::String.as_str(), "string");
        assert_eq!(
            "authorize-again".parse::<oauth_iface::OauthErrorKind>(),
            Ok(oauth_iface::OauthErrorKind::AuthorizeAgain)
        );
        assert!("nope".parse::<types_iface::ErrorKind>().is_err());
    }
}
