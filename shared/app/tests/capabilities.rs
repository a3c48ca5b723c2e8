//! The capabilities of `kefu-app` and which may use which: every `crate::<capability>` reference in a
//! capability's folder (tests left out) must be an arrow of [`ALLOWED`], every arrow of [`ALLOWED`] must be
//! used, and the arrows must form no cycle. So a new dependency between capabilities is a conscious change of
//! this table (and of `docs/architecture.md`), never an accident, and a cycle cannot come back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each capability with the capabilities it may use. `docs/architecture.md` draws the same table.
const ALLOWED: &[(&str, &[&str])] = &[
    ("plumbing", &[]),
    ("audit", &["plumbing"]),
    ("identity", &["audit", "plumbing"]),
    ("customers", &["audit", "identity", "plumbing"]),
    ("assignment", &["audit", "identity", "plumbing"]),
    ("conversations", &["assignment", "audit", "customers", "identity", "plumbing"]),
    ("realtime", &["assignment", "audit", "conversations", "identity", "plumbing"]),
    ("tags", &["audit", "plumbing"]),
    ("automation", &["assignment", "audit", "conversations", "customers", "plumbing", "tags", "tickets"]),
    ("quick_replies", &["audit", "identity", "plumbing"]),
    ("blocks", &["audit", "customers", "identity", "plumbing"]),
    ("tickets", &["audit", "conversations", "customers", "identity", "plumbing", "realtime"]),
    ("chat", &["audit", "conversations", "identity", "plumbing", "realtime"]),
    ("approvals", &["audit", "conversations", "customers", "exports", "identity", "plumbing", "realtime", "tags"]),
    ("notifications", &["assignment", "identity", "plumbing", "realtime"]),
    ("stats", &["assignment", "conversations", "identity", "plumbing"]),
    ("exports", &["audit", "conversations", "customers", "identity", "plumbing", "realtime", "tickets"]),
    ("retention", &["audit", "conversations", "customers", "plumbing"]),
    ("timers", &["assignment", "automation", "conversations", "plumbing", "realtime"]),
];

/// The HTTP layer: the edge, which may use every capability. No capability may use it: each answers its own
/// error type and reads paging as `plumbing::pages::PageRequest`, and `http::error` maps them to API.md's JSON
/// errors (so a queue consumer builds without the `http` feature, linking neither axum nor utoipa).
const HTTP: &str = "http";

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The Rust files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder reads") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's code without its unit tests (a `#[cfg(test)] mod tests` block closes every file that has one).
fn without_tests(code: &str) -> &str {
    code.find("#[cfg(test)]\nmod tests").map_or(code, |i| &code[..i])
}

/// The folders of `src`: the capabilities and the HTTP layer.
fn folders() -> BTreeSet<String> {
    std::fs::read_dir(src())
        .expect("src reads")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect()
}

/// Every `crate::<folder>` reference from one folder to another: (from, to) with one file that makes it.
fn arrows() -> BTreeMap<(String, String), PathBuf> {
    let folders = folders();
    let mut found = BTreeMap::new();
    for from in &folders {
        let mut files = Vec::new();
        rust_files(&src().join(from), &mut files);
        for file in files {
            let code = std::fs::read_to_string(&file).expect("source reads");
            for (i, _) in without_tests(&code).match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if name != *from && folders.contains(&name) {
                    found.entry((from.clone(), name)).or_insert_with(|| file.clone());
                }
            }
        }
    }
    found
}

fn allowed() -> BTreeSet<(String, String)> {
    ALLOWED.iter().flat_map(|(from, tos)| tos.iter().map(move |to| ((*from).to_owned(), (*to).to_owned()))).collect()
}

#[test]
fn every_folder_is_a_declared_capability_or_the_http_layer() {
    let declared: BTreeSet<String> = ALLOWED.iter().map(|(c, _)| (*c).to_owned()).chain([HTTP.to_owned()]).collect();
    assert_eq!(folders(), declared, "a new folder of shared/app/src is a capability: add it to ALLOWED");
}

#[test]
fn capabilities_use_exactly_the_declared_capabilities() {
    let found = arrows();
    let used: BTreeSet<(String, String)> = found.keys().filter(|(f, t)| f != HTTP && t != HTTP).cloned().collect();
    let undeclared: Vec<String> =
        used.difference(&allowed()).map(|a| format!("{} -> {} (in {})", a.0, a.1, found[a].display())).collect();
    assert!(
        undeclared.is_empty(),
        "arrows not in ALLOWED (add them there and to docs/architecture.md): {undeclared:?}"
    );
    let unused: Vec<String> = allowed().difference(&used).map(|(f, t)| format!("{f} -> {t}")).collect();
    assert!(unused.is_empty(), "arrows in ALLOWED that no code uses any more (remove them): {unused:?}");
}

#[test]
fn no_capability_uses_the_http_layer() {
    let users: Vec<String> = arrows()
        .into_iter()
        .filter(|((_, to), _)| to == HTTP)
        .map(|((from, _), file)| format!("{from} (in {})", file.display()))
        .collect();
    assert!(
        users.is_empty(),
        "capabilities answer their own errors and take plumbing::pages::PageRequest; the HTTP layer maps them \
         (http/error.rs), never the reverse: {users:?}"
    );
}

/// The capabilities of `table` that sit on a cycle (none when it has no cycle), by Kahn's algorithm: a
/// capability whose every dependency is placed can be placed; what is never placed sits on a cycle.
fn on_a_cycle<'a>(table: &[(&'a str, &[&str])]) -> Vec<&'a str> {
    let mut placed: Vec<&str> = Vec::new();
    while let Some(c) =
        table.iter().find(|(c, deps)| !placed.contains(c) && deps.iter().all(|d| placed.contains(d))).map(|(c, _)| *c)
    {
        placed.push(c);
    }
    table.iter().map(|(c, _)| *c).filter(|c| !placed.contains(c)).collect()
}

#[test]
fn the_declared_capabilities_form_no_cycle() {
    let left = on_a_cycle(ALLOWED);
    assert!(left.is_empty(), "the capabilities {left:?} depend on each other in a cycle");
    assert!(on_a_cycle(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]) == ["a", "b", "c"]);
    assert!(ALLOWED.iter().all(|(_, deps)| deps.iter().all(|d| ALLOWED.iter().any(|(c, _)| c == d))));
}

#[test]
fn the_scanner_sees_references_and_skips_unit_tests() {
    let code = "use crate::plumbing::keys;\nfn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::audit;\n}\n";
    assert!(without_tests(code).contains("crate::plumbing"));
    assert!(!without_tests(code).contains("crate::audit"));
}
