//! `cargo scf build --image`: the bootstrap as an SCF image function.
//!
//! SCF also runs functions from container images, in two shapes (the repository's
//! `docs/protocol.md` §10–11): a **WebServer** image, whose command serves HTTP on
//! `0.0.0.0:9000` and gets every event as a request, and a **Job** image, whose command runs
//! once per event with the event in its environment. The runtime serves both when built with
//! its `image` cargo feature and told the shape by `SCF_BOOTSTRAP_MODE`, which the platform
//! does not set: the image sets it.
//!
//! So `build --image` builds the bootstrap with `--features scf-bootstrap/image` (the
//! feature of the dependency named `scf-bootstrap`), installs it in
//! `<target-dir>/scf/<package>/image/` (the zip shape's `bootstrap` one level up is left
//! as it was) and writes beside it a `Dockerfile` that copies it into an empty (`scratch`)
//! image, sets `SCF_BOOTSTRAP_MODE`, declares port 9000 for a WebServer image, and makes
//! the bootstrap the entry point, plus a `.dockerignore` that keeps anything else out of
//! the build context. When `docker` or `podman` is on the `PATH` the image is built and
//! tagged `<package>:latest` (if the tool fails, say for want of a daemon, that is reported
//! and the rest stands); otherwise the command says so and how to build it later.
//! The same directory runs locally with `scf-local invoke --shape image|job <dir>`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Error;

/// The runtime's cargo feature that compiles in both image shapes, as the user's crate
/// turns it on for its dependency.
pub const RUNTIME_FEATURE: &str = "scf-bootstrap/image";

/// The port a WebServer image function must listen on.
pub const WEBSERVER_PORT: u16 = 9000;

/// The subdirectory of `<target-dir>/scf/<package>/` that holds the image's files.
pub const IMAGE_DIR: &str = "image";

/// Which image shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageShape {
    /// An HTTP server on port 9000; each event is a request.
    WebServer,
    /// One run of the command per event, the event in `SCF_EVENT_BODY`.
    Job,
}

impl ImageShape {
    /// `webserver` or `job`, as the command line and `SCF_BOOTSTRAP_MODE` spell it.
    pub fn name(self) -> &'static str {
        match self {
            ImageShape::WebServer => "webserver",
            ImageShape::Job => "job",
        }
    }

    /// Parses [`ImageShape::name`]'s spelling.
    pub fn from_name(name: &str) -> Result<ImageShape, String> {
        match name {
            "webserver" => Ok(ImageShape::WebServer),
            "job" => Ok(ImageShape::Job),
            other => Err(format!("{other:?} is not an image shape: webserver or job")),
        }
    }
}

/// The `Dockerfile` of an image that runs the static `bootstrap` beside it in `shape`.
pub fn dockerfile(shape: ImageShape) -> String {
    let mut text = format!(
        "# Written by `cargo scf build --image {name}`: the static bootstrap as an SCF\n\
         # {title} image function. Build it with `docker build -t NAME .` in this folder.\n\
         FROM scratch\n\
         COPY bootstrap /bootstrap\n\
         ENV SCF_BOOTSTRAP_MODE={name}\n",
        name = shape.name(),
        title = match shape {
            ImageShape::WebServer => "WebServer",
            ImageShape::Job => "Job",
        },
    );
    if shape == ImageShape::WebServer {
        text.push_str(&format!("EXPOSE {WEBSERVER_PORT}\n"));
    }
    text.push_str("ENTRYPOINT [\"/bootstrap\"]\n");
    text
}

/// The `.dockerignore` that keeps the build context to the bootstrap.
pub const DOCKERIGNORE: &str = "*\n!bootstrap\n";

/// Writes the `Dockerfile` and `.dockerignore` of `shape` into `dir` (which holds the
/// bootstrap); returns the `Dockerfile`'s path.
pub fn write_definition(dir: &Path, shape: ImageShape) -> Result<PathBuf, Error> {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map(|()| path.clone())
            .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
    };
    write(".dockerignore", DOCKERIGNORE)?;
    write("Dockerfile", &dockerfile(shape))
}

/// The image's tag: the package's name in lower case (as image names must be), `:latest`.
pub fn tag(package: &str) -> String {
    format!("{}:latest", package.to_ascii_lowercase())
}

/// The first of `docker` and `podman` found as an executable file on `path` (a `PATH`
/// value).
pub fn container_tool(path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let dirs: Vec<PathBuf> = path.map(|p| std::env::split_paths(p).collect())?;
    ["docker", "podman"].iter().find_map(|tool| {
        dirs.iter().map(|d| d.join(tool)).find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// What became of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageOutcome {
    /// Built by this tool and tagged.
    Built {
        /// `docker` or `podman`.
        tool: PathBuf,
        /// The image's tag.
        tag: String,
    },
    /// The tool ran and failed (a Docker client without a running daemon, for one); its
    /// messages went to stderr. The definition stays written.
    Failed {
        /// `docker` or `podman`.
        tool: PathBuf,
        /// How it ended.
        status: std::process::ExitStatus,
    },
    /// Neither `docker` nor `podman` is on the `PATH`: only the definition was written.
    NoTool,
}

/// Builds the image defined in `dir` as `tag` with the container tool on the `PATH`, its
/// output on stderr; [`ImageOutcome::NoTool`] when there is none. A tool that runs and
/// fails is [`ImageOutcome::Failed`], not an error: the bootstrap and its definition are
/// built, and the image can be built where a daemon runs. A tool that cannot be started is
/// an error.
pub fn build_image(dir: &Path, tag: &str) -> Result<ImageOutcome, Error> {
    let Some(tool) = container_tool(std::env::var_os("PATH").as_deref()) else {
        return Ok(ImageOutcome::NoTool);
    };
    let status = Command::new(&tool)
        .args(["build", "-t", tag])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| Error::new(format!("cannot run {}: {e}", tool.display())))?;
    if !status.success() {
        return Ok(ImageOutcome::Failed { tool, status });
    }
    Ok(ImageOutcome::Built {
        tool,
        tag: tag.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webserver_dockerfile_runs_the_bootstrap_on_port_9000() {
        let text = dockerfile(ImageShape::WebServer);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "FROM scratch",
                "COPY bootstrap /bootstrap",
                "ENV SCF_BOOTSTRAP_MODE=webserver",
                "EXPOSE 9000",
                "ENTRYPOINT [\"/bootstrap\"]",
            ]
        );
    }

    #[test]
    fn job_dockerfile_has_no_port() {
        let text = dockerfile(ImageShape::Job);
        assert!(text.contains("ENV SCF_BOOTSTRAP_MODE=job\n"), "{text}");
        assert!(!text.contains("EXPOSE"), "{text}");
    }

    #[test]
    fn shapes_parse_and_unknown_ones_are_refused() {
        for shape in [ImageShape::WebServer, ImageShape::Job] {
            assert_eq!(ImageShape::from_name(shape.name()), Ok(shape));
        }
        let err = ImageShape::from_name("lambda").unwrap_err();
        assert!(err.contains("webserver or job"), "{err}");
    }

    #[test]
    fn tool_is_found_on_the_path_only_when_executable() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let podman = dir.path().join("podman");
        std::fs::write(&podman, "").unwrap();
        let path = std::env::join_paths([dir.path()]).unwrap();
        assert_eq!(container_tool(Some(&path)), None, "not executable");
        std::fs::set_permissions(&podman, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(container_tool(Some(&path)), Some(podman));
        assert_eq!(container_tool(None), None);
    }

    #[test]
    fn tags_are_lower_case() {
        assert_eq!(tag("My_Fn"), "my_fn:latest");
    }
}
