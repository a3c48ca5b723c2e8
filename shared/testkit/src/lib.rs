//! Test helpers shared by every crate's tests.
//!
//! The main one is [`MotoStack`]: an isolated set of AWS resources (table, topics, queues, bucket) created in a
//! running `moto_server` **from `infra/template.yaml` itself** by `infra/moto_stack.py`. Tests use the names, keys,
//! indexes, queues and filter policies the template declares, so the code and the template cannot drift.
//!
//! `scripts/test.sh` starts moto and sets `KEFU_MOTO_ENDPOINT` and `KEFU_PYTHON`; a test that needs AWS does:
//!
//! ```no_run
//! let Some(_endpoint) = kefu_testkit::require_moto() else { return };
//! let stack = kefu_testkit::MotoStack::create("conformance-table");
//! assert!(stack.queues.contains_key("assign"));
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// Environment variable holding the moto server URL (e.g. `http://127.0.0.1:5000`), set by `scripts/test.sh`.
pub const MOTO_ENDPOINT_ENV: &str = "KEFU_MOTO_ENDPOINT";

/// Environment variable naming the Python interpreter that has boto3 and aws-sam-translator (the test venv).
pub const PYTHON_ENV: &str = "KEFU_PYTHON";

/// One consumer queue of the stack, with the dead-letter queue its redrive policy points at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MotoQueue {
    /// Queue URL, pointing at the moto server.
    pub url: String,
    /// Queue ARN (what SNS subscriptions and redrive policies refer to).
    pub arn: String,
    /// URL of the dead-letter queue messages move to after `max_receive_count` receives.
    pub dlq_url: String,
    /// ARN of the dead-letter queue.
    pub dlq_arn: String,
    /// `maxReceiveCount` of the redrive policy, as declared in the template.
    pub max_receive_count: u32,
    /// Visibility timeout in seconds, as declared in the template.
    pub visibility_timeout: u32,
}

/// An isolated Kefu stack in moto, created from `infra/template.yaml`.
///
/// Every physical name starts with a unique stack name, so tests running in parallel against one moto server
/// never see each other's data.
#[derive(Debug, Clone)]
pub struct MotoStack {
    /// Unique CloudFormation stack name (prefix + ULID); every physical name starts with it.
    pub stack: String,
    /// moto server URL; give it to the AWS SDK as the endpoint.
    pub endpoint: String,
    /// AWS region the stack lives in (`us-east-1`).
    pub region: String,
    /// Physical name of the DynamoDB table (`Table` in the template).
    pub table: String,
    /// ARN of the topic every domain event is published to (`EventsTopic`).
    pub events_topic_arn: String,
    /// ARN of the topic that hands mail / SMS to delivery (`MailTopic`).
    pub mail_topic_arn: String,
    /// Name of the exports and archive bucket (`ExportBucket`).
    pub export_bucket: String,
    /// Consumer queues by consumer name (`assign`, `automation`, `notify`, `export`).
    pub queues: BTreeMap<String, MotoQueue>,
    /// Filter policy of each consumer's subscription to the events topic, by consumer name, as in the template.
    pub subscriptions: BTreeMap<String, serde_json::Value>,
    /// The environment every function gets in Lambda (template `Globals`), resolved for this stack:
    /// `KEFU_TABLE`, `KEFU_EVENTS_TOPIC_ARN`, `KEFU_MAIL_TOPIC_ARN`, `KEFU_EXPORT_BUCKET`, `RUST_LOG`...
    /// Values that need resources moto does not emulate (the WebSocket API) are left out.
    pub environment: BTreeMap<String, String>,
}

/// The JSON printed by `infra/moto_stack.py`.
#[derive(Deserialize)]
struct Output {
    stack: String,
    endpoint: String,
    region: String,
    table: String,
    events_topic_arn: String,
    mail_topic_arn: String,
    export_bucket: String,
    queues: BTreeMap<String, MotoQueue>,
    subscriptions: BTreeMap<String, SubscriptionOutput>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct SubscriptionOutput {
    filter_policy: serde_json::Value,
}

impl MotoStack {
    /// Creates a fresh stack in the moto server named by `KEFU_MOTO_ENDPOINT`.
    ///
    /// `prefix` says which test it belongs to (it is sanitised and shortened; a ULID makes it unique).
    /// Takes about a second. Panics with the script's error output when moto is not configured or the stack
    /// cannot be created, since a test that asked for a stack cannot go on without it.
    pub fn create(prefix: &str) -> MotoStack {
        let endpoint = moto_endpoint().unwrap_or_else(|| {
            panic!("{MOTO_ENDPOINT_ENV} is not set: run the tests with scripts/test.sh, which starts moto_server")
        });
        Self::create_at(&endpoint, prefix)
    }

    /// Creates a fresh stack in the moto server at `endpoint` (see [`MotoStack::create`]).
    pub fn create_at(endpoint: &str, prefix: &str) -> MotoStack {
        let stack = stack_name(prefix);
        let script = repo_root().join("infra").join("moto_stack.py");
        let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".to_owned());
        let output = Command::new(&python)
            .arg(&script)
            .arg("--endpoint")
            .arg(endpoint)
            .arg("--stack")
            .arg(&stack)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{python} {}`: {e} (set {PYTHON_ENV})", script.display()));
        if !output.status.success() {
            panic!(
                "`{python} {} --endpoint {endpoint} --stack {stack}` failed ({}):\n{}{}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
        }
        let parsed: Output = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "moto_stack.py printed something that is not its JSON ({e}):\n{}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
        MotoStack {
            stack: parsed.stack,
            endpoint: parsed.endpoint,
            region: parsed.region,
            table: parsed.table,
            events_topic_arn: parsed.events_topic_arn,
            mail_topic_arn: parsed.mail_topic_arn,
            export_bucket: parsed.export_bucket,
            queues: parsed.queues,
            subscriptions: parsed.subscriptions.into_iter().map(|(k, v)| (k, v.filter_policy)).collect(),
            environment: parsed.environment,
        }
    }

    /// The consumer queue called `name` (`assign`, `automation`, `notify`, `export`); panics when the template
    /// has no such queue.
    pub fn queue(&self, name: &str) -> &MotoQueue {
        self.queues.get(name).unwrap_or_else(|| {
            panic!(
                "infra/template.yaml has no consumer queue `{name}`; it has {:?}",
                self.queues.keys().collect::<Vec<_>>()
            )
        })
    }

    /// Every variable a process needs to run Kefu's AWS adapters against this stack: the AWS endpoint, region
    /// and dummy credentials, plus [`MotoStack::environment`]. Handy for `Command::envs` when spawning
    /// `kefu serve`, or to build an SDK config.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("AWS_ENDPOINT_URL".to_owned(), self.endpoint.clone()),
            ("AWS_REGION".to_owned(), self.region.clone()),
            ("AWS_DEFAULT_REGION".to_owned(), self.region.clone()),
            ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
        ];
        vars.extend(self.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars
    }
}

/// The moto server URL from `KEFU_MOTO_ENDPOINT`, if set and not empty.
pub fn moto_endpoint() -> Option<String> {
    std::env::var(MOTO_ENDPOINT_ENV).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The moto endpoint for a test that needs AWS emulation, or `None` when the test should skip.
///
/// Without `KEFU_MOTO_ENDPOINT`: panics when `CI` is set (a CI run must never silently skip AWS tests), and
/// otherwise prints one line saying the test is skipped and returns `None`.
pub fn require_moto() -> Option<String> {
    if let Some(endpoint) = moto_endpoint() {
        return Some(endpoint);
    }
    let ci = std::env::var("CI").map(|v| !v.is_empty() && v != "0" && v != "false").unwrap_or(false);
    if ci {
        panic!("{MOTO_ENDPOINT_ENV} is not set but CI is: AWS tests must run in CI (use scripts/test.sh)");
    }
    let test = std::thread::current().name().unwrap_or("this test").to_owned();
    eprintln!("skipping {test}: {MOTO_ENDPOINT_ENV} is not set (scripts/test.sh starts moto and sets it)");
    None
}

/// The repository root: the directory holding `infra/template.yaml` (found from this crate's location).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|dir| dir.join("infra").join("template.yaml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.join("..").join(".."))
}

/// A CloudFormation stack name unique to this call: `[A-Za-z][A-Za-z0-9-]*`, at most 47 characters (physical
/// names are `<stack>-<LogicalId>-<random>` and SQS cuts queue names at 80).
fn stack_name(prefix: &str) -> String {
    let mut clean = String::new();
    for c in prefix.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (clean.is_empty() || clean.ends_with('-')) {
            continue;
        }
        clean.push(c);
    }
    if !clean.starts_with(|c: char| c.is_ascii_alphabetic()) {
        clean.insert_str(0, "t-");
    }
    clean.truncate(20);
    let clean = clean.trim_end_matches('-');
    format!("{clean}-{}", ulid::Ulid::new().to_string().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_are_valid_unique_and_short() {
        for prefix in ["", "a", "9lives", "conformance::table/put_if_absent", "-x-"] {
            let a = stack_name(prefix);
            let b = stack_name(prefix);
            assert_ne!(a, b);
            assert!(a.len() <= 47, "{a}");
            assert!(a.starts_with(|c: char| c.is_ascii_alphabetic()), "{a}");
            assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{a}");
            assert!(!a.contains("--"), "{a}");
        }
    }

    #[test]
    fn repo_root_holds_the_template_and_the_script() {
        let root = repo_root();
        assert!(root.join("infra/template.yaml").is_file());
        assert!(root.join("infra/moto_stack.py").is_file());
    }

    /// Provisions a stack from the template and checks what the rest of the tests rely on.
    #[test]
    fn creates_a_stack_from_the_template() {
        let Some(endpoint) = require_moto() else { return };
        let stack = MotoStack::create_at(&endpoint, "testkit");
        assert_eq!(stack.endpoint, endpoint.trim_end_matches('/'));
        assert!(stack.table.starts_with(&stack.stack));
        for consumer in ["assign", "automation", "notify", "export"] {
            let queue = stack.queue(consumer);
            assert_eq!(queue.max_receive_count, 5);
            assert!(queue.visibility_timeout >= 180);
            assert_ne!(queue.url, queue.dlq_url);
            assert!(stack.subscriptions[consumer]["type"].is_array(), "{consumer} filter policy");
        }
        assert_eq!(stack.environment.get("KEFU_TABLE"), Some(&stack.table));
        assert_eq!(stack.environment.get("KEFU_EVENTS_TOPIC_ARN"), Some(&stack.events_topic_arn));
        let other = MotoStack::create_at(&endpoint, "testkit");
        assert_ne!(other.table, stack.table);
    }
}
