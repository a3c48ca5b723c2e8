//! Stored items are typed records (issue 10, docs/data-model.md "stored vs shown"): each has a struct that
//! implements `plumbing::record::Record`, so no code outside tests builds a stored item with `json!`. This test
//! reads the sources and fails on a `.with(json!(` (a key given its attributes as loose JSON) or a
//! `json!({"type": …` (a typed item built by hand) outside unit tests, except in the files of [`NOT_YET`], which
//! are still to be converted. A listed file that no longer builds one fails too, so the list only shrinks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The files (under `shared/app/src`) that still build stored items with `json!`: each is to get its records.
/// docs/data-model.md lists the items they write as untyped.
const NOT_YET: &[&str] = &[];

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

/// Whether `code` (tests left out) builds an item with `json!`: `.with(json!(`, or `json!({` whose first
/// attribute, after any white space, is `"type":`.
fn builds_json_item(code: &str) -> bool {
    let code = without_tests(code);
    if code.contains(".with(json!(") {
        return true;
    }
    code.match_indices("json!({").any(|(i, m)| {
        let rest = code[i + m.len()..].trim_start();
        rest.strip_prefix("\"type\"").is_some_and(|r| r.trim_start().starts_with(':'))
    })
}

/// The files of `src` (relative, with `/`) that build an item with `json!`.
fn offenders() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files
        .into_iter()
        .filter(|f| builds_json_item(&std::fs::read_to_string(f).expect("source reads")))
        .map(|f| f.strip_prefix(src()).expect("under src").to_string_lossy().replace('\\', "/"))
        .collect()
}

#[test]
fn no_stored_item_is_built_with_json_outside_the_files_not_yet_converted() {
    let allowed: BTreeSet<String> = NOT_YET.iter().map(|s| (*s).to_owned()).collect();
    let found = offenders();
    let new: Vec<_> = found.difference(&allowed).collect();
    assert!(new.is_empty(), "these build stored items with json!; give them a Record (plumbing/record.rs): {new:?}");
    let done: Vec<_> = allowed.difference(&found).collect();
    assert!(done.is_empty(), "these no longer build items with json!; remove them from NOT_YET: {done:?}");
}

#[test]
fn the_scanner_sees_json_items_and_skips_unit_tests() {
    assert!(builds_json_item("let i = keys::x(t).with(json!({\"a\": 1}));"));
    assert!(builds_json_item("let i = json!({\n    \"type\" : \"session\", \"a\": 1});"));
    assert!(!builds_json_item("let u = Update::new().set(\"a\", json!(now));"));
    assert!(!builds_json_item("let f = json!({\"types\": 1});"));
    assert!(!builds_json_item(
        "fn f() {}\n#[cfg(test)]\nmod tests {\n    let i = k.with(json!({\"type\": \"x\"}));\n}\n"
    ));
}
