//! What the core shares with the contract's shape: `contract_enum!` declares a core enum that
//! mirrors a WIT enum.

/// Declares a core enum that mirrors an enum of the contract, case for case: its `as_str`
/// gives each case's WIT name and, on wasm32, `From` converts it into the wit-bindgen enum
/// (`$wit`) with an exhaustive match, so a case added on one side only does not compile. The
/// core cannot use the generated enum itself: it builds and tests natively, without
/// wit-bindgen.
macro_rules! contract_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident => $wit:path {
            $( $(#[$case_meta:meta])* $case:ident = $wit_name:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $( $(#[$case_meta])* $case ),+
        }

        impl $name {
            /// The WIT case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$case => $wit_name ),+
                }
            }
        }

        #[cfg(target_arch = "wasm32")]
        impl From<$name> for $wit {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$case => <$wit>::$case ),+
                }
            }
        }
    };
}
