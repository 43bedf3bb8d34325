//! Where the runtime API is: its address read from the environment and parsed.
//!
//! - SCF: `SCF_RUNTIME_API` (an IP address; `localhost`; a name only with the `dns`
//!   feature) and `SCF_RUNTIME_API_PORT` (1–65535).
//! - AWS Lambda, when `SCF_RUNTIME_API` is not set: `AWS_LAMBDA_RUNTIME_API`, `host:port`.
//!
//! The variables are read with `getenv` ([`crate::sys::with_env`]), without allocating; the
//! parsing is pure and tested below. The result is the socket address and the `Host` header
//! value, in a fixed array.

#[cfg(feature = "dns")]
use std::net::ToSocketAddrs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::http::request::{Dialect, MAX_HOST};
use crate::http::response::parse_decimal;
use crate::sys::with_env;

/// Where the runtime API listens and which dialect it speaks.
pub(crate) struct RuntimeApi {
    pub dialect: Dialect,
    pub addr: SocketAddr,
    /// The `Host` header value: `host[..host_len]`.
    host: [u8; MAX_HOST],
    host_len: usize,
}

impl RuntimeApi {
    /// Reads the address from the environment: `SCF_RUNTIME_API` and `SCF_RUNTIME_API_PORT`,
    /// or else `AWS_LAMBDA_RUNTIME_API` (`host:port`). On failure, the one-line reason.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn from_env() -> Result<RuntimeApi, &'static [u8]> {
        let scf = with_env(c"SCF_RUNTIME_API", |host| {
            let host = host?;
            Some(with_env(c"SCF_RUNTIME_API_PORT", |port| {
                RuntimeApi::scf(host, port)
            }))
        });
        if let Some(api) = scf {
            return api;
        }
        with_env(c"AWS_LAMBDA_RUNTIME_API", RuntimeApi::aws)
    }

    /// SCF's address: `SCF_RUNTIME_API`'s value `host` (an IP address, `localhost`, or a
    /// name with the `dns` feature) and `SCF_RUNTIME_API_PORT`'s value `port`, if set.
    #[inline(always)]
    fn scf(host: &[u8], port: Option<&[u8]>) -> Result<RuntimeApi, &'static [u8]> {
        let port = port.ok_or(&b"SCF_RUNTIME_API_PORT is not set"[..])?;
        let port =
            parse_port(port).ok_or(&b"SCF_RUNTIME_API_PORT is not a port number (1-65535)"[..])?;
        let host =
            core::str::from_utf8(host).map_err(|_| &b"SCF_RUNTIME_API is not valid UTF-8"[..])?;
        RuntimeApi::new(Dialect::Scf, host, port)
    }

    /// AWS Lambda's address: `AWS_LAMBDA_RUNTIME_API`'s value, `host:port` (an IPv6 host may
    /// be in brackets), if set.
    #[inline(always)]
    fn aws(value: Option<&[u8]>) -> Result<RuntimeApi, &'static [u8]> {
        let Some(aws) = value else {
            return Err(&b"SCF_RUNTIME_API is not set: this program is an SCF Custom Runtime bootstrap, to be started by the platform or by scf-local"[..]);
        };
        let bad = &b"AWS_LAMBDA_RUNTIME_API is not host:port"[..];
        let aws = core::str::from_utf8(aws).map_err(|_| bad)?;
        let (host, port) = aws.rsplit_once(':').ok_or(bad)?;
        let port = parse_port(port.as_bytes()).ok_or(bad)?;
        // One pair of brackets around the host, matched by hand: `trim_matches` is out of line
        // in std's text, a page fault of its own at start (bench/README.md).
        let host = match host.as_bytes() {
            [b'[', .., b']'] => host.get(1..host.len() - 1).unwrap_or(host),
            _ => host,
        };
        RuntimeApi::new(Dialect::Aws, host, port)
    }

    /// The address of `host` (an IP address or a name) and `port`.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn new(dialect: Dialect, host: &str, port: u16) -> Result<RuntimeApi, &'static [u8]> {
        let ip = match host.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) if host.eq_ignore_ascii_case("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Err(_) => resolve(host, port)?,
        };
        let bracket = ip.is_ipv6() && !host.starts_with('[');
        let mut digits = itoa::Buffer::new();
        let port_text = digits.format(port).as_bytes();
        let parts: [&[u8]; 5] = [
            if bracket { b"[" } else { b"" },
            host.as_bytes(),
            if bracket { b"]" } else { b"" },
            b":",
            port_text,
        ];
        let mut api = RuntimeApi {
            dialect,
            addr: SocketAddr::new(ip, port),
            host: [0; MAX_HOST],
            host_len: 0,
        };
        for p in parts {
            // `get_mut` rather than indexing: no panic path, hence no location naming this file
            // in the binary (32 bytes of `.rodata`).
            let end = api.host_len + p.len();
            let Some(room) = api.host.get_mut(api.host_len..end) else {
                return Err(b"the runtime API host name is too long");
            };
            room.copy_from_slice(p);
            api.host_len = end;
        }
        Ok(api)
    }

    /// The `Host` header value.
    pub fn host(&self) -> &[u8] {
        &self.host[..self.host_len]
    }
}

#[allow(unsafe_code)] // `link_section` only (see the crate docs, "Unsafe code")
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
fn parse_port(s: &[u8]) -> Option<u16> {
    parse_decimal(s)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p != 0)
}

/// Resolves a host name (the `dns` feature: musl's resolver adds about 24 KB to the binary,
/// and the platform always gives an IP address).
#[cfg(feature = "dns")]
fn resolve(host: &str, port: u16) -> Result<IpAddr, &'static [u8]> {
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .map(|a| a.ip())
        .ok_or(&b"the runtime API host is neither an IP address nor a name that resolves"[..])
}

#[cfg(not(feature = "dns"))]
fn resolve(_: &str, _: u16) -> Result<IpAddr, &'static [u8]> {
    Err(b"the runtime API host is not an IP address (names other than localhost need the `dns` feature of scf-bootstrap)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an address parses to: the dialect, the socket address and the `Host` value, or
    /// the one-line reason.
    fn shown(r: Result<RuntimeApi, &'static [u8]>) -> Result<(Dialect, String, String), String> {
        match r {
            Ok(api) => Ok((
                api.dialect,
                api.addr.to_string(),
                String::from_utf8(api.host().to_vec()).unwrap(),
            )),
            Err(msg) => Err(String::from_utf8(msg.to_vec()).unwrap()),
        }
    }

    fn ok(dialect: Dialect, addr: &str, host: &str) -> Result<(Dialect, String, String), String> {
        Ok((dialect, addr.to_string(), host.to_string()))
    }

    fn err(msg: &str) -> Result<(Dialect, String, String), String> {
        Err(msg.to_string())
    }

    const NOT_A_PORT: &str = "SCF_RUNTIME_API_PORT is not a port number (1-65535)";
    const NOT_HOST_PORT: &str = "AWS_LAMBDA_RUNTIME_API is not host:port";
    #[cfg(not(feature = "dns"))]
    const NOT_AN_IP: &str = "the runtime API host is not an IP address (names other than localhost need the `dns` feature of scf-bootstrap)";

    #[test]
    fn scf_runtime_api_and_port() {
        use Dialect::Scf;
        let cases: &[(&[u8], Option<&[u8]>, _)] = &[
            (
                b"127.0.0.1",
                Some(b"9000"),
                ok(Scf, "127.0.0.1:9000", "127.0.0.1:9000"),
            ),
            (
                b"9.134.1.2",
                Some(b"1"),
                ok(Scf, "9.134.1.2:1", "9.134.1.2:1"),
            ),
            (
                b"127.0.0.1",
                Some(b"65535"),
                ok(Scf, "127.0.0.1:65535", "127.0.0.1:65535"),
            ),
            // IPv6: the `Host` value gets the brackets an address with a port needs.
            (b"::1", Some(b"9000"), ok(Scf, "[::1]:9000", "[::1]:9000")),
            (
                b"fe80::1",
                Some(b"80"),
                ok(Scf, "[fe80::1]:80", "[fe80::1]:80"),
            ),
            // `localhost` without a resolver; the `Host` keeps the name.
            (
                b"localhost",
                Some(b"9000"),
                ok(Scf, "127.0.0.1:9000", "localhost:9000"),
            ),
            (
                b"LocalHost",
                Some(b"9000"),
                ok(Scf, "127.0.0.1:9000", "LocalHost:9000"),
            ),
            (b"127.0.0.1", None, err("SCF_RUNTIME_API_PORT is not set")),
            (b"127.0.0.1", Some(b""), err(NOT_A_PORT)),
            (b"127.0.0.1", Some(b"0"), err(NOT_A_PORT)),
            (b"127.0.0.1", Some(b"65536"), err(NOT_A_PORT)),
            (b"127.0.0.1", Some(b"-1"), err(NOT_A_PORT)),
            (b"127.0.0.1", Some(b"+1"), err(NOT_A_PORT)),
            (b"127.0.0.1", Some(b" 9000"), err(NOT_A_PORT)),
            (b"127.0.0.1", Some(b"9000 "), err(NOT_A_PORT)),
            (b"127.0.0.1", Some(b"0x10"), err(NOT_A_PORT)),
            (b"127.0.0.1", Some(b"99999999999999999999"), err(NOT_A_PORT)),
            (
                b"\xff",
                Some(b"9000"),
                err("SCF_RUNTIME_API is not valid UTF-8"),
            ),
            // The port is checked before the host.
            (b"\xff", Some(b"0"), err(NOT_A_PORT)),
        ];
        for (host, port, want) in cases {
            assert_eq!(
                &shown(RuntimeApi::scf(host, *port)),
                want,
                "{host:?} {port:?}"
            );
        }
    }

    #[cfg(not(feature = "dns"))]
    #[test]
    fn scf_names_need_the_dns_feature() {
        let cases: &[&[u8]] = &[b"runtime.example", b"[::1]", b"", b"127.0.0.1:9000"];
        for host in cases {
            assert_eq!(
                shown(RuntimeApi::scf(host, Some(b"9000"))),
                err(NOT_AN_IP),
                "{host:?}"
            );
        }
    }

    #[test]
    fn aws_lambda_runtime_api() {
        use Dialect::Aws;
        let cases: &[(Option<&[u8]>, _)] = &[
            (Some(b"127.0.0.1:9001"), ok(Aws, "127.0.0.1:9001", "127.0.0.1:9001")),
            (Some(b"localhost:9001"), ok(Aws, "127.0.0.1:9001", "localhost:9001")),
            (Some(b"[::1]:9001"), ok(Aws, "[::1]:9001", "[::1]:9001")),
            // Without brackets, the last colon separates the port.
            (Some(b"::1:9001"), ok(Aws, "[::1]:9001", "[::1]:9001")),
            (
                None,
                err("SCF_RUNTIME_API is not set: this program is an SCF Custom Runtime bootstrap, to be started by the platform or by scf-local"),
            ),
            (Some(b"127.0.0.1"), err(NOT_HOST_PORT)),
            (Some(b"127.0.0.1:"), err(NOT_HOST_PORT)),
            (Some(b"127.0.0.1:0"), err(NOT_HOST_PORT)),
            (Some(b"127.0.0.1:65536"), err(NOT_HOST_PORT)),
            (Some(b"127.0.0.1:port"), err(NOT_HOST_PORT)),
            (Some(b""), err(NOT_HOST_PORT)),
            (Some(b"\xff:9001"), err(NOT_HOST_PORT)),
        ];
        for (value, want) in cases {
            assert_eq!(&shown(RuntimeApi::aws(*value)), want, "{value:?}");
        }
    }

    #[cfg(not(feature = "dns"))]
    #[test]
    fn aws_names_need_the_dns_feature() {
        let cases: &[&[u8]] = &[b"runtime.example:9001", b":9001"];
        for value in cases {
            assert_eq!(
                shown(RuntimeApi::aws(Some(value))),
                err(NOT_AN_IP),
                "{value:?}"
            );
        }
    }

    #[test]
    fn the_host_value_fits_or_is_refused() {
        // The longest IPv6 text (45 bytes) with brackets and the longest port fits.
        let long_v6 = "0000:0000:0000:0000:0000:ffff:255.255.255.255";
        let api = RuntimeApi::new(Dialect::Scf, long_v6, 65535).unwrap();
        assert_eq!(api.host().len(), long_v6.len() + 2 + 6);
        assert!(api.host().len() <= MAX_HOST);
        // A name longer than the `Host` room is refused (with the resolver: too long; without
        // it: not an IP address).
        let long_name = "a".repeat(MAX_HOST);
        assert!(RuntimeApi::new(Dialect::Scf, &long_name, 1).is_err());
    }
}
