//! The echo function on `tencent_scf` 0.1.3: answers `Echoing request: '<event>'`.
//!
//! `tencent_scf` reads `SCF_NAMESPACE`, `SCF_FUNCTIONNAME`, `SCF_FUNCTIONVERSION`,
//! `TENCENTCLOUD_REGION`, `TENCENTCLOUD_APPID` and `TENCENTCLOUD_UIN` at start and panics when
//! one is missing, so the benchmark gives every contender all of them.

use std::convert::Infallible;

use tencent_scf::{make_scf, Context};

const PREFIX: &[u8] = b"Echoing request: '";

fn echo(event: Vec<u8>, _context: Context) -> Result<Vec<u8>, Infallible> {
    let mut reply = Vec::with_capacity(PREFIX.len() + event.len() + 1);
    reply.extend_from_slice(PREFIX);
    reply.extend_from_slice(&event);
    reply.push(b'\'');
    Ok(reply)
}

fn main() {
    tencent_scf::start(make_scf(echo));
}
