//! The contract (`wit/`) against itself, the built component and the component's definition:
//!
//! - every interface, type, field, case and function of the WIT source has a doc comment;
//! - the built component exports exactly what the `connector` world says, by versioned name;
//! - its actions interface exports exactly the definition's actions (both ways), and each
//!   action's input keys equal its WIT input record's fields, in order.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use wit_parser::decoding::DecodedWasm;
use wit_parser::{Docs, Resolve, Type, TypeDefKind, WorldItem};

/// The `.wasm` the host loads, decoded as a component.
fn decoded_component() -> Result<(Resolve, wit_parser::WorldId)> {
    let path = pbi_component::connector_wasm();
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match wit_parser::decoding::decode(&bytes).context("decoding the component")? {
        DecodedWasm::Component(resolve, world) => Ok((resolve, world)),
        DecodedWasm::WitPackage(..) => {
            bail!("{} is a WIT package, not a component", path.display())
        }
    }
}

/// The WIT source and its `connector` world.
fn source() -> Result<(Resolve, wit_parser::WorldId)> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/wit"))?;
    let world = resolve.select_world(&[package], Some("connector"))?;
    Ok((resolve, world))
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
fn the_wit_source_has_a_doc_comment_on_everything() -> Result<()> {
    let (resolve, world) = source()?;
    let missing = undocumented(&resolve, world)?;
    assert!(missing.is_empty(), "without a doc comment: {missing:#?}");
    // Both packages, the world and the generic one, say what they are.
    for (_, package) in resolve.packages.iter() {
        assert!(documented(&package.docs), "{} has no docs", package.name);
    }
    Ok(())
}

#[test]
fn the_component_exports_the_world_by_versioned_names() -> Result<()> {
    let names = |resolve: &Resolve, world: wit_parser::WorldId| -> BTreeSet<String> {
        resolve.worlds[world]
            .exports
            .keys()
            .map(|key| resolve.name_world_key(key))
            .collect()
    };
    let (source, source_world) = source()?;
    let (decoded, decoded_world) = decoded_component()?;
    let expected = names(&source, source_world);
    assert_eq!(names(&decoded, decoded_world), expected);
    assert!(
        expected.contains("powerbi:connector/actions@0.3.0")
            && expected.contains("workflow:connector/definition@0.3.0"),
        "{expected:?}"
    );
    Ok(())
}

/// The functions of the world's `actions` interface and each one's input record fields.
fn wit_actions() -> Result<Vec<(String, Vec<String>)>> {
    let (resolve, world) = source()?;
    let actions = resolve.worlds[world]
        .exports
        .values()
        .find_map(|item| match item {
            WorldItem::Interface { id, .. }
                if resolve.interfaces[*id].name.as_deref() == Some("actions") =>
            {
                Some(&resolve.interfaces[*id])
            }
            _ => None,
        })
        .context("no actions interface")?;
    let mut out = Vec::new();
    for (name, function) in &actions.functions {
        let [_, input] = function.params.as_slice() else {
            bail!("{name} does not take (connection, input)");
        };
        let Type::Id(input) = &input.ty else {
            bail!("{name}'s input is not a record");
        };
        let TypeDefKind::Record(record) = &resolve.types[*input].kind else {
            bail!("{name}'s input is not a record");
        };
        out.push((
            name.clone(),
            record.fields.iter().map(|f| f.name.clone()).collect(),
        ));
    }
    Ok(out)
}

#[test]
fn wit_actions_equal_the_definition_actions_and_their_inputs() -> Result<()> {
    let connector = pbi_host::Connector::load(
        pbi_component::connector_wasm(),
        pbi_host::HostConfig::default(),
    )?;
    let definition = connector.definition();
    let wit = wit_actions()?;
    let wit_keys: BTreeSet<&str> = wit.iter().map(|(k, _)| k.as_str()).collect();
    let defined: BTreeSet<&str> = definition.actions.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(wit_keys, defined, "WIT exports against definition actions");
    let exported: BTreeSet<&str> = connector.exported_actions().collect();
    assert_eq!(exported, defined, "built component against definition");
    assert_eq!(
        pbi_component::EXPORTED_ACTIONS
            .iter()
            .copied()
            .collect::<BTreeSet<_>>(),
        defined,
        "foreach_action! against definition"
    );
    for (key, fields) in &wit {
        let action = definition.action(key).context("checked above")?;
        let inputs: Vec<&str> = action.inputs.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            inputs, *fields,
            "{key}: definition inputs against WIT record fields"
        );
    }
    Ok(())
}
