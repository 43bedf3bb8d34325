//! Is a bootstrap static? Read from its ELF program headers.
//!
//! A dynamically linked executable names its loader in a `PT_INTERP` header and has a
//! `PT_DYNAMIC` segment for it; the platform's CentOS 7.6 may lack the libraries or the glibc
//! version such a binary needs. A static binary has neither; a static-PIE one has
//! `PT_DYNAMIC` (it relocates itself at start) but no loader.

use std::fmt;

use object::elf::{FileHeader64, PT_DYNAMIC, PT_INTERP};
use object::read::elf::{FileHeader as _, ProgramHeader as _};
use object::LittleEndian;

/// How an executable is linked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// No loader, no dynamic section: runs as is on any x86_64 Linux.
    Static,
    /// No loader, but a dynamic section: a static-PIE that relocates itself at start.
    StaticPie,
    /// Needs the named loader (`PT_INTERP`) and shared libraries.
    Dynamic(String),
}

impl Linkage {
    /// Whether the binary needs nothing from the system to start.
    pub fn is_static(&self) -> bool {
        !matches!(self, Linkage::Dynamic(_))
    }
}

impl fmt::Display for Linkage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Linkage::Static => f.write_str("static"),
            Linkage::StaticPie => f.write_str("static-pie (no loader; relocates itself at start)"),
            Linkage::Dynamic(interp) => write!(f, "dynamic (loader {interp})"),
        }
    }
}

/// Why the file could not be read as an executable for SCF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// No ELF magic.
    NotElf,
    /// Not a 64-bit little-endian ELF file (SCF runs x86_64).
    Not64BitLittleEndian,
    /// The headers point outside the file.
    Truncated,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElfError::NotElf => "not an ELF file",
            ElfError::Not64BitLittleEndian => "not a 64-bit little-endian ELF file",
            ElfError::Truncated => "truncated ELF headers",
        })
    }
}

impl std::error::Error for ElfError {}

/// Reads the linkage of an ELF64 little-endian executable from its bytes.
///
/// ```
/// use cargo_scf::elf::{linkage, ElfError};
/// assert_eq!(linkage(b"#!/bin/sh\n"), Err(ElfError::NotElf));
/// ```
pub fn linkage(file: &[u8]) -> Result<Linkage, ElfError> {
    if file.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(ElfError::NotElf);
    }
    // EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian.
    if file.get(4) != Some(&2) || file.get(5) != Some(&1) {
        return Err(ElfError::Not64BitLittleEndian);
    }
    // The header as is: `FileHeader::parse` would also insist on `EI_VERSION`, which the
    // kernel does not read.
    let (header, _) = object::pod::from_bytes::<FileHeader64<LittleEndian>>(file)
        .map_err(|()| ElfError::Truncated)?;
    // Every header must be whole and in the file, each of the ELF64 size.
    let headers = header
        .program_headers(LittleEndian, file)
        .map_err(|_| ElfError::Truncated)?;
    let mut interp = None;
    let mut dynamic = false;
    for ph in headers {
        match ph.p_type(LittleEndian) {
            PT_INTERP => {
                let path = ph
                    .data(LittleEndian, file)
                    .map_err(|()| ElfError::Truncated)?;
                let path = path.split(|&b| b == 0).next().unwrap_or_default();
                interp = Some(String::from_utf8_lossy(path).into_owned());
            }
            PT_DYNAMIC => dynamic = true,
            _ => {}
        }
    }
    Ok(match (interp, dynamic) {
        (Some(interp), _) => Linkage::Dynamic(interp),
        (None, true) => Linkage::StaticPie,
        (None, false) => Linkage::Static,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Size of the ELF64 file header.
    const EHDR64: usize = 64;

    /// An ELF64 file with the given program header types; a `PT_INTERP` header points at the
    /// loader path written after the headers.
    fn elf(types: &[u32]) -> Vec<u8> {
        let interp = b"/lib64/ld-linux-x86-64.so.2\0";
        let mut f = vec![0u8; EHDR64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[32..40].copy_from_slice(&(EHDR64 as u64).to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(types.len() as u16).to_le_bytes());
        let data_at = (EHDR64 + 56 * types.len()) as u64;
        for &t in types {
            let mut ph = [0u8; 56];
            ph[..4].copy_from_slice(&t.to_le_bytes());
            if t == PT_INTERP {
                ph[8..16].copy_from_slice(&data_at.to_le_bytes());
                ph[32..40].copy_from_slice(&(interp.len() as u64).to_le_bytes());
            }
            f.extend_from_slice(&ph);
        }
        f.extend_from_slice(interp);
        f
    }

    #[test]
    fn table() {
        let load = 1;
        let cases: &[(&str, Vec<u8>, Result<Linkage, ElfError>)] = &[
            ("static", elf(&[load, load]), Ok(Linkage::Static)),
            (
                "static-pie",
                elf(&[load, PT_DYNAMIC]),
                Ok(Linkage::StaticPie),
            ),
            (
                "dynamic",
                elf(&[PT_INTERP, load, PT_DYNAMIC]),
                Ok(Linkage::Dynamic("/lib64/ld-linux-x86-64.so.2".into())),
            ),
            ("no headers", elf(&[]), Ok(Linkage::Static)),
            (
                "script",
                b"#!/bin/sh\necho hi\n".to_vec(),
                Err(ElfError::NotElf),
            ),
            ("empty", Vec::new(), Err(ElfError::NotElf)),
            (
                "32-bit",
                {
                    let mut f = elf(&[load]);
                    f[4] = 1;
                    f
                },
                Err(ElfError::Not64BitLittleEndian),
            ),
            (
                "short header",
                elf(&[load])[..40].to_vec(),
                Err(ElfError::Truncated),
            ),
            (
                "headers past the end",
                elf(&[load, load])[..EHDR64 + 60].to_vec(),
                Err(ElfError::Truncated),
            ),
            (
                "interp past the end",
                {
                    let mut f = elf(&[PT_INTERP]);
                    f.truncate(EHDR64 + 56 + 4);
                    f
                },
                Err(ElfError::Truncated),
            ),
            (
                // The kernel refuses it too (`load_elf_phdrs`).
                "program headers of another size",
                {
                    let mut f = elf(&[load]);
                    f[54..56].copy_from_slice(&64u16.to_le_bytes());
                    f
                },
                Err(ElfError::Truncated),
            ),
            (
                "huge offset",
                {
                    let mut f = elf(&[load]);
                    f[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
                    f
                },
                Err(ElfError::Truncated),
            ),
        ];
        for (name, bytes, want) in cases {
            assert_eq!(&linkage(bytes), want, "{name}");
        }
    }

    #[test]
    fn this_test_binary_parses() {
        // Whatever the host's linkage, the parser must read a real executable.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(linkage(&me).is_ok());
    }
}
