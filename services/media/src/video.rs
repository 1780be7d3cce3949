//! Video thumbnails: one frame extracted by ffmpeg, run with a timeout.

use std::{path::Path, process::Stdio, time::Duration};

use tokio::process::Command;

/// Why no frame could be taken.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// ffmpeg could not run, failed or timed out.
    #[error("ffmpeg failed: {0}")]
    Failed(String),
}

/// Removes the temporary copy however the extraction ends.
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Extracts the first frame as PNG bytes.
///
/// The video is written to a temporary file rather than piped, because MP4s
/// with the index at the end need a seekable input. ffmpeg is killed when
/// `timeout` passes.
pub async fn frame(
    ffmpeg: &Path,
    video: Vec<u8>,
    timeout: Duration,
) -> Result<Vec<u8>, VideoError> {
    let fail = |e: &dyn std::fmt::Display| VideoError::Failed(e.to_string());
    let path =
        std::env::temp_dir().join(format!("machina-media-{}", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&path, &video)
        .await
        .map_err(|e| fail(&e))?;
    let temp = TempFile(path);
    let child = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(&temp.0)
        .args([
            "-frames:v",
            "1",
            "-f",
            "image2pipe",
            "-vcodec",
            "png",
            "pipe:1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(&e))?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| fail(&format!("no frame within {timeout:?}")))?
        .map_err(|e| fail(&e))?;
    drop(temp);
    if !output.status.success() || output.stdout.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fail(&stderr.lines().last().unwrap_or("no frame produced")));
    }
    Ok(output.stdout)
}
