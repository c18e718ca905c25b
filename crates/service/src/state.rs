//! The emulated tenant: workspaces, datasets, reports, dashboards, imports, and the request
//! log.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::ServiceConfig;
use crate::errors::ApiError;
use crate::export::Export;
use crate::fault::{Fault, FaultKind};
use crate::grants::Login;
use crate::record::RecordedRequest;
use crate::refresh::Refresh;
use crate::tokens::TokenStore;
use crate::util::{new_id, now_iso8601};
use crate::validate::TableSpec;

/// What every request handler shares.
pub(crate) struct Shared {
    pub config: ServiceConfig,
    pub tokens: TokenStore,
    /// `http://127.0.0.1:PORT`, for `@odata.context`.
    pub base_url: String,
    state: Mutex<State>,
    /// The login endpoints' clients, codes and refresh tokens, apart from the tenant so that
    /// neither lock waits on the other.
    login: Mutex<Login>,
}

impl Shared {
    pub fn new(config: ServiceConfig, tokens: TokenStore, base_url: String) -> Self {
        Self {
            login: Mutex::new(Login::new(&config)),
            config,
            tokens,
            base_url,
            state: Mutex::new(State::default()),
        }
    }

    /// The state. Never held across an `.await`: handlers lock, compute, unlock.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler cannot leave the state half-updated in a way that matters to
        // an emulator; keep serving rather than poison every later request.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The login state; like [`lock`](Self::lock), never held across an `.await`.
    pub fn login(&self) -> MutexGuard<'_, Login> {
        self.login.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The API root of a scope: My workspace or a group.
    pub fn scope_url(&self, group: Option<&str>) -> String {
        match group {
            None => format!("{}/v1.0/myorg", self.base_url),
            Some(g) => format!("{}/v1.0/myorg/groups/{g}", self.base_url),
        }
    }

    /// An OData list envelope.
    pub fn envelope(&self, group: Option<&str>, entity: &str, value: Vec<Value>) -> Value {
        json!({
            "@odata.context": format!("{}/$metadata#{entity}", self.scope_url(group)),
            "value": value,
        })
    }
}

/// A workspace ("group").
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: String,
    pub name: String,
    /// Whether the signed-in user is a member. A workspace they are not a member of exists
    /// (its name is taken) but is not listed, and every call under it answers 404.
    pub member: bool,
    /// The id of the dedicated (Premium, Embedded or Fabric) capacity the workspace is on;
    /// `None` for shared capacity, the default.
    pub capacity_id: Option<String>,
}

impl Group {
    /// The workspace as List Groups shows it (Swagger's `Group`).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "isReadOnly": false,
            "isOnDedicatedCapacity": self.capacity_id.is_some(),
            "name": self.name,
        });
        if let Some(capacity) = &self.capacity_id {
            v["capacityId"] = Value::String(capacity.clone());
        }
        v
    }
}

/// Whether `id` has the form of a GUID (`8-4-4-4-12` hexadecimal digits, any case), the
/// form Swagger gives every `groupId` (`format: uuid`).
pub(crate) fn is_guid(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether two workspace names are the same name. Microsoft requires names to be unique in
/// the organization (Swagger, Groups_UpdateGroup: "The name must be unique inside an
/// organization") without saying how they compare; the emulator compares them ignoring
/// case and surrounding white space (unverified: the stricter choice, so that a client
/// which works here does not meet a conflict there).
pub(crate) fn same_group_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// A dataset in a scope (`group: None` is My workspace).
#[derive(Debug, Clone)]
pub(crate) struct Dataset {
    pub id: String,
    pub group: Option<String>,
    pub name: String,
    pub push: bool,
    pub retention: String,
    pub configured_by: String,
    pub created: String,
    pub tables: Vec<Table>,
    /// When each POST rows request in the last minute was accepted, oldest first.
    pub rows_requests: VecDeque<Instant>,
    /// When each POST rows request in the last hour was accepted, and how many rows it
    /// stored, oldest first (the hourly limits).
    pub rows_hour: VecDeque<(Instant, usize)>,
    /// The refresh history, oldest first.
    pub refreshes: Vec<Refresh>,
    /// When each refresh request of the last 24 hours was accepted, oldest first (the daily
    /// limit of shared capacity).
    pub refresh_times: VecDeque<Instant>,
}

/// A table of a dataset.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub name: String,
    /// The canonical table JSON: `name`, `columns`, and optional properties; no rows.
    pub schema: Map<String, Value>,
    pub rows: Vec<Value>,
}

impl From<TableSpec> for Table {
    fn from(spec: TableSpec) -> Self {
        Self {
            name: spec.name,
            schema: spec.schema,
            rows: spec.rows,
        }
    }
}

impl Table {
    pub fn columns(&self) -> Vec<Value> {
        self.schema
            .get("columns")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
}

fn web_url(group: Option<&str>, kind: &str, id: &str) -> String {
    format!(
        "https://app.powerbi.com/groups/{}/{kind}/{id}",
        group.unwrap_or("me")
    )
}

impl Dataset {
    /// The dataset as List Datasets shows it (camelCase, as the live service answers).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "webUrl": web_url(self.group.as_deref(), "datasets", &self.id),
            "addRowsAPIEnabled": self.push,
            "configuredBy": self.configured_by,
            "isRefreshable": !self.push,
            "isEffectiveIdentityRequired": false,
            "isEffectiveIdentityRolesRequired": false,
            "isOnPremGatewayRequired": false,
            "createdDate": self.created,
        })
    }

    /// The dataset as Create Dataset answers it: the list form plus the retention policy.
    pub fn to_created_json(&self) -> Value {
        let mut v = self.to_json();
        v["defaultRetentionPolicy"] = Value::String(self.retention.clone());
        v
    }

    /// A table by its exact (case-sensitive) name.
    pub fn table_mut(&mut self, name: &str) -> Result<&mut Table, ApiError> {
        self.tables
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or_else(ApiError::entity_not_found)
    }
}

/// A report.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub id: String,
    pub group: Option<String>,
    pub name: String,
    pub dataset_id: Option<String>,
    pub paginated: bool,
}

impl Report {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "reportType": if self.paginated { "PaginatedReport" } else { "PowerBIReport" },
            "name": self.name,
            "webUrl": web_url(self.group.as_deref(), "reports", &self.id),
            "embedUrl": match &self.group {
                None => format!("https://app.powerbi.com/reportEmbed?reportId={}", self.id),
                Some(g) => format!(
                    "https://app.powerbi.com/reportEmbed?reportId={}&groupId={g}",
                    self.id
                ),
            },
        });
        if let Some(d) = &self.dataset_id {
            v["datasetId"] = Value::String(d.clone());
        }
        v
    }
}

/// A dashboard (Swagger's `Dashboard`). Tiles are not emulated.
#[derive(Debug, Clone)]
pub(crate) struct Dashboard {
    pub id: String,
    pub group: Option<String>,
    pub name: String,
}

impl Dashboard {
    /// The dashboard as List Dashboards shows it: the properties of Swagger's `Dashboard`
    /// that its examples answer, plus `webUrl`. `appId` (dashboards of apps) is never sent,
    /// nor the deprecated, always empty `users` and `subscriptions`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "displayName": self.name,
            "isReadOnly": false,
            "webUrl": web_url(self.group.as_deref(), "dashboards", &self.id),
            "embedUrl": match &self.group {
                None => format!("https://app.powerbi.com/dashboardEmbed?dashboardId={}", self.id),
                Some(g) => format!(
                    "https://app.powerbi.com/dashboardEmbed?dashboardId={}&groupId={g}",
                    self.id
                ),
            },
        })
    }
}

/// An import of an uploaded file.
#[derive(Debug, Clone)]
pub(crate) struct Import {
    pub id: String,
    pub group: Option<String>,
    pub name: String,
    pub created: String,
    pub dataset_ids: Vec<String>,
    pub report_ids: Vec<String>,
}

/// The whole mutable state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub groups: Vec<Group>,
    pub datasets: Vec<Dataset>,
    pub reports: Vec<Report>,
    pub dashboards: Vec<Dashboard>,
    pub imports: Vec<Import>,
    pub faults: Vec<Fault>,
    /// The request log with a sequence number each, so a status can be filled in later even
    /// after `clear_requests`.
    pub requests: VecDeque<(u64, RecordedRequest)>,
    pub next_seq: u64,
    /// The `id` of the next refresh history entry (increasing across the tenant).
    pub next_refresh_id: u64,
    /// Datasets (lower-case id) whose refreshes end `Failed`, with the error code.
    pub refresh_failures: HashMap<String, String>,
    /// Reports (lower-case id) whose exports end `Failed`.
    pub export_failures: HashSet<String>,
    /// Export To File jobs.
    pub exports: Vec<Export>,
    /// When each Execute Queries request of the last minute was accepted (one user).
    pub queries: VecDeque<Instant>,
}

/// GUIDs compare ignoring case: clients may upper-case them.
pub(crate) fn same_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl State {
    /// The canonical id of the workspace a request names, or 404 `PowerBIEntityNotFound`:
    /// for an id that is not a GUID, an unknown one, and a workspace the user is not a
    /// member of (the user cannot tell it from one that does not exist).
    pub fn resolve_group(&self, group: Option<&str>) -> Result<Option<String>, ApiError> {
        match group {
            None => Ok(None),
            Some(g) => Ok(Some(self.member_group(g)?.id.clone())),
        }
    }

    /// A workspace the user is a member of, or 404 as for
    /// [`resolve_group`](Self::resolve_group).
    pub fn member_group(&self, id: &str) -> Result<&Group, ApiError> {
        self.group(id)
            .filter(|g| g.member)
            .ok_or_else(ApiError::entity_not_found)
    }

    /// Like [`resolve_group`](Self::resolve_group), workspaces the user is not a member of
    /// included: for the test helpers, which see the whole tenant.
    pub fn resolve_any_group(&self, group: Option<&str>) -> Result<Option<String>, ApiError> {
        match group {
            None => Ok(None),
            Some(g) => self
                .group(g)
                .map(|x| Some(x.id.clone()))
                .ok_or_else(ApiError::entity_not_found),
        }
    }

    /// A workspace by id, member or not.
    fn group(&self, id: &str) -> Option<&Group> {
        if !is_guid(id) {
            return None;
        }
        self.groups.iter().find(|x| same_id(&x.id, id))
    }

    /// Adds a workspace and returns it. Names are not checked here (the API checks them).
    pub fn add_group(&mut self, name: String, member: bool) -> &Group {
        self.groups.push(Group {
            id: new_id(),
            name,
            member,
            capacity_id: None,
        });
        self.groups.last().expect("just pushed")
    }

    /// Whether a workspace of that name exists, whether the user is a member or not.
    pub fn group_name_taken(&self, name: &str) -> bool {
        self.groups.iter().any(|g| same_group_name(&g.name, name))
    }

    /// Deletes a workspace with everything in it: datasets, reports, dashboards, imports.
    pub fn remove_group(&mut self, id: &str) {
        let gone = |g: &Option<String>| g.as_deref().is_some_and(|g| same_id(g, id));
        self.groups.retain(|g| !same_id(&g.id, id));
        self.datasets.retain(|d| !gone(&d.group));
        self.reports.retain(|r| !gone(&r.group));
        self.dashboards.retain(|d| !gone(&d.group));
        self.imports.retain(|i| !gone(&i.group));
        self.exports.retain(|e| !gone(&e.group));
    }

    /// Whether a scope is on dedicated capacity (My workspace never is).
    pub fn dedicated(&self, group: &Option<String>) -> bool {
        group
            .as_deref()
            .and_then(|g| self.group(g))
            .is_some_and(|g| g.capacity_id.is_some())
    }

    /// A report of the scope, or 404.
    pub fn report(&self, group: &Option<String>, id: &str) -> Result<&Report, ApiError> {
        self.reports
            .iter()
            .find(|r| &r.group == group && same_id(&r.id, id))
            .ok_or_else(ApiError::entity_not_found)
    }

    /// Adds a dashboard and returns it.
    pub fn add_dashboard(&mut self, group: Option<String>, name: String) -> &Dashboard {
        self.dashboards.push(Dashboard {
            id: new_id(),
            group,
            name,
        });
        self.dashboards.last().expect("just pushed")
    }

    /// A dataset of the scope, or 404: a dataset of another workspace is not found.
    pub fn dataset_mut(
        &mut self,
        group: &Option<String>,
        id: &str,
    ) -> Result<&mut Dataset, ApiError> {
        self.datasets
            .iter_mut()
            .find(|d| &d.group == group && same_id(&d.id, id))
            .ok_or_else(ApiError::entity_not_found)
    }

    /// A push dataset of the scope, or 404 (the table APIs serve push datasets only).
    pub fn push_dataset_mut(
        &mut self,
        group: &Option<String>,
        id: &str,
    ) -> Result<&mut Dataset, ApiError> {
        let d = self.dataset_mut(group, id)?;
        if d.push {
            Ok(d)
        } else {
            Err(ApiError::entity_not_found())
        }
    }

    /// Adds a dataset and returns its id.
    pub fn add_dataset(
        &mut self,
        group: Option<String>,
        name: String,
        push: bool,
        retention: String,
        configured_by: String,
        tables: Vec<Table>,
    ) -> &Dataset {
        self.datasets.push(Dataset {
            id: new_id(),
            group,
            name,
            push,
            retention,
            configured_by,
            created: now_iso8601(),
            tables,
            rows_requests: VecDeque::new(),
            rows_hour: VecDeque::new(),
            refreshes: Vec::new(),
            refresh_times: VecDeque::new(),
        });
        self.datasets.last().expect("just pushed")
    }

    /// The first live fault matching a request, used once.
    pub fn take_fault(&mut self, method: &str, raw: &str, decoded: &str) -> Option<FaultKind> {
        let i = self
            .faults
            .iter()
            .position(|f| f.times > 0 && f.matches(method, raw, decoded))?;
        let f = &mut self.faults[i];
        f.times -= 1;
        let kind = f.kind.clone();
        if f.times == 0 {
            self.faults.remove(i);
        }
        Some(kind)
    }

    /// Appends a request to the log, dropping the oldest beyond `max`, and returns its
    /// sequence number.
    pub fn record(&mut self, request: RecordedRequest, max: usize) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        while self.requests.len() >= max.max(1) {
            self.requests.pop_front();
        }
        self.requests.push_back((seq, request));
        seq
    }

    /// Sets the status of a logged request (if it was not cleared since).
    pub fn set_status(&mut self, seq: u64, status: u16) {
        if let Some((_, r)) = self.requests.iter_mut().rev().find(|(s, _)| *s == seq) {
            r.status = status;
        }
    }
}

/// Sliding one-minute window of accepted POST rows requests. Returns the seconds to wait
/// when the limit is reached; otherwise counts this request.
pub(crate) fn rate_limit(
    window: &mut VecDeque<Instant>,
    per_minute: u32,
    now: Instant,
) -> Result<(), u64> {
    const WINDOW: Duration = Duration::from_secs(60);
    if per_minute == 0 {
        return Ok(());
    }
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= WINDOW)
    {
        window.pop_front();
    }
    if window.len() >= per_minute as usize {
        let oldest = *window.front().expect("non-empty when at the limit");
        let wait = WINDOW.saturating_sub(now.duration_since(oldest));
        // Round up and never say 0: a client that waits 0 s would just be throttled again.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(secs.max(1));
    }
    window.push_back(now);
    Ok(())
}

/// The hourly limits of one dataset for a request of `rows` rows to a table holding
/// `table_rows`: `Err((seconds, which))` when it must wait, with `Retry-After` the whole
/// seconds until it would fit. The caller records accepted requests in `window`.
pub(crate) fn hourly_limit(
    window: &mut VecDeque<(Instant, usize)>,
    limits: &crate::ServiceConfig,
    rows: usize,
    table_rows: usize,
    now: Instant,
) -> Result<(), (u64, HourlyLimit)> {
    const HOUR: Duration = Duration::from_secs(3600);
    while window
        .front()
        .is_some_and(|(t, _)| now.duration_since(*t) >= HOUR)
    {
        window.pop_front();
    }
    let wait_until_gone = |index: usize| {
        let (at, _) = window[index];
        let wait = HOUR.saturating_sub(now.duration_since(at));
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    };
    if limits.large_table_requests_per_hour > 0
        && table_rows >= limits.large_table_rows
        && window.len() >= limits.large_table_requests_per_hour as usize
    {
        // Waiting until enough requests have left the window to make room for this one.
        let index = window.len() - limits.large_table_requests_per_hour as usize;
        return Err((wait_until_gone(index), HourlyLimit::LargeTableRequests));
    }
    if limits.rows_per_hour > 0 {
        let total: u64 = window.iter().map(|(_, n)| *n as u64).sum();
        let mut over = (total + rows as u64).saturating_sub(limits.rows_per_hour);
        if over > 0 {
            // A request over the limit on its own can never fit: it waits the whole hour.
            let mut index = 0;
            while over > 0 && index < window.len() {
                over = over.saturating_sub(window[index].1 as u64);
                index += 1;
            }
            let secs = if over > 0 || index == 0 {
                3600
            } else {
                wait_until_gone(index - 1)
            };
            return Err((secs, HourlyLimit::Rows));
        }
    }
    Ok(())
}

/// Which hourly limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HourlyLimit {
    /// The rows per hour of the dataset.
    Rows,
    /// The requests per hour to a table over the large-table threshold.
    LargeTableRequests,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("f089354e-8366-4e18-aea3-4cb4a3a50b48"));
        assert!(is_guid("F089354E-8366-4E18-AEA3-4CB4A3A50B48"));
        for bad in [
            "",
            "me",
            "f089354e83664e18aea34cb4a3a50b48",
            "{f089354e-8366-4e18-aea3-4cb4a3a50b48}",
            "f089354e-8366-4e18-aea3-4cb4a3a50b4g",
            "f089354e-8366-4e18-aea3-4cb4a3a50b48 ",
            "f089354e_8366-4e18-aea3-4cb4a3a50b48",
        ] {
            assert!(!is_guid(bad), "{bad}");
        }
    }

    #[test]
    fn group_names_compare_ignoring_case() {
        assert!(same_group_name("Sales", "sales"));
        assert!(same_group_name("Ventes Été", " VENTES ÉTÉ "));
        assert!(!same_group_name("Sales", "Sales 2"));
    }

    #[test]
    fn rate_window() {
        let mut w = VecDeque::new();
        let t0 = Instant::now();
        assert!(rate_limit(&mut w, 2, t0).is_ok());
        assert!(rate_limit(&mut w, 2, t0 + Duration::from_secs(10)).is_ok());
        assert_eq!(rate_limit(&mut w, 2, t0 + Duration::from_secs(20)), Err(40));
        assert_eq!(
            rate_limit(&mut w, 2, t0 + Duration::from_millis(59_900)),
            Err(1)
        );
        assert!(rate_limit(&mut w, 2, t0 + Duration::from_secs(60)).is_ok());
        assert!(rate_limit(&mut w, 0, t0).is_ok());
    }
}
