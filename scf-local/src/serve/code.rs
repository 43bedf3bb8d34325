//! A function's code: `Code.ZipFile` (or `ZipFile`), a base64 zip, decoded and checked to
//! be a zip; other code sources (COS, demos, images) are refused as not emulated.

use base64::Engine as _;

use super::error::ApiError;
use super::params::Params;

fn code_source(p: &Params) -> Result<(), ApiError> {
    match p.str("CodeSource")? {
        None | Some("ZipFile") | Some("") => Ok(()),
        Some(other) => Err(ApiError::new(
            "UnsupportedOperation",
            format!("CodeSource {other} is not emulated: send the code as a base64 ZipFile"),
        )),
    }
}

/// The zip of `ZipFile` (base64), checked to be a zip archive. Runs on a blocking thread:
/// decoding megabytes is not for the event loop.
async fn zip_file(b64: String) -> Result<Vec<u8>, ApiError> {
    tokio::task::spawn_blocking(move || {
        let cleaned: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let zip = base64::engine::general_purpose::STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|e| {
                ApiError::new(
                    "InvalidParameterValue.ZipFileBase64BinasciiError",
                    format!("ZipFile is not base64: {e}"),
                )
            })?;
        zip::ZipArchive::new(std::io::Cursor::new(&zip)).map_err(|e| {
            ApiError::new(
                "InvalidParameterValue.ZipFile",
                format!("ZipFile is not a zip archive: {e}"),
            )
        })?;
        Ok(zip)
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(e)))
}

/// The code of `CreateFunction`/`UpdateFunctionCode`: `ZipFile` at the top (the latter) or
/// in `Code`.
pub(super) async fn code(p: &Params, top_level: bool) -> Result<Option<Vec<u8>>, ApiError> {
    code_source(p)?;
    let nested = p.object("Code")?;
    let mut b64 = if top_level {
        p.str("ZipFile")?.map(str::to_owned)
    } else {
        None
    };
    if let Some(code) = &nested {
        code_source(code)?;
        if b64.is_none() {
            b64 = code.str("ZipFile")?.map(str::to_owned);
        }
    }
    let cos = [
        "CosBucketName",
        "CosObjectName",
        "DemoId",
        "TempCosObjectName",
        "ImageConfig",
    ];
    let other = cos
        .iter()
        .find(|k| p.has(k) || nested.as_ref().is_some_and(|c| c.has(k)));
    match (b64, other) {
        (Some(b64), _) if !b64.is_empty() => zip_file(b64).await.map(Some),
        (_, Some(k)) => Err(ApiError::new(
            "UnsupportedOperation",
            format!("code from {k} is not emulated: send the zip as base64 in ZipFile"),
        )),
        _ => Ok(None),
    }
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    crate::tc3::sha256_hex(data)
}
