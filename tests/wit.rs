//! Standard tools can read the built component: decoding it the way `wasm-tools component wit`
//! does (wit-parser) yields our interfaces with a doc comment on every interface, type, field,
//! case and function.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use wit_parser::decoding::DecodedWasm;
use wit_parser::{Docs, Resolve, TypeDefKind, WorldItem};

/// The `.wasm` the host loads, decoded as a component.
fn decoded_component() -> Result<(Resolve, wit_parser::WorldId)> {
    let path = pbi_host::component_path();
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match wit_parser::decoding::decode(&bytes).context("decoding the component")? {
        DecodedWasm::Component(resolve, world) => Ok((resolve, world)),
        DecodedWasm::WitPackage(..) => {
            bail!("{} is a WIT package, not a component", path.display())
        }
    }
}

fn documented(docs: &Docs) -> bool {
    docs.contents
        .as_deref()
        .is_some_and(|text| !text.trim().is_empty())
}

/// Every exported interface's item that has no doc comment after decoding, as `interface.item`.
fn undocumented(resolve: &Resolve, world: wit_parser::WorldId) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for item in resolve.worlds[world].exports.values() {
        let WorldItem::Interface { id, .. } = item else {
            bail!("the component exports something other than an interface: {item:?}");
        };
        let interface = &resolve.interfaces[*id];
        let name = interface.name.clone().unwrap_or_default();
        if !documented(&interface.docs) {
            missing.push(name.clone());
        }
        for (function, def) in &interface.functions {
            if !documented(&def.docs) {
                missing.push(format!("{name}.{function}"));
            }
        }
        for (type_name, type_id) in &interface.types {
            let def = &resolve.types[*type_id];
            // A `use`d type is an alias of the documented original.
            if matches!(def.kind, TypeDefKind::Type(_)) {
                continue;
            }
            let path = format!("{name}.{type_name}");
            if !documented(&def.docs) {
                missing.push(path.clone());
            }
            let members: Vec<(&str, &Docs)> = match &def.kind {
                TypeDefKind::Record(record) => record
                    .fields
                    .iter()
                    .map(|f| (f.name.as_str(), &f.docs))
                    .collect(),
                TypeDefKind::Enum(enumeration) => enumeration
                    .cases
                    .iter()
                    .map(|c| (c.name.as_str(), &c.docs))
                    .collect(),
                TypeDefKind::Variant(variant) => variant
                    .cases
                    .iter()
                    .map(|c| (c.name.as_str(), &c.docs))
                    .collect(),
                TypeDefKind::Flags(flags) => flags
                    .flags
                    .iter()
                    .map(|f| (f.name.as_str(), &f.docs))
                    .collect(),
                _ => Vec::new(),
            };
            missing.extend(
                members
                    .into_iter()
                    .filter(|(_, docs)| !documented(docs))
                    .map(|(member, _)| format!("{path}.{member}")),
            );
        }
    }
    Ok(missing)
}

#[test]
fn component_wit_carries_every_doc_comment() -> Result<()> {
    let (resolve, world) = decoded_component()?;
    let missing = undocumented(&resolve, world)?;
    assert!(
        missing.is_empty(),
        "decoded without a doc comment: {missing:#?}"
    );

    // The check above covers what was decoded; make sure that is the whole contract.
    let exported: BTreeSet<String> = resolve.worlds[world]
        .exports
        .keys()
        .map(|key| resolve.name_world_key(key))
        .collect();
    let expected: BTreeSet<String> = [
        "root:component/types",
        pbi_host::DEFINITION_INTERFACE,
        pbi_host::ACTIONS_INTERFACE,
        pbi_host::OAUTH_INTERFACE,
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(exported, expected);

    let package = resolve.worlds[world]
        .package
        .context("the world has a package")?;
    assert!(
        documented(&resolve.packages[package].docs),
        "package docs were not decoded"
    );
    Ok(())
}

#[test]
fn component_wit_matches_the_wit_source() -> Result<()> {
    let (decoded, world) = decoded_component()?;
    let mut source = Resolve::default();
    let (package, _) = source.push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/wit"))?;

    // Same functions, each with the same doc comment as in `wit/`.
    let mut checked = 0;
    for (name, interface) in &source.packages[package].interfaces {
        let decoded_interface = decoded.worlds[world]
            .exports
            .values()
            .find_map(|item| match item {
                WorldItem::Interface { id, .. }
                    if decoded.interfaces[*id].name.as_deref() == Some(name.as_str()) =>
                {
                    Some(&decoded.interfaces[*id])
                }
                _ => None,
            })
            .with_context(|| format!("interface {name} is not exported by the component"))?;
        for (function, def) in &source.interfaces[*interface].functions {
            let decoded_function = decoded_interface
                .functions
                .get(function)
                .with_context(|| format!("{name}.{function} is missing from the component"))?;
            assert_eq!(decoded_function.docs, def.docs, "docs of {name}.{function}");
            checked += 1;
        }
    }
    assert!(checked >= 13, "only {checked} functions compared");
    Ok(())
}
