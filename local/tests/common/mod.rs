//! What the tests of the `kefu` binary share: the command, run on the embedded store whatever the caller's
//! environment says (no AWS adapters) and with quiet logs.

use std::process::Command;

/// `kefu <args>` on the embedded store, with only warnings logged.
pub fn kefu(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kefu"));
    cmd.args(args).env("RUST_LOG", "warn").env_remove("KEFU_TABLE").env_remove("AWS_ENDPOINT_URL");
    cmd
}

/// Bytes a command printed, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
