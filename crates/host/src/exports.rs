//! Finding what a component exports: the interface named `actions` in whatever package, its
//! functions with their parameters, and `describe` for the dynamic call that reads it as JSON.

use crate::error::HostError;
use std::collections::BTreeMap;
use wasmtime::Engine;
use wasmtime::component::{Component, ComponentExportIndex, Type, types::ComponentItem};

/// The name of the interface, in any package and at any version, that holds one function
/// per action.
pub const ACTIONS_INTERFACE: &str = "actions";

/// One action function: where it is and what it takes.
#[derive(Clone)]
pub(crate) struct ActionFunc {
    pub(crate) index: ComponentExportIndex,
    pub(crate) params: Vec<(String, Type)>,
}

/// The functions an exported interface holds, by name, with their parameters.
pub(crate) fn exported_functions(
    engine: &Engine,
    component: &Component,
    interface: &str,
) -> Result<BTreeMap<String, ActionFunc>, HostError> {
    let interface_index = component
        .get_export_index(None, interface)
        .ok_or_else(|| HostError::MissingExport(interface.to_string()))?;
    let mut functions = BTreeMap::new();
    let component_type = component.component_type();
    if let Some(ComponentItem::ComponentInstance(instance)) = component_type
        .get_export(engine, interface)
        .map(|export| export.ty)
    {
        for (name, export) in instance.exports(engine) {
            let ComponentItem::ComponentFunc(func) = export.ty else {
                continue;
            };
            let Some(index) = component.get_export_index(Some(&interface_index), name) else {
                continue;
            };
            let params = func
                .params()
                .map(|(param, ty)| (param.to_string(), ty))
                .collect();
            functions.insert(name.to_string(), ActionFunc { index, params });
        }
    }
    Ok(functions)
}

/// The exported interface named [`ACTIONS_INTERFACE`], in whatever package and version
/// (`powerbi:connector/actions@0.3.0`).
pub(crate) fn actions_interface(
    engine: &Engine,
    component: &Component,
) -> Result<String, HostError> {
    let component_type = component.component_type();
    let mut found = component_type
        .exports(engine)
        .map(|(name, _)| name)
        .filter(|name| {
            let interface = name.split('@').next().unwrap_or(name);
            interface.rsplit('/').next() == Some(ACTIONS_INTERFACE)
        });
    match (found.next(), found.next()) {
        (Some(name), None) => Ok(name.to_string()),
        (None, _) => Err(HostError::MissingExport(format!(
            "an interface named `{ACTIONS_INTERFACE}`"
        ))),
        (Some(one), Some(two)) => Err(HostError::Definition(format!(
            "two interfaces named `{ACTIONS_INTERFACE}`: {one} and {two}"
        ))),
    }
}

/// Where `describe` is, for the dynamic call that reads its answer as JSON.
pub(crate) fn describe_index(
    engine: &Engine,
    component: &Component,
) -> Result<ComponentExportIndex, HostError> {
    let name = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name)
        .find(|name| name.split('@').next() == Some("workflow:connector/definition"))
        .map(str::to_string)
        .ok_or_else(|| HostError::MissingExport("workflow:connector/definition".into()))?;
    let interface = component
        .get_export_index(None, &name)
        .ok_or_else(|| HostError::MissingExport(name.clone()))?;
    component
        .get_export_index(Some(&interface), "describe")
        .ok_or_else(|| HostError::MissingExport(format!("{name}#describe")))
}
