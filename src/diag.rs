//! One-line diagnostics on stderr, without `core::fmt`.

use std::io::Write;

/// Writes `scf-bootstrap: ` followed by `parts` and a newline to stderr, in one write.
pub(crate) fn say(parts: &[&[u8]]) {
    let mut line = Vec::with_capacity(128);
    line.extend_from_slice(b"scf-bootstrap: ");
    for p in parts {
        line.extend_from_slice(p);
    }
    line.push(b'\n');
    let _ = std::io::stderr().write_all(&line);
}

/// `say` plus a description of the connection's last I/O error, if any.
pub(crate) fn say_io(parts: &[&[u8]], err: crate::Error, io: Option<&std::io::Error>) {
    let mut detail = Vec::new();
    detail.extend_from_slice(err.as_str().as_bytes());
    if let Some(e) = io {
        detail.extend_from_slice(b" (");
        crate::error::describe_io(e, &mut detail);
        detail.push(b')');
    }
    let mut all: [&[u8]; 8] = [&[]; 8];
    let n = parts.len().min(7);
    all[..n].copy_from_slice(&parts[..n]);
    all[n] = &detail;
    say(&all[..=n]);
}
