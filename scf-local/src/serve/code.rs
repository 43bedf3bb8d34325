//! A function's code: `Code.ZipFile` (or `ZipFile`), a base64 zip, decoded and checked to
//! be a zip; or `Code.ImageConfig` whose `ImageUri` names a local directory or zip (an image
//! function). Other code sources (COS, demos, registry images) are refused as not emulated.

use base64::Engine as _;

use super::error::ApiError;
use super::params::Params;
use super::store::ImageRecord;

/// `ImagePort` of a Job image function.
pub(super) const JOB_IMAGE_PORT: i32 = -1;

/// Longest `ImageUri`, `Command` or `Args` accepted, bytes.
const IMAGE_TEXT_LIMIT: usize = 4096;
/// Most words in `Command` and `Args` together.
const IMAGE_ARGS_LIMIT: usize = 256;

/// `Code.ImageConfig`, if given: an image function whose `ImageUri` is a local directory or
/// zip (an absolute path, or `file://` and one). A registry image cannot be pulled here.
pub(super) fn image_config(p: &Params) -> Result<Option<ImageRecord>, ApiError> {
    let Some(image) = p
        .object("Code")?
        .and_then(|c| c.object("ImageConfig").transpose())
    else {
        return Ok(None);
    };
    let image = image?;
    let invalid = |m: String| ApiError::new("InvalidParameterValue.ImageConfig", m);
    let text = |key: &str| -> Result<String, ApiError> {
        let value = image.str(key)?.unwrap_or_default();
        if value.len() > IMAGE_TEXT_LIMIT || value.contains('\0') {
            return Err(invalid(format!(
                "ImageConfig.{key} must be at most {IMAGE_TEXT_LIMIT} bytes, without NUL"
            )));
        }
        Ok(value.to_owned())
    };
    let uri = text("ImageUri")?;
    if uri.is_empty() {
        return Err(ApiError::new(
            "MissingParameter.ImageConfig",
            "ImageConfig.ImageUri is required: a local directory or zip holding the image's files",
        ));
    }
    let path = uri.strip_prefix("file://").unwrap_or(&uri);
    if !path.starts_with('/') {
        return Err(ApiError::new(
            "UnsupportedOperation",
            format!("ImageUri {uri} is not emulated: scf-local cannot pull from a registry; give the absolute path of a local directory or zip (or file:// and one)"),
        ));
    }
    let meta = std::fs::metadata(path)
        .map_err(|e| invalid(format!("ImageUri {uri}: cannot read {path}: {e}")))?;
    if !meta.is_dir() && !meta.is_file() {
        return Err(invalid(format!(
            "ImageUri {uri} is neither a directory nor a zip"
        )));
    }
    // `EntryPoint` is being retired in favour of `Command`; either starts the command line.
    let mut command = text("Command")?;
    if command.is_empty() {
        command = text("EntryPoint")?;
    }
    let args = text("Args")?;
    let command: Vec<String> = command
        .split_whitespace()
        .chain(args.split_whitespace())
        .map(str::to_owned)
        .collect();
    if command.len() > IMAGE_ARGS_LIMIT {
        return Err(invalid(format!(
            "ImageConfig.Command and Args have {} words, over {IMAGE_ARGS_LIMIT}",
            command.len()
        )));
    }
    let port = match image.int("ImagePort")? {
        None => i64::from(crate::config::PLATFORM_IMAGE_PORT),
        Some(port) => port,
    };
    if port != i64::from(crate::config::PLATFORM_IMAGE_PORT) && port != i64::from(JOB_IMAGE_PORT) {
        return Err(invalid(format!(
            "ImageConfig.ImagePort must be 9000 (a WebServer image) or -1 (a Job image), not {port}"
        )));
    }
    Ok(Some(ImageRecord {
        image_type: text("ImageType")?,
        uri: uri.clone(),
        path: path.to_owned(),
        command,
        port: port as i32,
    }))
}

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
