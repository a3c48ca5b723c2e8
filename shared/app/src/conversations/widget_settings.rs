//! A tenant's widget settings (`GET|PUT /v1/settings/widget`), what visitors see of them
//! (`GET /v1/widget/config`), and the checks the widget endpoints make with them: the origins allowed to embed
//! the widget (CORS), the pre-chat form's answers and the groups a visitor may choose.
//!
//! The settings are one typed record in the tenant's partition (`SETTINGS#WIDGET`); a tenant that never saved
//! any has the defaults.

use std::collections::{BTreeMap, HashSet};

use kefu_domain::routing::Needs;
use kefu_domain::widget::{self, FieldKind, Origin};
use kefu_domain::{GroupId, TenantId, ValidationError};
use kefu_ports::table::{Item, Query, TableError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::ConversationError;
use crate::App;
use crate::assignment::store::Snapshot;
use crate::plumbing::keys;

/// The default `attachments.max_bytes`: 10 MiB.
pub const DEFAULT_ATTACHMENT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// The largest `attachments.max_bytes` a tenant may set: 100 MiB.
pub const ATTACHMENT_MAX_BYTES_LIMIT: u64 = 100 * 1024 * 1024;
/// The most origins in `allowed_origins`.
pub const MAX_ORIGINS: usize = 100;
/// The most fields a pre-chat form has.
pub const MAX_FORM_FIELDS: usize = 20;
/// The most options a select field has.
pub const MAX_OPTIONS: usize = 50;
/// The most groups visitors may choose from.
pub const MAX_VISITOR_GROUPS: usize = 50;
/// The most attachment content types.
pub const MAX_CONTENT_TYPES: usize = 50;

/// The widget's language: the browser's (`auto`) or a fixed one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub enum Language {
    /// Follow the browser (zh-CN or English).
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

/// What the widget offers when nobody can take a chat (`online` is false).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfflineMode {
    /// The leave-a-message form (a ticket in `leave_message_group_id`).
    LeaveMessage,
    /// Start the chat anyway; it waits in the queue for working hours.
    #[default]
    Queue,
}

/// One field of the pre-chat form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct FormField {
    /// The answer's key (`pre_chat.<name>`, and the customer attribute it is kept as): a lower-case letter,
    /// then lower-case letters, digits or `_`, at most 32 characters; unique in the form.
    pub name: String,
    /// What the visitor reads, 1..=100 characters.
    pub label: String,
    /// `text` | `email` | `phone` | `select`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "http", schema(schema_with = field_kind_schema))]
    pub kind: FieldKind,
    /// Whether the visitor must answer it.
    #[serde(default)]
    pub required: bool,
    /// The choices of a `select` field (1..=50, each 1..=100 characters); absent for the other types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
}

/// The OpenAPI schema of [`FieldKind`] (a domain type, which knows nothing of OpenAPI): one of four strings.
#[cfg(feature = "http")]
fn field_kind_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["text", "email", "phone", "select"]))
        .build()
}

/// The form a visitor fills in before the chat starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PreChatForm {
    /// Whether the widget shows it (default false).
    #[serde(default)]
    pub enabled: bool,
    /// Its fields, in order (at most 20).
    #[serde(default)]
    pub fields: Vec<FormField>,
}

/// Whether and what visitors may upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct AttachmentSettings {
    /// Whether the widget offers uploads (default false).
    #[serde(default)]
    pub enabled: bool,
    /// The largest file, 1..=104857600 bytes (default 10 MiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// MIME types accepted, `type/subtype` or `type/*` (default images and PDF).
    #[serde(default = "default_content_types")]
    pub content_types: Vec<String>,
}

fn default_max_bytes() -> u64 {
    DEFAULT_ATTACHMENT_MAX_BYTES
}

fn default_content_types() -> Vec<String> {
    ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"].map(str::to_owned).to_vec()
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        Self { enabled: false, max_bytes: DEFAULT_ATTACHMENT_MAX_BYTES, content_types: default_content_types() }
    }
}

/// A tenant's widget settings, as the API shows them and as they are stored. (Every field is always in an
/// answer; `serde(default)` is for stored records that predate a field.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct WidgetSettings {
    /// The chat window's title, 1..=80 characters.
    #[cfg_attr(feature = "http", schema(required = true))]
    pub title: String,
    /// The launcher's and header's colour, `#rgb` or `#rrggbb`.
    #[cfg_attr(feature = "http", schema(required = true))]
    pub color: String,
    /// The first line a visitor reads, at most 1000 characters (may be empty).
    #[cfg_attr(feature = "http", schema(required = true))]
    pub greeting: String,
    /// `auto` (the browser's), `zh-CN` or `en`.
    #[cfg_attr(feature = "http", schema(required = true))]
    pub language: Language,
    /// Origins (`scheme://host[:port]`) whose pages may use the widget; empty: every origin (at most 100).
    #[cfg_attr(feature = "http", schema(required = true))]
    pub allowed_origins: Vec<String>,
    /// The pre-chat form.
    #[cfg_attr(feature = "http", schema(required = true))]
    pub pre_chat_form: PreChatForm,
    /// Agent groups a visitor may choose (at most 50); empty: no choice, the default group.
    #[cfg_attr(feature = "http", schema(required = true))]
    pub visitor_group_ids: Vec<String>,
    /// What the widget offers when nobody can take a chat.
    #[cfg_attr(feature = "http", schema(required = true))]
    pub offline_mode: OfflineMode,
    /// Where left messages go (a group of this tenant), or null.
    #[cfg_attr(feature = "http", schema(required = true))]
    pub leave_message_group_id: Option<String>,
    /// Whether agents see what the visitor is typing before it is sent (the visitor is told). Default false.
    #[cfg_attr(feature = "http", schema(required = true))]
    pub typing_preview: bool,
    /// Uploads.
    #[cfg_attr(feature = "http", schema(required = true))]
    pub attachments: AttachmentSettings,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        Self {
            title: "Chat with us".into(),
            color: "#1a73e8".into(),
            greeting: String::new(),
            language: Language::Auto,
            allowed_origins: Vec::new(),
            pre_chat_form: PreChatForm::default(),
            visitor_group_ids: Vec::new(),
            offline_mode: OfflineMode::Queue,
            leave_message_group_id: None,
            typing_preview: false,
            attachments: AttachmentSettings::default(),
        }
    }
}

/// `PUT /v1/settings/widget` body: the fields to change; missing ones keep their value. Nested objects
/// (`pre_chat_form`, `attachments`) are replaced whole.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WidgetSettingsUpdate {
    /// See [`WidgetSettings`].
    pub title: Option<String>,
    /// See [`WidgetSettings`].
    pub color: Option<String>,
    /// See [`WidgetSettings`].
    pub greeting: Option<String>,
    /// See [`WidgetSettings`].
    pub language: Option<Language>,
    /// See [`WidgetSettings`].
    pub allowed_origins: Option<Vec<String>>,
    /// See [`WidgetSettings`].
    pub pre_chat_form: Option<PreChatForm>,
    /// See [`WidgetSettings`].
    pub visitor_group_ids: Option<Vec<String>>,
    /// See [`WidgetSettings`].
    pub offline_mode: Option<OfflineMode>,
    /// Null clears it.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub leave_message_group_id: Option<Option<String>>,
    /// See [`WidgetSettings`].
    pub typing_preview: Option<bool>,
    /// See [`WidgetSettings`].
    pub attachments: Option<AttachmentSettings>,
}

/// Tells a field that is present and null from one that is absent.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The stored record: the settings plus what every item of the table carries.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    #[serde(rename = "type")]
    kind: String,
    tenant_id: TenantId,
    #[serde(flatten)]
    settings: WidgetSettings,
    updated_at: jiff::Timestamp,
}

/// A tenant's widget settings; the defaults when it never saved any (or the stored record cannot be read,
/// which is logged).
pub async fn get(app: &App, tenant: &TenantId) -> Result<WidgetSettings, TableError> {
    Ok(app.table.get(&keys::widget_settings(tenant)).await?.map(|i| of_item(&i)).unwrap_or_default())
}

fn of_item(item: &Item) -> WidgetSettings {
    match Record::deserialize(item) {
        Ok(r) => r.settings,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable widget settings; using the defaults");
            WidgetSettings::default()
        }
    }
}

/// The origins a tenant allows (empty: every one), parsed; stored values that no longer parse are dropped.
pub fn allowed_origins(s: &WidgetSettings) -> Vec<Origin> {
    s.allowed_origins.iter().filter_map(|o| Origin::parse(o, "allowed_origins").ok()).collect()
}

/// Applies an update to the current settings and validates the result (pure, except that `groups` names the
/// tenant's groups): every field is checked and normalised, errors name the field's path
/// (`allowed_origins[2]`, `pre_chat_form.fields[0].options`).
pub fn apply(
    current: WidgetSettings,
    u: WidgetSettingsUpdate,
    groups: &HashSet<GroupId>,
) -> Result<WidgetSettings, ValidationError> {
    let mut s = current;
    if let Some(t) = u.title {
        let t = t.trim();
        if t.is_empty() || t.chars().count() > 80 || t.chars().any(char::is_control) {
            return Err(ValidationError::new("title", "must be 1 to 80 characters of text"));
        }
        s.title = t.to_owned();
    }
    if let Some(c) = u.color {
        s.color = widget::parse_color(&c, "color")?;
    }
    if let Some(g) = u.greeting {
        let g = g.trim();
        if g.chars().count() > 1000 || g.chars().any(|c| c.is_control() && c != '\n') {
            return Err(ValidationError::new("greeting", "must be at most 1000 characters of text"));
        }
        s.greeting = g.to_owned();
    }
    if let Some(l) = u.language {
        s.language = l;
    }
    if let Some(list) = u.allowed_origins {
        if list.len() > MAX_ORIGINS {
            return Err(ValidationError::new("allowed_origins", format!("at most {MAX_ORIGINS} origins")));
        }
        let mut out: Vec<String> = Vec::new();
        for (i, o) in list.iter().enumerate() {
            let o = Origin::parse(o, &format!("allowed_origins[{i}]"))?.to_string();
            if !out.contains(&o) {
                out.push(o);
            }
        }
        s.allowed_origins = out;
    }
    if let Some(form) = u.pre_chat_form {
        s.pre_chat_form = check_form(form)?;
    }
    if let Some(ids) = u.visitor_group_ids {
        if ids.len() > MAX_VISITOR_GROUPS {
            return Err(ValidationError::new("visitor_group_ids", format!("at most {MAX_VISITOR_GROUPS} groups")));
        }
        let mut out: Vec<String> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let g = existing_group(id, groups, &format!("visitor_group_ids[{i}]"))?;
            if !out.contains(&g) {
                out.push(g);
            }
        }
        s.visitor_group_ids = out;
    }
    if let Some(m) = u.offline_mode {
        s.offline_mode = m;
    }
    if let Some(g) = u.leave_message_group_id {
        s.leave_message_group_id = g.map(|g| existing_group(&g, groups, "leave_message_group_id")).transpose()?;
    }
    if let Some(t) = u.typing_preview {
        s.typing_preview = t;
    }
    if let Some(a) = u.attachments {
        if !(1..=ATTACHMENT_MAX_BYTES_LIMIT).contains(&a.max_bytes) {
            return Err(ValidationError::new(
                "attachments.max_bytes",
                format!("must be 1 to {ATTACHMENT_MAX_BYTES_LIMIT} bytes"),
            ));
        }
        if a.content_types.len() > MAX_CONTENT_TYPES {
            return Err(ValidationError::new(
                "attachments.content_types",
                format!("at most {MAX_CONTENT_TYPES} types"),
            ));
        }
        let mut types: Vec<String> = Vec::new();
        for (i, t) in a.content_types.iter().enumerate() {
            let t = widget::parse_content_type(t, &format!("attachments.content_types[{i}]"))?;
            if !types.contains(&t) {
                types.push(t);
            }
        }
        s.attachments = AttachmentSettings { enabled: a.enabled, max_bytes: a.max_bytes, content_types: types };
    }
    Ok(s)
}

fn existing_group(id: &str, groups: &HashSet<GroupId>, field: &str) -> Result<String, ValidationError> {
    GroupId::parse(id.trim())
        .filter(|g| groups.contains(g))
        .map(|g| g.to_string())
        .ok_or_else(|| ValidationError::new(field, "no such group"))
}

fn check_form(form: PreChatForm) -> Result<PreChatForm, ValidationError> {
    if form.fields.len() > MAX_FORM_FIELDS {
        return Err(ValidationError::new("pre_chat_form.fields", format!("at most {MAX_FORM_FIELDS} fields")));
    }
    let mut names = HashSet::new();
    let mut fields = Vec::with_capacity(form.fields.len());
    for (i, f) in form.fields.into_iter().enumerate() {
        let at = |k: &str| format!("pre_chat_form.fields[{i}].{k}");
        let name = f.name.trim().to_owned();
        let name_ok = name.len() <= 32
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(ValidationError::new(
                at("name"),
                "must be a lower-case letter then lower-case letters, digits or _ (at most 32)",
            ));
        }
        if !names.insert(name.clone()) {
            return Err(ValidationError::new(at("name"), "is used by another field"));
        }
        let label = f.label.trim().to_owned();
        if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
            return Err(ValidationError::new(at("label"), "must be 1 to 100 characters of text"));
        }
        let options = match (f.kind, f.options) {
            (FieldKind::Select, Some(opts)) => {
                if opts.is_empty() || opts.len() > MAX_OPTIONS {
                    return Err(ValidationError::new(
                        at("options"),
                        format!("a select needs 1 to {MAX_OPTIONS} options"),
                    ));
                }
                let mut out: Vec<String> = Vec::new();
                for (j, o) in opts.iter().enumerate() {
                    let o = o.trim();
                    if o.is_empty() || o.chars().count() > 100 || o.chars().any(char::is_control) {
                        return Err(ValidationError::new(
                            format!("pre_chat_form.fields[{i}].options[{j}]"),
                            "must be 1 to 100 characters of text",
                        ));
                    }
                    if out.iter().any(|x| x == o) {
                        return Err(ValidationError::new(
                            format!("pre_chat_form.fields[{i}].options[{j}]"),
                            "is listed twice",
                        ));
                    }
                    out.push(o.to_owned());
                }
                Some(out)
            }
            (FieldKind::Select, None) => {
                return Err(ValidationError::new(at("options"), "a select field needs its options"));
            }
            (_, Some(_)) => return Err(ValidationError::new(at("options"), "only a select field has options")),
            (_, None) => None,
        };
        fields.push(FormField { name, label, kind: f.kind, required: f.required, options });
    }
    Ok(PreChatForm { enabled: form.enabled, fields })
}

/// Stores a tenant's settings.
///
/// `audit` (the caller's `settings.update` entry) is committed with them.
pub async fn save(
    app: &App,
    tenant: &TenantId,
    s: &WidgetSettings,
    audit: crate::audit::AuditEntry,
) -> Result<(), ConversationError> {
    let record = Record {
        kind: "widget_settings".into(),
        tenant_id: tenant.clone(),
        settings: s.clone(),
        updated_at: app.now(),
    };
    let fields = serde_json::to_value(&record).map_err(|e| {
        tracing::error!(error = %e, "widget settings do not serialise");
        ConversationError::Broken("the widget settings do not serialise")
    })?;
    let op = kefu_ports::table::TxOp::Put { item: keys::widget_settings(tenant).with(fields), condition: None };
    let audit = audit.target("settings", "widget").detail(serde_json::to_value(s).unwrap_or_default());
    crate::audit::commit(app, vec![op], Vec::new(), vec![audit]).await?;
    Ok(())
}

/// The ids of a tenant's groups: one `Query` on its routing partition's groups.
pub async fn group_ids(app: &App, tenant: &TenantId) -> Result<HashSet<GroupId>, TableError> {
    let mut out = HashSet::new();
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(Query::partition(keys::routing_pk(tenant)).prefix(keys::GROUP_PREFIX).after(cursor))
            .await?;
        out.extend(
            page.items.iter().filter_map(|i| i.get("group_id").and_then(Value::as_str)).filter_map(GroupId::parse),
        );
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// Checks a visitor's pre-chat answers against the form (pure): when the form is on, every required field is
/// answered, every answer is a string of its field's shape (email, phone, one of a select's options), and no
/// answer names a field the form lacks; errors name `pre_chat.<name>`. Answers the normalised answers, to be
/// kept as customer attributes. When the form is off, answers are ignored.
pub fn check_pre_chat(
    form: &PreChatForm,
    answers: Option<&Map<String, Value>>,
) -> Result<BTreeMap<String, String>, ValidationError> {
    let mut out = BTreeMap::new();
    if !form.enabled {
        return Ok(out);
    }
    let empty = Map::new();
    let answers = answers.unwrap_or(&empty);
    if let Some(unknown) = answers.keys().find(|k| !form.fields.iter().any(|f| &f.name == *k)) {
        return Err(ValidationError::new(format!("pre_chat.{unknown}"), "is not a field of the pre-chat form"));
    }
    for f in &form.fields {
        let path = format!("pre_chat.{}", f.name);
        let answer = match answers.get(&f.name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => widget::check_answer(f.kind, f.options.as_deref().unwrap_or_default(), s, &path)?,
            Some(_) => return Err(ValidationError::new(path, "must be a string")),
        };
        match answer {
            Some(a) => {
                out.insert(f.name.clone(), a);
            }
            None if f.required => return Err(ValidationError::new(path, "is required")),
            None => {}
        }
    }
    Ok(out)
}

/// Whether a visitor may ask for `group`: any group when the tenant lists none, else one of the list.
pub fn group_choosable(s: &WidgetSettings, group: &GroupId) -> bool {
    s.visitor_group_ids.is_empty() || s.visitor_group_ids.iter().any(|g| g == group.as_str())
}

/// One group a visitor may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct GroupChoice {
    /// The group's id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// `GET /v1/widget/config`: what the widget needs before the visitor writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct WidgetConfig {
    /// See [`WidgetSettings`].
    pub title: String,
    /// See [`WidgetSettings`].
    pub color: String,
    /// See [`WidgetSettings`].
    pub greeting: String,
    /// See [`WidgetSettings`].
    pub language: Language,
    /// See [`WidgetSettings`].
    pub pre_chat_form: PreChatForm,
    /// The groups a visitor may choose (`visitor_group_ids`, with their names), in the tenant's order.
    pub groups: Vec<GroupChoice>,
    /// Whether someone could take a chat now: working hours are open, and an online agent has room or
    /// conversations queue when everyone is full.
    pub online: bool,
    /// See [`WidgetSettings`].
    pub offline_mode: OfflineMode,
    /// See [`WidgetSettings`].
    pub typing_preview: bool,
    /// See [`WidgetSettings`].
    pub attachments: AttachmentSettings,
}

/// Whether someone could take a new chat at `at` (pure, over the routing snapshot): the working hours of the
/// default group (its schedule, else the tenant's) are open, and an online agent on shift in that group has
/// room, or `queue_when_full` lets the chat wait for one.
pub fn online(snap: &Snapshot, at: jiff::Timestamp) -> bool {
    let group = snap.route_group(None);
    if !snap.in_working_hours(group.as_ref(), at) {
        return false;
    }
    if snap.settings.queue_when_full {
        return true;
    }
    let needs = Needs { group_id: group, ..Needs::default() };
    snap.candidates(at).iter().any(|c| c.exclusion(&needs).is_none())
}

/// The widget's configuration for a tenant: its settings, plus one `Query` on the routing partition (groups'
/// names, schedules, agents' presence and load) for `groups` and `online`. No scan.
pub async fn config(app: &App, tenant: &TenantId) -> Result<WidgetConfig, TableError> {
    let (s, snap) = futures::try_join!(get(app, tenant), crate::assignment::store::snapshot(app, tenant))?;
    let groups = s
        .visitor_group_ids
        .iter()
        .filter_map(|id| GroupId::parse(id))
        .filter_map(|id| snap.groups.get(&id))
        .map(|g| GroupChoice { id: g.group_id.to_string(), name: g.name.clone() })
        .collect();
    Ok(WidgetConfig {
        online: online(&snap, app.now()),
        title: s.title,
        color: s.color,
        greeting: s.greeting,
        language: s.language,
        pre_chat_form: s.pre_chat_form,
        groups,
        offline_mode: s.offline_mode,
        typing_preview: s.typing_preview,
        attachments: s.attachments,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn update(v: Value) -> WidgetSettingsUpdate {
        serde_json::from_value(v).expect("update parses")
    }

    #[test]
    fn an_update_is_checked_field_by_field_with_paths() {
        let g = GroupId::generate();
        let groups: HashSet<GroupId> = [g.clone()].into();
        let err = |v: Value| apply(WidgetSettings::default(), update(v), &groups).unwrap_err().field;
        assert_eq!(err(json!({"title": ""})), "title");
        assert_eq!(err(json!({"color": "blue"})), "color");
        assert_eq!(err(json!({"allowed_origins": ["https://ok.example", "https://x.example/"]})), "allowed_origins[1]");
        assert_eq!(
            err(json!({"visitor_group_ids": [g.to_string(), GroupId::generate().to_string()]})),
            "visitor_group_ids[1]"
        );
        assert_eq!(err(json!({"leave_message_group_id": "nope"})), "leave_message_group_id");
        assert_eq!(err(json!({"attachments": {"enabled": true, "max_bytes": 0}})), "attachments.max_bytes");
        assert_eq!(
            err(json!({"attachments": {"content_types": ["image/png", "png"]}})),
            "attachments.content_types[1]"
        );
        let form = |fields: Value| json!({"pre_chat_form": {"enabled": true, "fields": fields}});
        assert_eq!(
            err(form(json!([{"name": "Bad Name", "label": "x", "type": "text"}]))),
            "pre_chat_form.fields[0].name"
        );
        assert_eq!(
            err(form(
                json!([{"name": "a", "label": "A", "type": "text"}, {"name": "a", "label": "B", "type": "email"}])
            )),
            "pre_chat_form.fields[1].name"
        );
        assert_eq!(
            err(form(json!([{"name": "topic", "label": "Topic", "type": "select"}]))),
            "pre_chat_form.fields[0].options"
        );
        assert_eq!(
            err(form(json!([{"name": "n", "label": "N", "type": "text", "options": ["x"]}]))),
            "pre_chat_form.fields[0].options"
        );
        assert_eq!(
            err(form(json!([{"name": "t", "label": "T", "type": "select", "options": ["x", "x"]}]))),
            "pre_chat_form.fields[0].options[1]"
        );
    }

    #[test]
    fn an_update_keeps_what_it_does_not_name_and_normalises_what_it_does() {
        let g = GroupId::generate();
        let groups: HashSet<GroupId> = [g.clone()].into();
        let first = apply(
            WidgetSettings::default(),
            update(json!({
                "title": " Help ", "color": "#ABCDEF", "allowed_origins": ["https://Shop.example:443", "https://shop.example"],
                "visitor_group_ids": [g.to_string()], "leave_message_group_id": g.to_string(), "typing_preview": true,
            })),
            &groups,
        )
        .unwrap();
        assert_eq!(first.title, "Help");
        assert_eq!(first.color, "#abcdef");
        assert_eq!(first.allowed_origins, vec!["https://shop.example"]);
        let second =
            apply(first.clone(), update(json!({"greeting": "Hi", "leave_message_group_id": null})), &groups).unwrap();
        assert_eq!(second.greeting, "Hi");
        assert_eq!(second.leave_message_group_id, None);
        assert_eq!(second.visitor_group_ids, first.visitor_group_ids);
        assert!(second.typing_preview);
        assert!(serde_json::from_value::<WidgetSettingsUpdate>(json!({"language": "fr"})).is_err());
        assert!(serde_json::from_value::<WidgetSettingsUpdate>(json!({"offline": true})).is_err());
    }

    #[test]
    fn the_stored_record_reads_back_and_missing_fields_take_defaults() {
        let s = WidgetSettings { title: "T".into(), typing_preview: true, ..WidgetSettings::default() };
        let record = Record {
            kind: "widget_settings".into(),
            tenant_id: TenantId::generate(),
            settings: s.clone(),
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let item = keys::widget_settings(&record.tenant_id).with(serde_json::to_value(&record).unwrap());
        assert_eq!(of_item(&item), s);
        let mut partial = item.clone();
        partial.remove("attachments");
        partial.remove("language");
        assert_eq!(of_item(&partial).attachments.max_bytes, DEFAULT_ATTACHMENT_MAX_BYTES);
        assert_eq!(of_item(&partial).title, "T");
    }

    #[test]
    fn online_needs_open_hours_and_an_agent_with_room_or_a_queue() {
        use crate::assignment::store::{AgentLoad, Settings};
        use kefu_domain::routing::AgentStatus;
        use kefu_domain::schedule::{Schedule, ScheduleInput};
        use kefu_domain::{AgentId, ScheduleId};

        let at: jiff::Timestamp = "2026-06-03T10:00:00Z".parse().unwrap(); // a Wednesday
        let agent = |status, active| AgentLoad {
            agent_id: AgentId::generate(),
            status,
            disabled: false,
            group_ids: vec![],
            skills: vec![],
            max_concurrent: 2,
            active,
            last_assigned_at: None,
            schedule_id: None,
        };
        let no_queue = Settings { queue_when_full: false, ..Settings::default() };
        let snap = |settings: Settings, agents: Vec<AgentLoad>| Snapshot { settings, agents, ..Snapshot::default() };
        assert!(online(&snap(Settings::default(), vec![]), at), "nobody online, but the chat may queue");
        assert!(!online(&snap(no_queue.clone(), vec![]), at), "nobody online and no queue");
        assert!(!online(&snap(no_queue.clone(), vec![agent(AgentStatus::Away, 0)]), at));
        assert!(!online(&snap(no_queue.clone(), vec![agent(AgentStatus::Online, 2)]), at), "at capacity");
        assert!(online(&snap(no_queue.clone(), vec![agent(AgentStatus::Online, 1)]), at));

        let input: ScheduleInput = serde_json::from_value(json!({
            "name": "weekends", "timezone": "UTC", "weekly": {"sat": [["09:00", "18:00"]]}
        }))
        .unwrap();
        let closed = ScheduleId::generate();
        let mut shut = snap(
            Settings { schedule_id: Some(closed.clone()), ..Settings::default() },
            vec![agent(AgentStatus::Online, 0)],
        );
        shut.schedules.insert(closed, Schedule::parse(&input).unwrap());
        assert!(!online(&shut, at), "outside working hours nobody takes a chat, queue or not");
    }

    #[test]
    fn the_documented_field_types_are_the_accepted_ones() {
        let schema = serde_json::to_value(field_kind_schema()).unwrap();
        let listed: Vec<String> =
            serde_json::from_value(schema["enum"].clone()).expect("the schema lists the field types");
        for name in &listed {
            assert!(serde_json::from_value::<FieldKind>(json!(name)).is_ok(), "{name}");
        }
        assert_eq!(listed.len(), 4);
    }

    #[test]
    fn pre_chat_answers_follow_the_form() {
        let form: PreChatForm = serde_json::from_value(json!({"enabled": true, "fields": [
            {"name": "email", "label": "Email", "type": "email", "required": true},
            {"name": "phone", "label": "Phone", "type": "phone"},
            {"name": "topic", "label": "Topic", "type": "select", "options": ["Sales", "Support"], "required": true},
        ]}))
        .unwrap();
        let check = |v: Value| check_pre_chat(&form, v.as_object());
        let field = |v: Value| check(v).unwrap_err().field;
        assert_eq!(field(json!({"topic": "Sales"})), "pre_chat.email");
        assert_eq!(field(json!({"email": "  ", "topic": "Sales"})), "pre_chat.email");
        assert_eq!(field(json!({"email": "no", "topic": "Sales"})), "pre_chat.email");
        assert_eq!(field(json!({"email": "a@b.example", "topic": "Billing"})), "pre_chat.topic");
        assert_eq!(field(json!({"email": "a@b.example", "topic": "Sales", "phone": "x"})), "pre_chat.phone");
        assert_eq!(field(json!({"email": "a@b.example", "topic": "Sales", "age": "3"})), "pre_chat.age");
        assert_eq!(field(json!({"email": 5, "topic": "Sales"})), "pre_chat.email");
        assert_eq!(check_pre_chat(&form, None).unwrap_err().field, "pre_chat.email");
        let ok = check(json!({"email": "Li@B.example", "topic": "Support", "phone": null})).unwrap();
        assert_eq!(ok.get("email").map(String::as_str), Some("li@b.example"));
        assert_eq!(ok.len(), 2);
        let off = PreChatForm { enabled: false, ..form };
        assert!(check_pre_chat(&off, json!({"anything": 1}).as_object()).unwrap().is_empty());
    }
}
