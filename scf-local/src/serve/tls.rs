//! `serve --tls`: the server's certificate and its rustls configuration.
//!
//! Without files of the user's, a self-signed certificate for `localhost`, `127.0.0.1` and
//! `::1` is made once (rcgen, an ECDSA P-256 key) and kept in the state directory as
//! `tls/cert.pem` and `tls/key.pem` (the key 0600, the folder 0700), so a client told to
//! trust `cert.pem` keeps trusting the server across restarts. The certificate is its own
//! issuer: `cert.pem` is both what the server presents and the CA bundle a client is given
//! (`REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`, `cargo scf --ca-file`).

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// The largest PEM file read (a certificate chain or a key): 1 MB.
pub const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// The names the self-signed certificate is made for.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Where a server's certificate chain and private key are (PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's own first.
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// The self-signed certificate of a state directory, `<state_dir>/tls/{cert,key}.pem`,
    /// made when either file is missing (both are then written anew), else reused.
    pub fn self_signed(state_dir: &Path) -> Result<TlsFiles, String> {
        let dir = state_dir.join("tls");
        let files = TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        if files.cert.is_file() && files.key.is_file() {
            return Ok(files);
        }
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            format!(
                "cannot {what} the TLS certificate in {}: {e}",
                dir.display()
            )
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| failed("make a folder for", &e))?;
        let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|n| (*n).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names).map_err(|e| failed("make", &e))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "scf-local serve");
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().map_err(|e| failed("make", &e))?;
        let cert = params.self_signed(&key).map_err(|e| failed("make", &e))?;
        // The key first and private from its first byte; the certificate last, so a crash
        // between leaves no certificate without its key.
        write_new(&files.key, key.serialize_pem().as_bytes(), 0o600)
            .map_err(|e| failed("write", &e))?;
        write_new(&files.cert, cert.pem().as_bytes(), 0o644).map_err(|e| failed("write", &e))?;
        Ok(files)
    }

    /// The rustls configuration serving these files (HTTP/1.1, TLS 1.2 and 1.3, ring).
    /// Fails with a sentence naming the file when one cannot be read, holds no certificate
    /// or no key, or the key is not the certificate's.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, String> {
        let cert_pem = read_bounded(&self.cert)?;
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: not a PEM certificate chain: {e}", self.cert.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "{}: no certificate (a PEM `BEGIN CERTIFICATE` block) in it",
                self.cert.display()
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(&read_bounded(&self.key)?)
            .map_err(|e| format!("{}: no PEM private key in it: {e}", self.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("{} and {}: {e}", self.cert.display(), self.key.display()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A file's bytes, at most [`MAX_PEM_BYTES`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let failed = |e: io::Error| format!("cannot read {}: {e}", path.display());
    let mut bytes = Vec::new();
    fs::File::open(path)
        .map_err(failed)?
        .take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(format!(
            "{}: over {MAX_PEM_BYTES} bytes, too large for a PEM certificate or key",
            path.display()
        ));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` through a temporary file created with `mode` (whatever the
/// umask), renamed into place.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let tmp = path.with_extension("pem.tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_made_once_and_served() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles::self_signed(dir.path()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files.key), 0o600);
        assert_eq!(mode(&dir.path().join("tls")), 0o700);
        files.server_config().unwrap();
        let cert = fs::read(&files.cert).unwrap();
        // Reused: the same certificate on the next start.
        let again = TlsFiles::self_signed(dir.path()).unwrap();
        assert_eq!(again, files);
        assert_eq!(fs::read(&again.cert).unwrap(), cert);
        // Either file missing: both made anew.
        fs::remove_file(&files.key).unwrap();
        TlsFiles::self_signed(dir.path()).unwrap();
        assert_ne!(fs::read(&files.cert).unwrap(), cert);
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let made = TlsFiles::self_signed(dir.path()).unwrap();
        let other = TlsFiles::self_signed(&dir.path().join("other")).unwrap();
        let junk = dir.path().join("junk.pem");
        fs::write(&junk, "not a pem").unwrap();
        let big = dir.path().join("big.pem");
        fs::write(&big, vec![b'a'; MAX_PEM_BYTES as usize + 1]).unwrap();
        let missing = dir.path().join("missing.pem");
        // Table: (cert, key, words of the error).
        let cases = [
            (&missing, &made.key, "cannot read"),
            (&junk, &made.key, "no certificate"),
            (&big, &made.key, "too large"),
            (&made.cert, &junk, "no PEM private key"),
            (&made.cert, &made.cert, "no PEM private key"),
            (&made.cert, &other.key, "key.pem"),
        ];
        for (cert, key, words) in cases {
            let files = TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            };
            let err = files.server_config().unwrap_err();
            assert!(err.contains(words), "{cert:?} {key:?}: {err}");
        }
    }
}
