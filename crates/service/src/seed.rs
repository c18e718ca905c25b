//! The demo content of [`ServiceConfig::seed`](crate::ServiceConfig::seed): three
//! workspaces with a push dataset, a non-push dataset (with a table, for DAX queries), a
//! report and a dashboard each, and a little in My workspace, so that a new user's emulator
//! is not empty. `Sales` is on dedicated capacity, so its report can be exported.

use serde_json::{Value, json};

use crate::state::{Report, Shared, State, Table, same_group_name};
use crate::util::new_id;
use crate::validate;

/// One demo workspace.
struct DemoWorkspace {
    name: &'static str,
    /// The push dataset: its name, retention policy and its one table (with a few rows).
    push_dataset: &'static str,
    retention: &'static str,
    table: Value,
    /// Whether the workspace is on dedicated capacity.
    dedicated: bool,
    /// The non-push (import-mode) dataset, its one table (with rows), and the report bound
    /// to it.
    model: &'static str,
    model_table: Value,
    report: &'static str,
    /// The workspace's dashboard.
    dashboard: &'static str,
}

fn workspaces() -> Vec<DemoWorkspace> {
    vec![
        DemoWorkspace {
            name: "Sales",
            push_dataset: "Sales Live",
            retention: "None",
            table: json!({"name": "Orders", "columns": [
                {"name": "OrderId", "dataType": "Int64"},
                {"name": "OrderDate", "dataType": "DateTime"},
                {"name": "Customer", "dataType": "String"},
                {"name": "Region", "dataType": "String"},
                {"name": "Product", "dataType": "String"},
                {"name": "Quantity", "dataType": "Int64"},
                {"name": "Amount", "dataType": "Decimal", "formatString": "#,##0.00"},
                {"name": "Shipped", "dataType": "Boolean"}
            ], "rows": [
                {"OrderId": 10248, "OrderDate": "2024-03-01T09:15:00Z", "Customer": "Contoso Ltd", "Region": "West", "Product": "Road Bike", "Quantity": 2, "Amount": 1799.98, "Shipped": true},
                {"OrderId": 10249, "OrderDate": "2024-03-01T11:42:00Z", "Customer": "Fabrikam Inc", "Region": "East", "Product": "Helmet", "Quantity": 10, "Amount": 349.5, "Shipped": true},
                {"OrderId": 10250, "OrderDate": "2024-03-02T08:03:00Z", "Customer": "Northwind Traders", "Region": "North", "Product": "Mountain Bike", "Quantity": 1, "Amount": 1249.0, "Shipped": false},
                {"OrderId": 10251, "OrderDate": "2024-03-02T16:27:00Z", "Customer": "Adventure Works", "Region": "South", "Product": "Water Bottle", "Quantity": 24, "Amount": 119.76, "Shipped": false}
            ]}),
            dedicated: true,
            model: "Sales Model",
            model_table: json!({"name": "Sales", "columns": [
                {"name": "Month", "dataType": "DateTime"},
                {"name": "Region", "dataType": "String"},
                {"name": "Product", "dataType": "String"},
                {"name": "Units", "dataType": "Int64"},
                {"name": "Revenue", "dataType": "Decimal", "formatString": "#,##0.00"}
            ], "rows": [
                {"Month": "2024-01-01T00:00:00Z", "Region": "West", "Product": "Road Bike", "Units": 42, "Revenue": 37799.58},
                {"Month": "2024-01-01T00:00:00Z", "Region": "East", "Product": "Helmet", "Units": 310, "Revenue": 10834.5},
                {"Month": "2024-02-01T00:00:00Z", "Region": "West", "Product": "Road Bike", "Units": 38, "Revenue": 34199.62},
                {"Month": "2024-02-01T00:00:00Z", "Region": "North", "Product": "Mountain Bike", "Units": 27, "Revenue": 33723.0},
                {"Month": "2024-03-01T00:00:00Z", "Region": "South", "Product": "Water Bottle", "Units": 860, "Revenue": 4291.4}
            ]}),
            report: "Sales Overview",
            dashboard: "Sales Pulse",
        },
        DemoWorkspace {
            name: "Finance",
            push_dataset: "Budget Tracking",
            retention: "None",
            table: json!({"name": "Transactions", "columns": [
                {"name": "TransactionId", "dataType": "Int64"},
                {"name": "Date", "dataType": "DateTime"},
                {"name": "Account", "dataType": "String"},
                {"name": "CostCenter", "dataType": "String"},
                {"name": "Amount", "dataType": "Decimal", "formatString": "#,##0.00"},
                {"name": "Approved", "dataType": "Boolean"}
            ], "rows": [
                {"TransactionId": 5001, "Date": "2024-03-01T00:00:00Z", "Account": "Travel", "CostCenter": "CC-100", "Amount": 842.1, "Approved": true},
                {"TransactionId": 5002, "Date": "2024-03-04T00:00:00Z", "Account": "Software", "CostCenter": "CC-200", "Amount": 2400.0, "Approved": true},
                {"TransactionId": 5003, "Date": "2024-03-05T00:00:00Z", "Account": "Office Supplies", "CostCenter": "CC-100", "Amount": 96.35, "Approved": false}
            ]}),
            dedicated: false,
            model: "Finance Model",
            model_table: json!({"name": "Budget", "columns": [
                {"name": "Month", "dataType": "DateTime"},
                {"name": "Department", "dataType": "String"},
                {"name": "Planned", "dataType": "Decimal"},
                {"name": "Actual", "dataType": "Decimal"}
            ], "rows": [
                {"Month": "2024-01-01T00:00:00Z", "Department": "Marketing", "Planned": 12000.0, "Actual": 11250.4},
                {"Month": "2024-01-01T00:00:00Z", "Department": "Engineering", "Planned": 48000.0, "Actual": 49120.0},
                {"Month": "2024-02-01T00:00:00Z", "Department": "Marketing", "Planned": 12000.0, "Actual": 12890.75},
                {"Month": "2024-02-01T00:00:00Z", "Department": "Engineering", "Planned": 48000.0, "Actual": 46300.1}
            ]}),
            report: "Profit and Loss",
            dashboard: "Finance Summary",
        },
        DemoWorkspace {
            name: "Operations",
            push_dataset: "Sensor Readings",
            // Telemetry keeps the newest rows only, as a real-time dashboard would.
            retention: "basicFIFO",
            table: json!({"name": "Readings", "columns": [
                {"name": "Timestamp", "dataType": "DateTime"},
                {"name": "DeviceId", "dataType": "String"},
                {"name": "Site", "dataType": "String"},
                {"name": "Temperature", "dataType": "Double"},
                {"name": "Humidity", "dataType": "Double"},
                {"name": "Alarm", "dataType": "Boolean"}
            ], "rows": [
                {"Timestamp": "2024-03-01T12:00:00Z", "DeviceId": "sensor-01", "Site": "Seattle", "Temperature": 21.4, "Humidity": 40.2, "Alarm": false},
                {"Timestamp": "2024-03-01T12:00:00Z", "DeviceId": "sensor-02", "Site": "Redmond", "Temperature": 23.9, "Humidity": 38.7, "Alarm": false},
                {"Timestamp": "2024-03-01T12:01:00Z", "DeviceId": "sensor-03", "Site": "Redmond", "Temperature": 31.2, "Humidity": 22.5, "Alarm": true}
            ]}),
            dedicated: false,
            model: "Operations Model",
            model_table: json!({"name": "Incidents", "columns": [
                {"name": "IncidentId", "dataType": "Int64"},
                {"name": "Site", "dataType": "String"},
                {"name": "Severity", "dataType": "Int64"},
                {"name": "OpenedOn", "dataType": "DateTime"},
                {"name": "Resolved", "dataType": "Boolean"}
            ], "rows": [
                {"IncidentId": 1, "Site": "Seattle", "Severity": 2, "OpenedOn": "2024-02-27T08:00:00Z", "Resolved": true},
                {"IncidentId": 2, "Site": "Redmond", "Severity": 1, "OpenedOn": "2024-03-01T12:01:00Z", "Resolved": false},
                {"IncidentId": 3, "Site": "Redmond", "Severity": 3, "OpenedOn": "2024-03-02T16:45:00Z", "Resolved": false}
            ]}),
            report: "Operations Dashboard",
            dashboard: "Site Monitor",
        },
    ]
}

/// The push dataset of My workspace, the report bound to it, and its dashboard.
const MY_DATASET: &str = "Personal Tasks";
const MY_REPORT: &str = "My Tasks";
const MY_DASHBOARD: &str = "My Day";

fn my_table() -> Value {
    json!({"name": "Tasks", "columns": [
        {"name": "TaskId", "dataType": "Int64"},
        {"name": "Title", "dataType": "String"},
        {"name": "Due", "dataType": "DateTime"},
        {"name": "Done", "dataType": "Boolean"}
    ], "rows": [
        {"TaskId": 1, "Title": "Review the sales pipeline", "Due": "2024-03-08T17:00:00Z", "Done": false},
        {"TaskId": 2, "Title": "Send the budget to Finance", "Due": "2024-03-04T12:00:00Z", "Done": true}
    ]})
}

/// A table from its JSON, checked as Create Dataset checks it.
fn demo_table(table: &Value) -> Vec<Table> {
    validate::tables(&Value::Array(vec![table.clone()]), "seed")
        .unwrap_or_else(|details| panic!("invalid demo table: {details:?}"))
        .into_iter()
        .map(Table::from)
        .collect()
}

fn add_report(st: &mut State, group: Option<String>, name: &str, dataset_id: String) {
    st.reports.push(Report {
        id: new_id(),
        group,
        name: name.to_owned(),
        dataset_id: Some(dataset_id),
        paginated: false,
    });
}

/// Adds the demo content (see [`ServiceHandle::seed_demo`](crate::ServiceHandle::seed_demo))
/// and returns the ids of the three workspaces.
pub(crate) fn seed_demo(shared: &Shared) -> Vec<String> {
    let configured_by = shared.config.configured_by.clone();
    let mut st = shared.lock();
    let mut ids = Vec::new();
    for w in workspaces() {
        if let Some(existing) = st.groups.iter().find(|g| same_group_name(&g.name, w.name)) {
            ids.push(existing.id.clone());
            continue;
        }
        let gid = st.add_group(w.name.to_owned(), true).id.clone();
        if w.dedicated
            && let Some(g) = st.groups.iter_mut().find(|g| g.id == gid)
        {
            g.capacity_id = Some(new_id());
        }
        st.add_dataset(
            Some(gid.clone()),
            w.push_dataset.to_owned(),
            true,
            w.retention.to_owned(),
            configured_by.clone(),
            demo_table(&w.table),
        );
        // An imported model: refreshable, no rows API, its tables not listed, but queried
        // with DAX.
        let model = st
            .add_dataset(
                Some(gid.clone()),
                w.model.to_owned(),
                false,
                "None".to_owned(),
                configured_by.clone(),
                demo_table(&w.model_table),
            )
            .id
            .clone();
        add_report(&mut st, Some(gid.clone()), w.report, model);
        st.add_dashboard(Some(gid.clone()), w.dashboard.to_owned());
        ids.push(gid);
    }
    if !st
        .datasets
        .iter()
        .any(|d| d.group.is_none() && d.name == MY_DATASET)
    {
        let id = st
            .add_dataset(
                None,
                MY_DATASET.to_owned(),
                true,
                "None".to_owned(),
                configured_by,
                demo_table(&my_table()),
            )
            .id
            .clone();
        add_report(&mut st, None, MY_REPORT, id);
        st.add_dashboard(None, MY_DASHBOARD.to_owned());
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_tables_are_valid() {
        for w in workspaces() {
            for table in [&w.table, &w.model_table] {
                let tables = demo_table(table);
                assert_eq!(tables.len(), 1, "{}", w.name);
                assert!(!tables[0].rows.is_empty(), "{}", w.name);
            }
        }
        assert_eq!(demo_table(&my_table())[0].name, "Tasks");
    }
}
