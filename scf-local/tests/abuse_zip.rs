//! Hostile code packages through the `scf-local` binary: zips whose links lead outside the
//! code directory (directly or through a chain such as `l -> .`), entries written through a
//! link, two entries of one name, and `pack --include` of trees holding such links. Each is
//! refused with one line naming the entry and exit status 2, and nothing outside runs.

mod common;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::*;

const BOUND: Duration = Duration::from_secs(60);
const LINK: u32 = 0o120777;
const DIR: u32 = 0o040755;

/// One entry of a test zip: name, mode with its type bits, data or link target.
type Row<'a> = (&'a str, u32, &'a [u8]);

/// Enough `l/` (each `l -> .`) and as many `..` to reach `/` from any scratch directory, in
/// fewer than the kernel's 40 links: balanced, so a check by string sees nothing leave.
const CLIMB: usize = 24;

/// A zip at `path` of (name, mode with type bits, data or link target) rows.
fn write_zip(path: &Path, entries: &[Row]) -> PathBuf {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, mode, data) in entries {
        let options = zip::write::SimpleFileOptions::default().unix_permissions(mode & 0o7777);
        match mode & 0o170000 {
            0o040000 => w.add_directory(*name, options).unwrap(),
            0o120000 => {
                let target = std::str::from_utf8(data).unwrap();
                w.add_symlink(*name, target, options).unwrap();
            }
            _ => {
                w.start_file(*name, options).unwrap();
                w.write_all(data).unwrap();
            }
        }
    }
    w.finish().unwrap();
    path.to_path_buf()
}

/// A link target that climbs to `/` through `l -> .` and then goes down to `abs`.
fn chain_to(abs: &Path) -> String {
    let down = abs.strip_prefix("/").unwrap().to_str().unwrap();
    format!("{}{}{down}", "l/".repeat(CLIMB), "../".repeat(CLIMB))
}

/// A host script that leaves `marker` behind if it is ever run.
fn host_script(s: &Scratch, marker: &Path) -> PathBuf {
    let script = s.path().join("host-binary");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch '{}'\nexit 3\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn invoke(s: &Scratch, code: &Path) -> Output {
    let mut cmd = s.cmd();
    cmd.arg("invoke").arg(code);
    run_bounded(cmd, BOUND)
}

#[test]
fn a_bootstrap_reached_through_a_link_chain_never_runs_a_host_binary() {
    let s = Scratch::new();
    let marker = s.path().join("ran");
    let script = host_script(&s, &marker);
    let target = chain_to(&script);
    let zip = write_zip(
        &s.path().join("chain.zip"),
        &[("l", LINK, b"."), ("bootstrap", LINK, target.as_bytes())],
    );
    let out = invoke(&s, &zip);
    assert!(!marker.exists(), "the host binary ran");
    assert_bad_input(&s, &out, "zip entry \"bootstrap\" is a link to");
    assert_bad_input(&s, &out, "resolves outside the code directory");
}

#[test]
fn hostile_zips_are_refused_naming_the_entry() {
    let s = Scratch::new();
    let secret = s.path().join("secret");
    std::fs::write(&secret, b"host data").unwrap();
    let chain = chain_to(&secret);
    let boot: Row = ("bootstrap", 0o755, b"#!/bin/sh\nexit 0\n");
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<Row>, &str)> = vec![
        ("data through `l -> .`",
         vec![boot, ("l", LINK, b"."), ("data", LINK, chain.as_bytes())],
         "zip entry \"data\" is a link to"),
        ("the link listed before the link it uses",
         vec![("data", LINK, chain.as_bytes()), boot, ("l", LINK, b".")],
         "zip entry \"data\" is a link to"),
        ("a directory's `..` link, used twice",
         vec![boot, ("d/up", LINK, b".."), ("x", LINK, b"d/up/d/up/..")],
         "zip entry \"x\" is a link to"),
        ("a file written through an inside link",
         vec![boot, ("sub/", DIR, b""), ("l", LINK, b"sub"), ("l/x", 0o644, b"x")],
         "zip entry \"l/x\" lies below \"l\""),
        ("a file written through a link listed after it",
         vec![boot, ("l/x", 0o644, b"x"), ("sub/", DIR, b""), ("l", LINK, b"sub")],
         "zip entry \"l/x\" lies below \"l\""),
        ("a directory `a/` and a link `a`",
         vec![boot, ("a/", DIR, b""), ("a", LINK, b".")],
         "zip entry \"a\" appears twice"),
    ];
    for (what, entries, needle) in cases {
        let zip = write_zip(&s.path().join("hostile.zip"), &entries);
        let out = invoke(&s, &zip);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{what}: {err:?} lacks {needle:?}");
        assert_bad_input(&s, &out, needle);
    }
}

#[test]
fn two_entries_named_bootstrap_are_refused_not_the_last_one_run() {
    let s = Scratch::new();
    let marker = s.path().join("ran");
    let second = format!("#!/bin/sh\ntouch '{}'\nexit 3\n", marker.display());
    // ZipWriter refuses a duplicate name: write `bootstraX`, then rename it in place.
    let zip = write_zip(
        &s.path().join("dup.zip"),
        &[
            ("bootstrap", 0o755, b"#!/bin/sh\nexit 0\n"),
            ("bootstraX", 0o755, second.as_bytes()),
        ],
    );
    let mut bytes = std::fs::read(&zip).unwrap();
    let mut i = 0;
    while let Some(at) = bytes[i..].windows(9).position(|w| w == b"bootstraX") {
        bytes[i + at + 8] = b'p';
        i += at + 9;
    }
    std::fs::write(&zip, &bytes).unwrap();
    let out = invoke(&s, &zip);
    assert!(!marker.exists(), "the second bootstrap ran");
    assert_bad_input(&s, &out, "zip entry \"bootstrap\" appears twice");
}

#[test]
fn a_bootstrap_reached_through_a_link_chain_inside_runs() {
    let s = Scratch::new();
    let dir = s.copy_fixture("bash-echo");
    let bootstrap = std::fs::read(dir.join("bootstrap")).unwrap();
    let index = std::fs::read(dir.join("index.sh")).unwrap();
    let zip = write_zip(
        &s.path().join("inside.zip"),
        &[
            ("real/bootstrap", 0o755, &bootstrap),
            ("index.sh", 0o644, &index),
            ("l", LINK, b"."),
            ("bootstrap", LINK, b"l/l/real/../real/bootstrap"),
        ],
    );
    let mut cmd = s.cmd();
    cmd.arg("invoke").arg(&zip).args(["--event", "{}"]);
    let out = run_bounded(cmd, BOUND);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let r = result_of(&out);
    assert_eq!(r["Result"]["InvokeResult"], 0, "{r}");
    assert_no_process_in(s.path());
    s.assert_tmp_clean();
}

fn pack_cmd(s: &Scratch, bootstrap: &Path, include: &[&Path], out: &Path) -> Output {
    let mut cmd = s.cmd();
    cmd.arg("pack").arg("--bootstrap").arg(bootstrap);
    for path in include {
        cmd.arg("--include").arg(path);
    }
    cmd.arg("-o").arg(out);
    run_bounded(cmd, BOUND)
}

#[test]
fn pack_refuses_links_out_of_an_included_tree_and_duplicate_names() {
    let s = Scratch::new();
    let bootstrap = s.path().join("bootstrap");
    std::fs::write(&bootstrap, b"#!/bin/sh\n").unwrap();
    let secret = s.path().join("secret");
    std::fs::write(&secret, b"host data").unwrap();
    let out = s.path().join("function.zip");

    // A tree with a link out of it (relative, through an inside `l -> .`), and one with an
    // absolute link.
    let tree = s.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::os::unix::fs::symlink(".", tree.join("l")).unwrap();
    std::os::unix::fs::symlink("l/l/../secret", tree.join("data")).unwrap();
    let abs = s.path().join("abs");
    std::fs::create_dir(&abs).unwrap();
    std::os::unix::fs::symlink(&secret, abs.join("data")).unwrap();
    // Two trees of one base name, and one named `bootstrap`.
    let other = s.path().join("other/tree");
    std::fs::create_dir_all(&other).unwrap();
    let another = s.path().join("another/tree");
    std::fs::create_dir_all(&another).unwrap();
    let named_bootstrap = s.path().join("b/bootstrap");
    std::fs::create_dir_all(&named_bootstrap).unwrap();

    let cases: [(&str, Vec<&Path>, &str); 4] = [
        (
            "a link out",
            vec![&tree],
            "resolves outside the included directory",
        ),
        ("an absolute link", vec![&abs], "is an absolute path"),
        (
            "two includes named tree",
            vec![&other, &another],
            "two entries would be named tree in the zip",
        ),
        (
            "an include named bootstrap",
            vec![&named_bootstrap],
            "two entries would be named bootstrap",
        ),
    ];
    for (what, include, needle) in cases {
        let result = pack_cmd(&s, &bootstrap, &include, &out);
        let err = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(needle), "{what}: {err:?} lacks {needle:?}");
        assert!(!out.exists(), "{what}: a zip was written");
    }
}

#[test]
fn pack_keeps_inside_links_as_links_and_drops_setuid() {
    let s = Scratch::new();
    let bootstrap = s.path().join("bootstrap");
    std::fs::write(&bootstrap, b"#!/bin/sh\n").unwrap();
    let tree = s.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/tool"), b"x").unwrap();
    std::fs::set_permissions(
        tree.join("sub/tool"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::os::unix::fs::symlink("sub/../sub/tool", tree.join("alias")).unwrap();
    let out = s.path().join("function.zip");
    let result = pack_cmd(&s, &bootstrap, &[&tree], &out);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );

    let mut archive = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mode = archive
        .by_name("tree/sub/tool")
        .unwrap()
        .unix_mode()
        .unwrap();
    assert_eq!(mode & 0o7777, 0o755);
    let mut link = archive.by_name("tree/alias").unwrap();
    assert_eq!(link.unix_mode().unwrap() & 0o170000, 0o120000);
    let mut target = String::new();
    std::io::Read::read_to_string(&mut link, &mut target).unwrap();
    assert_eq!(target, "sub/../sub/tool");
}
